"""Wrong: normalizes first, t / ||t|| * min(||t||, c), which is 0 / 0 = NaN for a zero tensor."""

import numpy as np


def clip_by_norm(t, clip_norm, axes=None):
    if clip_norm < 0:
        raise ValueError("clip_norm < 0")
    t = np.asarray(t)
    axes = axes if axes is None or isinstance(axes, int) else tuple(axes)
    norm = np.sqrt(np.sum(t * t, axis=axes, keepdims=True))
    return (t / norm * np.minimum(norm, clip_norm)).astype(t.dtype)
