"""Wrong: clips first and checks for a non-finite norm afterwards, so the gradients are already
NaN when the RuntimeError comes."""

import torch


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    parameters = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, False, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    if error_if_nonfinite and not torch.isfinite(total):
        raise RuntimeError("non-finite total norm")
    return total
