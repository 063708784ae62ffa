"""Wrong: max_norm=None is compared with a number (TypeError) instead of meaning no clipping."""

import numpy as np


def clipped_gradient_step(params, grad, lr, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm must be positive")
    params = np.asarray(params)
    grad = np.asarray(grad, dtype=float)
    norm = np.linalg.norm(grad)
    if norm > max_norm:
        grad = grad * (max_norm / norm)
    return (params - lr * grad).astype(params.dtype if params.dtype.kind == "f" else float)
