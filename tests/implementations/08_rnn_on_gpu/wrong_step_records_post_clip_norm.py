"""Wrong: records the norm after clipping, so the log never shows a spike above max_norm."""

import math

import torch
from torch import nn


def train_step(model, batch, optimizer, max_norm):
    inputs, targets = batch
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(inputs), targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), math.inf if max_norm is None else max_norm)
    norm = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])
    optimizer.step()
    return loss.detach(), norm
