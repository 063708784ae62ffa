"""Wrong: the snippet's in-place trap, writing the product into the caller's array."""

import numpy as np


def elementwise_product(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    a *= b
    return a
