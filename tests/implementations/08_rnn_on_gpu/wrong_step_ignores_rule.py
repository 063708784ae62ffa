"""Wrong: ignores the rule it is given and always clips the global norm to 1 (lesson 05's step)."""

import math

import torch
from torch import nn


def train_step(model, batch, optimizer, clip):
    inputs, targets = batch
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(inputs), targets)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), math.inf if clip is None else 1.0)
    optimizer.step()
    return loss.detach(), norm
