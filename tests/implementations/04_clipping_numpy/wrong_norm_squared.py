"""Wrong: returns the sum of squares for ord=2 (the square root is missing)."""

import numpy as np


def vector_norm(x, ord=2):
    if not ord >= 1:
        raise ValueError("ord must be >= 1")
    x = np.abs(np.asarray(x, dtype=np.float64)).ravel()
    if x.size == 0:
        return 0.0
    if ord == np.inf:
        return float(np.max(x))
    if ord == 2:
        return float(np.sum(x * x))
    return float(np.sum(x**ord) ** (1.0 / ord))
