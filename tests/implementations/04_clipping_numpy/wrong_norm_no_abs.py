"""Wrong: forgets the absolute value, (sum x_i^p)^(1/p) and max x_i."""

import numpy as np


def vector_norm(x, ord=2):
    if not ord >= 1:
        raise ValueError("ord must be >= 1")
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size == 0:
        return 0.0
    if ord == np.inf:
        return float(np.max(x))
    with np.errstate(invalid="ignore"):
        return float(np.sum(x**ord) ** (1.0 / ord))
