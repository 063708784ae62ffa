"""Wrong: the target sums the wrong channel (the markers: always 2) instead of the values."""

import torch


def make_adding_batch(batch_size, seq_len, generator):
    if seq_len < 2:
        raise ValueError("need at least two steps")
    half = seq_len // 2
    values = torch.rand(batch_size, seq_len, generator=generator)
    first = torch.randint(0, half, (batch_size,), generator=generator)
    second = torch.randint(half, seq_len, (batch_size,), generator=generator)
    markers = torch.zeros(batch_size, seq_len)
    markers[torch.arange(batch_size), first] = 1.0
    markers[torch.arange(batch_size), second] = 1.0
    inputs = torch.stack([values, markers], dim=-1)
    return inputs, inputs[..., 1].sum(dim=1, keepdim=True)
