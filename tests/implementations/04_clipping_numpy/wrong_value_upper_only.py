"""Wrong: clamps only from above, as if clipping were only about large values."""

import numpy as np


def clip_by_value(t, clip_value_min, clip_value_max):
    if clip_value_min > clip_value_max:
        raise ValueError("min > max")
    return np.minimum(np.asarray(t), clip_value_max)
