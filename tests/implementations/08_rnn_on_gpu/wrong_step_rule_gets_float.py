"""Wrong: hands the rule the norm as a Python float (a sync per step) and all parameters."""

import torch
from torch import nn


def train_step(model, batch, optimizer, clip):
    inputs, targets = batch
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(inputs), targets)
    loss.backward()
    norm = torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None])
    if clip is not None:
        clip(list(model.parameters()), norm.item())
    optimizer.step()
    return loss.detach(), norm
