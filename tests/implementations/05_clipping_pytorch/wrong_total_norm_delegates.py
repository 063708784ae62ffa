"""Wrong: hands the work to PyTorch's own function, the one the exercise rebuilds. The results are
right, so only the check of what the function calls can take its points (and those of
clip_grad_norm_, which calls it)."""

import torch


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    return torch.nn.utils.get_total_norm(tensors, norm_type, error_if_nonfinite, foreach)
