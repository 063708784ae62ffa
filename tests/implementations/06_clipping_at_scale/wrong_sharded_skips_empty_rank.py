"""Wrong: a rank without gradients returns early and never joins the all-reduce: the other rank
waits for it (the test's timeout ends the wait)."""

import math

import torch
import torch.distributed as dist


def distributed_clip_grad_norm_(parameters, max_norm, norm_type=2.0, group=None):
    with torch.no_grad():
        grads = [p.grad for p in parameters if p.grad is not None]
        if not grads:
            return torch.tensor(0.0)
        p = float(norm_type)
        norms = [torch.linalg.vector_norm(g, p) for g in grads]
        local = torch.linalg.vector_norm(torch.stack(norms), p).double()
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
