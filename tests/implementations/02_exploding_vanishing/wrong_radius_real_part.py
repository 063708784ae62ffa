"""Wrong: the largest real eigenvalue, ignoring negative and complex eigenvalues."""

import numpy as np


def spectral_radius(W):
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got {W.shape}")
    return float(np.max(np.linalg.eigvals(W).real))
