"""Wrong: never raises for a non-finite norm, even with error_if_nonfinite=True."""

import torch


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    tensors = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors)
    if not tensors:
        return torch.tensor(0.0)
    norm_type = float(norm_type)
    norms = [torch.linalg.vector_norm(t, norm_type) for t in tensors]
    return torch.linalg.vector_norm(torch.stack(norms), norm_type)
