"""A correct solution written differently from the instructor's: must get full marks."""

import numpy as np


def spectral_radius(W):
    W = np.array(W, dtype=float)
    if len(W.shape) != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"expected a square matrix, not one of shape {W.shape}")
    eigenvalues = np.linalg.eigvals(W)
    return max(abs(complex(value)) for value in eigenvalues)


def largest_singular_value(W):
    W = np.array(W, dtype=float)
    if len(W.shape) != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"expected a square matrix, not one of shape {W.shape}")
    return float(np.linalg.norm(W, ord=2))


def linear_rnn_gradient_norms(W, grad_T, T):
    transposed = np.asarray(W, dtype=float).T
    gradients = [np.asarray(grad_T, dtype=float)]
    while len(gradients) <= T:
        gradients.append(transposed.dot(gradients[-1]))
    return np.linalg.norm(np.vstack(gradients), axis=1)


def tanh_rnn_gradient_norms(W, U, xs, h0, grad_T):
    W, U, xs = (np.asarray(a, dtype=float) for a in (W, U, xs))
    T = len(xs)
    states = np.zeros((T + 1, len(h0)))
    states[0] = h0
    for t in range(1, T + 1):
        states[t] = np.tanh(W.dot(states[t - 1]) + U.dot(xs[t - 1]))
    norms = np.zeros(T + 1)
    delta = np.asarray(grad_T, dtype=float)
    norms[0] = np.sqrt(delta.dot(delta))
    for k in range(1, T + 1):
        t = T - k + 1
        local = delta * (1 - states[t]) * (1 + states[t])
        delta = W.T.dot(local)
        norms[k] = np.sqrt(delta.dot(delta))
    return norms


def vanishing_guaranteed(W, gamma=1.0):
    return largest_singular_value(W) * gamma < 1
