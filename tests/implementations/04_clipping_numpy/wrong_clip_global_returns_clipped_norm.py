"""Wrong: returns the norm after clipping, so the log never shows the explosion."""

import numpy as np


def clip_by_global_norm(t_list, clip_norm, use_norm=None):
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list must be a list or tuple")
    norm = global_norm(t_list) if use_norm is None else use_norm
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = clip_norm / max(norm, clip_norm) if np.isfinite(norm) else np.nan
        clipped = [None if t is None else (t * scale).astype(t.dtype) for t in t_list]
    return clipped, min(norm, clip_norm)
