"""Wrong: clips after optimizer.step(), when the unclipped gradients have been used."""

import torch
from torch import nn


def train_step(model, batch, optimizer, clip):
    inputs, targets = batch
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(inputs), targets)
    loss.backward()
    parameters = [p for p in model.parameters() if p.grad is not None]
    norm = torch.nn.utils.get_total_norm([p.grad for p in parameters])
    optimizer.step()
    if clip is not None:
        clip(parameters, norm)
    return loss.detach(), norm
