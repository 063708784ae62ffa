"""Wrong: delegates to PyTorch's own clip_grads_with_norm_ under another name."""

from torch.nn.utils import clip_grads_with_norm_ as scale_by_norm


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    return scale_by_norm(parameters, max_norm, total_norm, foreach)
