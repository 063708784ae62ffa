"""Wrong (for Part A): accurate, but it converts the whole array to float64 first: a copy twice
the size of the gradients."""


import numpy as np


def rows_sum_of_squares(array):
    values = array.astype(np.float64)
    return float(np.dot(values, values))
