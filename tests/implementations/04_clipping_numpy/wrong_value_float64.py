"""Wrong: converts to float64, so float32 gradients come back as float64."""

import numpy as np


def clip_by_value(t, clip_value_min, clip_value_max):
    if np.any(np.asarray(clip_value_min) > np.asarray(clip_value_max)):
        raise ValueError("min > max")
    return np.clip(np.asarray(t, dtype=np.float64), clip_value_min, clip_value_max)
