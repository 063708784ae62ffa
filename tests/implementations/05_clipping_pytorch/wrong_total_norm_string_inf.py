"""Wrong: only handles math.inf, so norm_type='inf' goes through the power formula and fails."""

import torch


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    tensors = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors)
    if not tensors:
        return torch.tensor(0.0)
    if norm_type == float("inf"):
        total = torch.stack([t.abs().max() for t in tensors]).max()
    else:
        powers = torch.stack([t.abs().pow(norm_type).sum() for t in tensors])
        total = powers.sum().pow(1.0 / norm_type)
    if error_if_nonfinite and not torch.isfinite(total):
        raise RuntimeError("non-finite")
    return total
