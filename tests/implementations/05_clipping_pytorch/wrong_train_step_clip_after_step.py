"""Wrong: clips after optimizer.step(), when the unclipped gradients have already been used."""

import torch


def train_step(model, batch, loss_fn, optimizer, max_norm):
    inputs, targets = batch
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    optimizer.step()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    return loss.detach(), norm
