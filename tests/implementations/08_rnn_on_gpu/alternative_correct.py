"""Correct, written differently: markers by scatter of sampled offsets, targets by gather; a
train_step that measures the norm with torch.linalg; a SpikeMonitor on a deque with
statistics.median; threshold_from_probe by sorting and interpolating by hand."""

import collections
import math
import statistics

import numpy as np
import torch
from torch import nn


def make_adding_batch(batch_size, seq_len, generator):
    if seq_len < 2:
        raise ValueError("need at least two steps")
    half = seq_len // 2
    device = generator.device
    values = torch.rand((batch_size, seq_len), generator=generator, device=device)
    first = torch.randint(half, (batch_size, 1), generator=generator, device=device)
    second = half + torch.randint(
        seq_len - half, (batch_size, 1), generator=generator, device=device
    )
    positions = torch.cat([first, second], dim=1)
    markers = torch.zeros_like(values).scatter_(1, positions, 1.0)
    targets = values.gather(1, positions).sum(dim=1, keepdim=True)
    return torch.cat([values.unsqueeze(-1), markers.unsqueeze(-1)], dim=2), targets


def train_step(model, batch, optimizer, clip):
    inputs, targets = batch
    for parameter in model.parameters():
        parameter.grad = None
    loss = nn.functional.mse_loss(model(inputs), targets)
    loss.backward()
    with_grad = [p for p in model.parameters() if p.grad is not None]
    norm = torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(p.grad) for p in with_grad])
    )
    if clip:
        clip(with_grad, norm)
    optimizer.step()
    return loss.detach(), norm


class SpikeMonitor:
    def __init__(self, window=50, factor=10.0):
        if window < 1 or factor <= 0:
            raise ValueError(f"need window >= 1 and factor > 0, got {window} and {factor}")
        self.factor = factor
        self.recent = collections.deque(maxlen=window)
        self.spike_steps = []
        self.seen = 0

    def update(self, norms):
        flags = []
        for value in torch.as_tensor(np.asarray(norms, dtype=float)).tolist():
            finite = math.isfinite(value)
            full = len(self.recent) == self.recent.maxlen
            flags.append(
                not finite or (full and value > self.factor * statistics.median(self.recent))
            )
            if finite:
                self.recent.append(value)
            if flags[-1]:
                self.spike_steps.append(self.seen)
            self.seen += 1
        return np.array(flags, dtype=bool)


def threshold_from_probe(norms, percentile=90.0, warmup=0):
    if warmup < 0 or percentile < 0 or percentile > 100:
        raise ValueError(f"bad warmup {warmup} or percentile {percentile}")
    kept = sorted(
        value for value in list(np.asarray(norms, dtype=float))[warmup:] if math.isfinite(value)
    )
    if not kept:
        raise ValueError("no finite value to take a percentile of")
    position = (len(kept) - 1) * percentile / 100
    below = math.floor(position)
    above = min(below + 1, len(kept) - 1)
    return float(kept[below] + (kept[above] - kept[below]) * (position - below))
