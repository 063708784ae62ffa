"""Wrong: an inf norm gives scale c / inf = 0, silently zeroing the gradient instead of NaN."""

import numpy as np


def clip_by_global_norm(t_list, clip_norm, use_norm=None):
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list must be a list or tuple")
    norm = global_norm(t_list) if use_norm is None else use_norm
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = min(1.0, clip_norm / norm) if norm > 0 else 1.0
        return [None if t is None else (t * scale).astype(t.dtype) for t in t_list], norm
