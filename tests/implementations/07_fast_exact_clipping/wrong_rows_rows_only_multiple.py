"""Wrong (for Part A): reshapes the whole array into rows, which works only when its length is a
multiple of ROW (and raises otherwise)."""


import numpy as np


def rows_sum_of_squares(array):
    rows = array.reshape(-1, ROW)
    return float(np.vecdot(rows, rows).sum(dtype=np.float64))
