"""Wrong: treats each entry of a vector (a bias, a gain) as its own unit. The official NFNets code
(and optax, and timm) takes a whole vector as one unit."""

import torch


@torch.no_grad()
def adaptive_clip_grad_(parameters, clip_factor=0.01, eps=1e-3):
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    for parameter in parameters:
        if parameter.grad is None:
            continue
        weights, gradient = parameter.detach(), parameter.grad
        if weights.dim() <= 1:
            weight_norm, grad_norm = weights.abs(), gradient.abs()
        else:
            dims = tuple(range(1, weights.dim()))
            weight_norm = torch.linalg.vector_norm(weights, dim=dims, keepdim=True)
            grad_norm = torch.linalg.vector_norm(gradient, dim=dims, keepdim=True)
        max_norm = clip_factor * weight_norm.clamp(min=eps)
        scale = torch.where(grad_norm > max_norm, max_norm / grad_norm.clamp(min=1e-30), 1.0)
        gradient.mul_(scale.to(gradient.dtype))
