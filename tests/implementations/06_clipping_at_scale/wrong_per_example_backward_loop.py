"""Wrong for this exercise: the right numbers, but from a loop of backward passes, one example
at a time, instead of torch.func's vmap over grad (the lesson's point)."""

import torch


def per_example_clipped_mean_grad(model, loss_fn, xs, ys, max_norm):
    total = {name: torch.zeros_like(p) for name, p in model.named_parameters()}
    saved = {name: p.grad for name, p in model.named_parameters()}
    for x, y in zip(xs, ys, strict=True):
        for p in model.parameters():
            p.grad = None
        loss_fn(model(x.unsqueeze(0)), y.unsqueeze(0)).backward()
        grads = {name: p.grad.detach().clone() for name, p in model.named_parameters()}
        norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads.values()))
        scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
        for name, g in grads.items():
            total[name] += g * scale.to(g.dtype)
    for name, p in model.named_parameters():
        p.grad = saved[name]
    return {name: t / len(xs) for name, t in total.items()}
