"""Wrong: clips each example's gradient tensor by tensor instead of by its global norm."""

import torch
from torch.func import functional_call, grad, vmap


def per_example_clipped_mean_grad(model, loss_fn, xs, ys, max_norm):
    params = {name: p.detach() for name, p in model.named_parameters()}

    def loss_of_one(params, x, y):
        return loss_fn(functional_call(model, params, (x.unsqueeze(0),)), y.unsqueeze(0))

    per_example = vmap(grad(loss_of_one), in_dims=(None, 0, 0))(params, xs, ys)
    result = {}
    for name, g in per_example.items():
        norms = g.reshape(g.shape[0], -1).norm(dim=1)
        scale = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
        result[name] = (g * scale.view(-1, *[1] * (g.dim() - 1))).mean(dim=0)
    return result
