"""Another correct solution: eigenvalues of W^T W, pre-activations, a list of matrices."""

import numpy as np


def spectral_radius(W):
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or len(W) != W.shape[1]:
        raise ValueError(f"not square: {W.shape}")
    return float(np.abs(np.linalg.eigvals(W)).max())


def largest_singular_value(W):
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or len(W) != W.shape[1]:
        raise ValueError(f"not square: {W.shape}")
    return float(np.sqrt(max(np.linalg.eigvalsh(W.T @ W).max(), 0.0)))


def linear_rnn_gradient_norms(W, grad_T, T):
    step = np.asarray(W, dtype=float).T
    vectors = [np.asarray(grad_T, dtype=float)]
    for _ in range(T):
        vectors.append(step @ vectors[-1])
    return np.array([np.sqrt(np.sum(v**2)) for v in vectors])


def tanh_rnn_gradient_norms(W, U, xs, h0, grad_T):
    W, U = np.asarray(W, dtype=float), np.asarray(U, dtype=float)
    h = np.asarray(h0, dtype=float)
    preactivations = []
    for x in np.asarray(xs, dtype=float):
        a = W @ h + U @ x
        preactivations.append(a)
        h = np.tanh(a)
    delta = np.asarray(grad_T, dtype=float)
    norms = [np.linalg.norm(delta)]
    for a in preactivations[::-1]:
        delta = W.T @ (delta / np.cosh(a) ** 2)  # tanh'(a) = 1 / cosh(a)**2
        norms.append(np.linalg.norm(delta))
    return np.array(norms)


def vanishing_guaranteed(W, gamma=1.0):
    return not largest_singular_value(W) >= 1.0 / gamma
