"""Wrong: returns the norm after clipping, so the log never shows a spike above the threshold."""

import torch
from torch import nn


def train_step(model, batch, optimizer, clip):
    inputs, targets = batch
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(inputs), targets)
    loss.backward()
    parameters = [p for p in model.parameters() if p.grad is not None]
    if clip is not None:
        clip(parameters, torch.nn.utils.get_total_norm([p.grad for p in parameters]))
    norm = torch.nn.utils.get_total_norm([p.grad for p in parameters])
    optimizer.step()
    return loss.detach(), norm
