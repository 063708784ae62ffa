"""Wrong: draws from PyTorch's global random state instead of `generator`, so a seeded generator
does not reproduce the batch."""

import torch


def make_adding_batch(batch_size, seq_len, generator):
    if seq_len < 2:
        raise ValueError("need at least two steps")
    half = seq_len // 2
    values = torch.rand(batch_size, seq_len)
    first = torch.randint(0, half, (batch_size,))
    second = torch.randint(half, seq_len, (batch_size,))
    markers = torch.zeros(batch_size, seq_len)
    markers[torch.arange(batch_size), first] = 1.0
    markers[torch.arange(batch_size), second] = 1.0
    return torch.stack([values, markers], dim=-1), (values * markers).sum(dim=1, keepdim=True)
