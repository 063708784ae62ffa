"""Wrong: scales every gradient to norm max_norm, so short gradients are lengthened."""

import numpy as np


def clipped_gradient_step(params, grad, lr, max_norm):
    if max_norm is not None and max_norm <= 0:
        raise ValueError("max_norm must be positive")
    params = np.asarray(params)
    grad = np.asarray(grad, dtype=float)
    norm = np.linalg.norm(grad)
    if max_norm is not None and norm > 0:
        grad = grad * (max_norm / norm)
    return (params - lr * grad).astype(params.dtype if params.dtype.kind == "f" else float)
