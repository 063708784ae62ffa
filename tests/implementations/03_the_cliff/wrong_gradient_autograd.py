"""Wrong for this exercise: correct numbers, but from torch.autograd instead of by hand."""

import numpy as np
import torch


def loss_and_gradient(params, x0=0.5, steps=30, target=0.7):
    w, b = (torch.tensor(float(p), dtype=torch.float64, requires_grad=True) for p in params)
    x = torch.tensor(float(x0), dtype=torch.float64)
    for _ in range(steps):
        x = w * torch.tanh(x) + b
    loss = (x - target) ** 2
    if not loss.requires_grad:
        return loss.item(), np.zeros(2)
    loss.backward()
    return loss.item(), np.array([w.grad.item(), b.grad.item()])
