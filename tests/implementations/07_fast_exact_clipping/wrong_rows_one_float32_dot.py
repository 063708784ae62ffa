"""Wrong (for Part A): one float32 dot product over the whole array, the accumulation the lesson
warns about (about 1e-6 off on millions of values)."""


import numpy as np


def rows_sum_of_squares(array):
    return float(np.dot(array, array))
