"""Wrong: the blog's rule, g / ||g|| when ||g|| > threshold: norm 1 instead of clip_norm."""

import numpy as np


def clip_by_norm(t, clip_norm, axes=None):
    if clip_norm < 0:
        raise ValueError("clip_norm < 0")
    t = np.asarray(t)
    axes = axes if axes is None or isinstance(axes, int) else tuple(axes)
    norm = np.sqrt(np.sum(t * t, axis=axes, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > clip_norm, t / norm, t).astype(t.dtype)
