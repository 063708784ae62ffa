"""Wrong: p.grad = p.grad.clamp(...) makes a new tensor instead of clamping in place."""

import torch


def clip_grad_value_(parameters, clip_value, foreach=None):
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    for p in parameters:
        if p.grad is not None:
            p.grad = p.grad.clamp(-clip_value, clip_value)
