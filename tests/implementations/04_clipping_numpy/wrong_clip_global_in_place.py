"""Wrong: scales the caller's arrays in place (t *= scale)."""

import numpy as np


def clip_by_global_norm(t_list, clip_norm, use_norm=None):
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list must be a list or tuple")
    norm = global_norm(t_list) if use_norm is None else use_norm
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = clip_norm / max(norm, clip_norm) if np.isfinite(norm) else np.nan
        for t in t_list:
            if t is not None:
                t *= np.asarray(scale, dtype=t.dtype)
    return list(t_list), norm
