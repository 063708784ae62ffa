"""Wrong: np.linalg.norm of a 2-D array is a matrix norm, not the norm of all entries."""

import numpy as np


def vector_norm(x, ord=2):
    if not ord >= 1:
        raise ValueError("ord must be >= 1")
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return 0.0
    if x.ndim <= 2:
        return float(np.linalg.norm(x, ord=ord))
    return float(np.linalg.norm(x.ravel(), ord))
