"""Wrong: clips each component to [-max_norm, max_norm], which turns the direction."""

import numpy as np


def clipped_gradient_step(params, grad, lr, max_norm):
    if max_norm is not None and max_norm <= 0:
        raise ValueError("max_norm must be positive")
    params = np.asarray(params)
    grad = np.asarray(grad, dtype=float)
    if max_norm is not None:
        grad = np.clip(grad, -max_norm, max_norm)
    return (params - lr * grad).astype(params.dtype if params.dtype.kind == "f" else float)
