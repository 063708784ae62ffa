"""Wrong: the blog post's rule, dividing a long gradient by its norm (norm 1, not max_norm)."""

import numpy as np


def clipped_gradient_step(params, grad, lr, max_norm):
    if max_norm is not None and max_norm <= 0:
        raise ValueError("max_norm must be positive")
    params = np.asarray(params, dtype=float)
    grad = np.asarray(grad, dtype=float)
    norm = np.linalg.norm(grad)
    if max_norm is not None and norm > max_norm:
        grad = grad / norm
    return params - lr * grad
