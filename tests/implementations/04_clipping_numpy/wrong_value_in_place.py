"""Wrong: clips into the input array (np.clip with out=t)."""

import numpy as np


def clip_by_value(t, clip_value_min, clip_value_max):
    if clip_value_min > clip_value_max:
        raise ValueError("min > max")
    t = np.asarray(t)
    return np.clip(t, clip_value_min, clip_value_max, out=t)
