"""Wrong: sums the clipped per-example gradients instead of averaging them."""

import torch
from torch.func import functional_call, grad, vmap


def per_example_clipped_mean_grad(model, loss_fn, xs, ys, max_norm):
    params = {name: p.detach() for name, p in model.named_parameters()}

    def loss_of_one(params, x, y):
        return loss_fn(functional_call(model, params, (x.unsqueeze(0),)), y.unsqueeze(0))

    per_example = vmap(grad(loss_of_one), in_dims=(None, 0, 0))(params, xs, ys)
    squares = sum(g.reshape(g.shape[0], -1).pow(2).sum(dim=1) for g in per_example.values())
    scale = torch.clamp(max_norm / (squares.sqrt() + 1e-6), max=1.0)
    return {name: (g * scale.view(-1, *[1] * (g.dim() - 1))).sum(dim=0)
            for name, g in per_example.items()}
