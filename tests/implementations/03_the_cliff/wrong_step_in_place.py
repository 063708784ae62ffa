"""Wrong: updates the caller's params array in place (params -= ...)."""

import numpy as np


def clipped_gradient_step(params, grad, lr, max_norm):
    if max_norm is not None and max_norm <= 0:
        raise ValueError("max_norm must be positive")
    params = np.asarray(params, dtype=float)
    grad = np.asarray(grad, dtype=float)
    norm = np.linalg.norm(grad)
    if max_norm is not None and norm > max_norm:
        grad = grad * (max_norm / norm)
    params -= lr * grad
    return params
