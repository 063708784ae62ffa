"""Wrong (for Part A): the squares as a new array, summed pairwise in float64: accurate, but the
squares are a copy of the whole array."""


import numpy as np


def rows_sum_of_squares(array):
    return float(np.sum(np.square(array), dtype=np.float64))
