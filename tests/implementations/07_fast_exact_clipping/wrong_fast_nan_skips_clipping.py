"""Wrong: `if clip_coef < 1` is False for a NaN coefficient, so NaN gradients are left as they
are where PyTorch turns every gradient into NaN."""

import math

import torch


def fast_clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                         foreach=None):
    parameters = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    if float(norm_type) != 2.0 or any(g.dtype not in (torch.float32, torch.float64) for g in grads):
        return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)
    if not grads:
        return torch.tensor(0.0)
    total_norm = math.sqrt(sum_of_squares(grads))
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise RuntimeError("non-finite")
    clip_coef = max_norm / (total_norm + 1e-6)
    if clip_coef < 1.0:
        torch._foreach_mul_(grads, clip_coef)
    dtype = torch.float64 if any(g.dtype == torch.float64 for g in grads) else torch.float32
    return torch.tensor(total_norm, dtype=dtype)
