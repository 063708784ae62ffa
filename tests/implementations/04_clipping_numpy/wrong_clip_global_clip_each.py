"""Wrong: clips each tensor by its own norm, which changes the direction of the whole gradient."""

import math

import numpy as np


def clip_by_global_norm(t_list, clip_norm, use_norm=None):
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list must be a list or tuple")
    norm = global_norm(t_list) if use_norm is None else use_norm
    clipped = []
    for t in t_list:
        if t is None:
            clipped.append(None)
            continue
        own = math.sqrt(float(np.sum(np.square(t, dtype=np.float64))))
        clipped.append((t * (clip_norm / max(own, clip_norm))).astype(t.dtype))
    return clipped, norm
