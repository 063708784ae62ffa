"""Correct, written differently: powers summed tensor by tensor in float64, a loop for AGC over
reshaped units, and per-example gradients from torch.func.jacrev (mean loss of a batch of one)."""

import math

import torch
import torch.distributed as dist
from torch.func import functional_call, jacrev, vmap


def distributed_clip_grad_norm_(parameters, max_norm, norm_type=2.0, group=None):
    with torch.no_grad():
        if isinstance(parameters, torch.Tensor):
            parameters = [parameters]
        grads = [p.grad for p in parameters if p.grad is not None]
        p = float(norm_type)
        if p == math.inf:
            local = max((g.abs().max().double() for g in grads if g.numel()),
                        default=torch.tensor(0.0, dtype=torch.float64))
            local = local.clone() if torch.is_tensor(local) else torch.tensor(local)
            dist.all_reduce(local, op=dist.ReduceOp.MAX, group=group)
            total = local
        else:
            local = torch.tensor(0.0, dtype=torch.float64)
            for g in grads:
                local += g.double().abs().pow(p).sum()
            dist.all_reduce(local, group=group)
            total = local.pow(1.0 / p)
        total = total.to(torch.float32)
        factor = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(factor)
        return total


def adaptive_clip_grad_(parameters, clip_factor=0.01, eps=1e-3):
    with torch.no_grad():
        if isinstance(parameters, torch.Tensor):
            parameters = [parameters]
        for p in parameters:
            if p.grad is None:
                continue
            long_dims = sum(size > 1 for size in p.shape)
            units_w = p.reshape(1, -1) if long_dims <= 1 else p.reshape(p.shape[0], -1)
            units_g = p.grad.view(units_w.shape) if p.grad.is_contiguous() else None
            if units_g is None:
                raise ValueError("non-contiguous gradient")
            for i in range(units_w.shape[0]):
                limit = clip_factor * max(units_w[i].norm().item(), eps)
                norm = units_g[i].norm().item()
                if norm > limit:
                    units_g[i] *= limit / norm


def per_example_clipped_mean_grad(model, loss_fn, xs, ys, max_norm):
    names = [name for name, _ in model.named_parameters()]
    values = tuple(p.detach() for _, p in model.named_parameters())

    def loss(values, x, y):
        return loss_fn(functional_call(model, dict(zip(names, values, strict=True)), (x[None],)),
                       y[None])

    grads = vmap(jacrev(loss), in_dims=(None, 0, 0))(values, xs, ys)
    norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads]).norm(dim=0)
    factors = torch.where(norms > max_norm, max_norm / norms, torch.ones_like(norms))
    return {name: torch.einsum("b,b...->...", factors, g) / len(xs)
            for name, g in zip(names, grads, strict=True)}
