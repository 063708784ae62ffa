"""Wrong (for Part A): the rows' sums are added in float32, so the total keeps only float32's
digits (about 1e-8 to 1e-7 off on millions of values)."""


import numpy as np


def rows_sum_of_squares(array):
    whole = array.size - array.size % ROW
    rows = array[:whole].reshape(-1, ROW)
    tail = array[whole:]
    return float(np.vecdot(rows, rows).sum()) + float(np.dot(tail, tail))
