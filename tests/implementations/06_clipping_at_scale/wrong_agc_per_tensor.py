"""Wrong: one ratio per tensor (whole-tensor norms) instead of one per unit."""

import torch


def adaptive_clip_grad_(parameters, clip_factor=0.01, eps=1e-3):
    with torch.no_grad():
        if isinstance(parameters, torch.Tensor):
            parameters = [parameters]
        for p in parameters:
            if p.grad is None:
                continue
            limit = clip_factor * max(p.norm().item(), eps)
            norm = p.grad.norm().item()
            if norm > limit:
                p.grad.mul_(limit / norm)
