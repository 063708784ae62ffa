"""Wrong: delegates to PyTorch's own clip_grad_norm_ through a helper."""

import torch


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    name = "clip_grad_norm_"  # looked up by a string, as if to hide it
    return getattr(torch.nn.utils, name)(parameters, max_norm, norm_type, error_if_nonfinite,
                                         foreach)
