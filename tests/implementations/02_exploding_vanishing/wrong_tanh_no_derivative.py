"""Wrong: backpropagates as if the network were linear (forgets tanh')."""

import numpy as np


def tanh_rnn_gradient_norms(W, U, xs, h0, grad_T):
    W = np.asarray(W, dtype=float)
    g = np.array(grad_T, dtype=float)
    norms = [np.linalg.norm(g)]
    for _ in range(len(xs)):
        g = W.T @ g
        norms.append(np.linalg.norm(g))
    return np.array(norms)
