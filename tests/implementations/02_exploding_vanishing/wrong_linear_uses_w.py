"""Wrong: multiplies by W instead of W.T (the forward map, not its transpose)."""

import numpy as np


def linear_rnn_gradient_norms(W, grad_T, T):
    W = np.asarray(W, dtype=float)
    g = np.array(grad_T, dtype=float)
    norms = [np.linalg.norm(g)]
    for _ in range(T):
        g = W @ g
        norms.append(np.linalg.norm(g))
    return np.array(norms)
