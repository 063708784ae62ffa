"""Wrong: T norms instead of T + 1 (forgets k = 0, the gradient at h_T itself)."""

import numpy as np


def linear_rnn_gradient_norms(W, grad_T, T):
    W = np.asarray(W, dtype=float)
    g = np.array(grad_T, dtype=float)
    norms = []
    for _ in range(T):
        g = W.T @ g
        norms.append(np.linalg.norm(g))
    return np.array(norms)
