"""Wrong: np.clip without checking clip_value_min <= clip_value_max (NumPy does not complain)."""

import numpy as np


def clip_by_value(t, clip_value_min, clip_value_max):
    return np.clip(np.asarray(t), clip_value_min, clip_value_max)
