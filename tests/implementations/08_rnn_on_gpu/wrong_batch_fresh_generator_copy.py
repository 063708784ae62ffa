"""Wrong: reseeds a fresh generator from generator.initial_seed() at every call, so every batch
of a training run is the same batch."""

import torch


def make_adding_batch(batch_size, seq_len, generator):
    if seq_len < 2:
        raise ValueError("need at least two steps")
    copy = torch.Generator(device=generator.device).manual_seed(generator.initial_seed())
    half = seq_len // 2
    values = torch.rand(batch_size, seq_len, generator=copy, device=generator.device)
    first = torch.randint(0, half, (batch_size,), generator=copy, device=generator.device)
    second = torch.randint(half, seq_len, (batch_size,), generator=copy, device=generator.device)
    markers = torch.zeros(batch_size, seq_len, device=generator.device)
    rows = torch.arange(batch_size, device=generator.device)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    return torch.stack([values, markers], dim=-1), (values * markers).sum(dim=1, keepdim=True)
