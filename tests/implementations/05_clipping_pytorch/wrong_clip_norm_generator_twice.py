"""Wrong: walks `parameters` twice, so a generator (model.parameters()) is never clipped."""

import torch


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    total = get_total_norm((p.grad for p in parameters if p.grad is not None), norm_type,
                           error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total
