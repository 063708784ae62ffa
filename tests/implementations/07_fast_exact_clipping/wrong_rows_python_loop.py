"""Wrong (for Part A): exact, but a Python loop over every value (and a list of them all): far too
slow and large for gradients."""

import math


def rows_sum_of_squares(array):
    return math.fsum(value * value for value in array.tolist())
