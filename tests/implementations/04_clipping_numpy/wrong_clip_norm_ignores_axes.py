"""Wrong: always uses the norm of the whole tensor, even when axes asks for one per slice."""

import numpy as np


def clip_by_norm(t, clip_norm, axes=None):
    if clip_norm < 0:
        raise ValueError("clip_norm < 0")
    t = np.asarray(t)
    norm = np.sqrt(np.sum(t * t))
    return (t * clip_norm / np.maximum(norm, clip_norm)).astype(t.dtype)
