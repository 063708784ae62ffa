"""Wrong: the largest |eigenvalue| instead of the largest singular value."""

import numpy as np


def largest_singular_value(W):
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got {W.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(W))))
