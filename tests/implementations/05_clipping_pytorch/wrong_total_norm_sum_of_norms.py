"""Wrong: adds the per-tensor norms instead of taking the norm of them (lesson 03's trap)."""

import torch


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    tensors = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors)
    if not tensors:
        return torch.tensor(0.0)
    norms = [torch.linalg.vector_norm(t, float(norm_type)) for t in tensors]
    total = torch.stack(norms).sum()
    if error_if_nonfinite and not torch.isfinite(total):
        raise RuntimeError("non-finite")
    return total
