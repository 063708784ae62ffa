"""Wrong: all-reduces the local norms themselves (SUM of norms), not their p-th powers."""

import math

import torch
import torch.distributed as dist


def distributed_clip_grad_norm_(parameters, max_norm, norm_type=2.0, group=None):
    with torch.no_grad():
        grads = [p.grad for p in parameters if p.grad is not None]
        norm_type = float(norm_type)
        norms = [torch.linalg.vector_norm(g, norm_type) for g in grads]
        local = (torch.linalg.vector_norm(torch.stack(norms), norm_type)
                 if grads else torch.tensor(0.0))
        op = dist.ReduceOp.MAX if math.isinf(norm_type) else dist.ReduceOp.SUM
        dist.all_reduce(local, op=op, group=group)
        coef = torch.clamp(max_norm / (local + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef)
        return local
