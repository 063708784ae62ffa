"""Wrong: delegates to PyTorch's own clip_grad_value_."""

import torch


def clip_grad_value_(parameters, clip_value, foreach=None):
    return torch.nn.utils.clip_grad_value_(parameters, clip_value, foreach)
