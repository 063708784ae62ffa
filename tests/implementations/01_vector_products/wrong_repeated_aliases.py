"""Wrong: the snippet's aliasing bug, with NumPy: multiplies v itself in place."""

import numpy as np


def repeated_product(v, w, n):
    if n < 0:
        raise ValueError("n must be >= 0")
    result = np.asarray(v)
    for _ in range(n):
        result *= np.asarray(w)
    return result
