"""Wrong: computes in float64 and forgets to return the input's dtype."""

import numpy as np


def clip_by_norm(t, clip_norm, axes=None):
    if clip_norm < 0:
        raise ValueError("clip_norm < 0")
    t = np.asarray(t, dtype=np.float64)
    axes = axes if axes is None or isinstance(axes, int) else tuple(axes)
    norm = np.sqrt(np.sum(t * t, axis=axes, keepdims=True))
    return t * clip_norm / np.maximum(norm, clip_norm)
