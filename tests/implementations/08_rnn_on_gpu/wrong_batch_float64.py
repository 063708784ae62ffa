"""Wrong: float64 tensors (the model's weights are float32)."""

import torch


def make_adding_batch(batch_size, seq_len, generator):
    if seq_len < 2:
        raise ValueError("need at least two steps")
    half = seq_len // 2
    values = torch.rand(batch_size, seq_len, generator=generator, dtype=torch.float64)
    first = torch.randint(0, half, (batch_size,), generator=generator)
    second = torch.randint(half, seq_len, (batch_size,), generator=generator)
    markers = torch.zeros(batch_size, seq_len, dtype=torch.float64)
    markers[torch.arange(batch_size), first] = 1.0
    markers[torch.arange(batch_size), second] = 1.0
    return torch.stack([values, markers], dim=-1), (values * markers).sum(dim=1, keepdim=True)
