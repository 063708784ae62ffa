"""Wrong: np.linalg.norm(W) is the Frobenius norm (of all singular values), not the largest."""

import numpy as np


def largest_singular_value(W):
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got {W.shape}")
    return float(np.linalg.norm(W))
