"""Wrong: seeds torch's global random state from the generator and draws from it, which changes
everyone else's random numbers and repeats the batch at every call."""

import torch


def make_adding_batch(batch_size, seq_len, generator):
    if seq_len < 2:
        raise ValueError("need at least two steps")
    torch.manual_seed(generator.initial_seed())
    half = seq_len // 2
    values = torch.rand(batch_size, seq_len)
    markers = torch.zeros(batch_size, seq_len)
    rows = torch.arange(batch_size)
    markers[rows, torch.randint(0, half, (batch_size,))] = 1.0
    markers[rows, torch.randint(half, seq_len, (batch_size,))] = 1.0
    return torch.stack([values, markers], dim=-1), (values * markers).sum(dim=1, keepdim=True)
