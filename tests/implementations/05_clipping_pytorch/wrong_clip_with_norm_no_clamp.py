"""Wrong: the coefficient is not clamped to 1, so small gradients get amplified."""

import torch


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    with torch.no_grad():
        for p in parameters:
            if p.grad is not None:
                p.grad.mul_(max_norm / (total_norm + 1e-6))
