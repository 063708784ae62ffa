"""Wrong: max_norm / total_norm without PyTorch's 1e-6 (and a zero norm divides by zero)."""

import torch


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if grads:
        torch._foreach_mul_(grads, torch.clamp(max_norm / total_norm, max=1.0))
