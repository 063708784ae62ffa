"""Wrong: each rank adds its tensors' norms (instead of their p-th powers) before the all-reduce."""

import math

import torch
import torch.distributed as dist


def distributed_clip_grad_norm_(parameters, max_norm, norm_type=2.0, group=None):
    with torch.no_grad():
        grads = [p.grad for p in parameters if p.grad is not None]
        p = float(norm_type)
        zero = torch.tensor(0.0, dtype=torch.float64)
        local = sum((torch.linalg.vector_norm(g, p).double() for g in grads), zero)
        if math.isinf(p):
            dist.all_reduce(local, op=dist.ReduceOp.MAX, group=group)
            total = local
        else:
            power = local ** p
            dist.all_reduce(power, group=group)
            total = power ** (1 / p)
        total = total.float()
        coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef)
        return total
