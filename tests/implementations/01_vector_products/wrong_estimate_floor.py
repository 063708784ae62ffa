"""Wrong: floor(ln M / ln s), the last step that still fits rather than the first that does not."""

import math

import numpy as np


def estimate_steps_until_overflow(scale, dtype=np.float32):
    if not scale > 1:
        raise ValueError("scale must be > 1")
    return math.floor(math.log(float(np.finfo(dtype).max)) / math.log(float(dtype(scale))))
