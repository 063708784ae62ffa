"""Correct, written differently: markers by scatter of sampled offsets, targets by gather; a
train_step with torch.nn.utils.get_total_norm and an explicit clip."""

import math

import torch
from torch import nn


def make_adding_batch(batch_size, seq_len, generator):
    if seq_len < 2:
        raise ValueError("need at least two steps")
    half = seq_len // 2
    device = generator.device
    values = torch.rand((batch_size, seq_len), generator=generator, device=device)
    first = torch.randint(half, (batch_size, 1), generator=generator, device=device)
    second = half + torch.randint(seq_len - half, (batch_size, 1), generator=generator,
                                  device=device)
    positions = torch.cat([first, second], dim=1)
    markers = torch.zeros_like(values).scatter_(1, positions, 1.0)
    targets = values.gather(1, positions).sum(dim=1, keepdim=True)
    return torch.cat([values.unsqueeze(-1), markers.unsqueeze(-1)], dim=2), targets


def train_step(model, batch, optimizer, max_norm):
    inputs, targets = batch
    for parameter in model.parameters():
        parameter.grad = None
    loss = nn.functional.mse_loss(model(inputs), targets)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    norm = torch.nn.utils.get_total_norm(grads)
    if max_norm is not None and max_norm < math.inf:
        torch.nn.utils.clip_grads_with_norm_(model.parameters(), max_norm, norm)
    optimizer.step()
    return loss.detach(), norm
