"""Wrong (for Part A): only whole rows are summed; the last len(array) % ROW values are lost."""


import numpy as np


def rows_sum_of_squares(array):
    rows = array[:array.size - array.size % ROW].reshape(-1, ROW)
    return float(np.vecdot(rows, rows).sum(dtype=np.float64))
