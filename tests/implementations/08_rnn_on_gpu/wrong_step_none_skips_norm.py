"""Wrong: with clip=None it records nothing useful (a zero norm) for the unclipped runs."""

import torch
from torch import nn


def train_step(model, batch, optimizer, clip):
    inputs, targets = batch
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(inputs), targets)
    loss.backward()
    norm = torch.tensor(0.0)
    if clip is not None:
        parameters = [p for p in model.parameters() if p.grad is not None]
        norm = torch.nn.utils.get_total_norm([p.grad for p in parameters])
        clip(parameters, norm)
    optimizer.step()
    return loss.detach(), norm
