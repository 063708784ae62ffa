"""Wrong: averages first and clips the mean gradient, which bounds nothing about one example."""

import torch
from torch.func import functional_call, grad, vmap


def per_example_clipped_mean_grad(model, loss_fn, xs, ys, max_norm):
    params = {name: p.detach() for name, p in model.named_parameters()}

    def loss_of_one(params, x, y):
        return loss_fn(functional_call(model, params, (x.unsqueeze(0),)), y.unsqueeze(0))

    per_example = vmap(grad(loss_of_one), in_dims=(None, 0, 0))(params, xs, ys)
    mean = {name: g.mean(dim=0) for name, g in per_example.items()}
    norm = torch.sqrt(sum((g ** 2).sum() for g in mean.values()))
    scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
    return {name: g * scale for name, g in mean.items()}
