"""Wrong (for Part B): hands every call to PyTorch's clip_grad_norm_, whose float32 norm kernel
is the inaccurate one the lesson measures."""

import torch


def fast_clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                         foreach=None):
    return torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite,
                                          foreach)
