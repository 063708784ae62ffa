"""Wrong: the asymptotic estimate rho(W)**k * ||grad_T|| instead of the real norms."""

import numpy as np


def linear_rnn_gradient_norms(W, grad_T, T):
    rho = np.max(np.abs(np.linalg.eigvals(np.asarray(W, dtype=float))))
    return rho ** np.arange(T + 1) * np.linalg.norm(grad_T)
