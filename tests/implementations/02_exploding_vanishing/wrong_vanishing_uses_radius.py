"""Wrong: tests the spectral radius, which is not a bound on one step for non-normal W."""

import numpy as np


def vanishing_guaranteed(W, gamma=1.0):
    return bool(np.max(np.abs(np.linalg.eigvals(np.asarray(W, dtype=float)))) < 1.0 / gamma)
