"""Wrong: returns a Python float where clip_grad_norm_ returns a 0-dim tensor."""

import math

import torch


def fast_clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                         foreach=None):
    parameters = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    if float(norm_type) != 2.0 or any(g.dtype not in (torch.float32, torch.float64) for g in grads):
        return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)
    total_norm = math.sqrt(sum_of_squares(grads))
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise RuntimeError("non-finite")
    clip_coef = max_norm / (total_norm + 1e-6)
    if clip_coef < 1.0 or math.isnan(clip_coef):
        torch._foreach_mul_(grads, clip_coef)
    return total_norm
