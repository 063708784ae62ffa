"""Wrong: takes tanh' at h_{t-1} instead of h_t (an off-by-one in time)."""

import numpy as np


def tanh_rnn_gradient_norms(W, U, xs, h0, grad_T):
    W, U = np.asarray(W, dtype=float), np.asarray(U, dtype=float)
    states = [np.asarray(h0, dtype=float)]
    for x in np.asarray(xs, dtype=float):
        states.append(np.tanh(W @ states[-1] + U @ x))
    g = np.array(grad_T, dtype=float)
    norms = [np.linalg.norm(g)]
    for t in range(len(states) - 1, 0, -1):
        g = W.T @ (g * (1 - states[t - 1] ** 2))
        norms.append(np.linalg.norm(g))
    return np.array(norms)
