"""Wrong: no eps, so a unit with zero weights gets its gradient clipped to zero forever."""

import torch


def adaptive_clip_grad_(parameters, clip_factor=0.01, eps=1e-3):
    with torch.no_grad():
        if isinstance(parameters, torch.Tensor):
            parameters = [parameters]
        for p in parameters:
            if p.grad is None:
                continue
            if p.dim() <= 1:
                w_norm, g_norm = p.abs(), p.grad.abs()
            else:
                dims = tuple(range(1, p.dim()))
                w_norm = p.norm(dim=dims, keepdim=True)
                g_norm = p.grad.norm(dim=dims, keepdim=True)
            limit = clip_factor * w_norm
            scale = torch.where(g_norm > limit, limit / g_norm.clamp(min=1e-30), 1.0)
            p.grad.mul_(scale)
