"""Wrong: uses 1 - tanh(h_t)**2, applying tanh to a state that is already tanh(a_t)."""

import numpy as np


def tanh_rnn_gradient_norms(W, U, xs, h0, grad_T):
    W, U = np.asarray(W, dtype=float), np.asarray(U, dtype=float)
    states = [np.asarray(h0, dtype=float)]
    for x in np.asarray(xs, dtype=float):
        states.append(np.tanh(W @ states[-1] + U @ x))
    g = np.array(grad_T, dtype=float)
    norms = [np.linalg.norm(g)]
    for h in reversed(states[1:]):
        g = W.T @ (g * (1 - np.tanh(h) ** 2))
        norms.append(np.linalg.norm(g))
    return np.array(norms)
