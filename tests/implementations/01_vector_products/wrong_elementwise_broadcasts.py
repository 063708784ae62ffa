"""Wrong: lets NumPy broadcast different shapes instead of raising ValueError."""

import numpy as np


def elementwise_product(a, b):
    return np.asarray(a) * np.asarray(b)
