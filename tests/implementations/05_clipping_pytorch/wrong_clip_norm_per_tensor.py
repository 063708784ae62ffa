"""Wrong: clips each gradient by its own norm, which turns the direction of the whole."""

import torch


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    parameters = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    with torch.no_grad():
        for g in grads:
            own = torch.linalg.vector_norm(g, float(norm_type))
            g.mul_(torch.clamp(max_norm / (own + 1e-6), max=1.0))
    return total
