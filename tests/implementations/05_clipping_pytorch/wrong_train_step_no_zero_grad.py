"""Wrong: never zeroes the gradients, so each step adds the previous steps' gradients."""

import torch


def train_step(model, batch, loss_fn, optimizer, max_norm):
    inputs, targets = batch
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.detach(), norm
