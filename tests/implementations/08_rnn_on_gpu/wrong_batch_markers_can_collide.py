"""Wrong: both markers drawn from the whole sequence, so they sometimes land on the same step
(one marker) and are not split between the halves."""

import torch


def make_adding_batch(batch_size, seq_len, generator):
    if seq_len < 2:
        raise ValueError("need at least two steps")
    values = torch.rand(batch_size, seq_len, generator=generator)
    positions = torch.randint(0, seq_len, (batch_size, 2), generator=generator)
    markers = torch.zeros(batch_size, seq_len).scatter_(1, positions, 1.0)
    targets = (values * markers).sum(dim=1, keepdim=True)
    return torch.stack([values, markers], dim=-1), targets
