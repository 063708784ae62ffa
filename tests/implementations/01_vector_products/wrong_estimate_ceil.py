"""Wrong: ceil(ln M / ln s), which stops one step early when the ratio is a whole number."""

import math

import numpy as np


def estimate_steps_until_overflow(scale, dtype=np.float32):
    if not scale > 1 or not dtype(scale) > 1:
        raise ValueError("scale must be > 1")
    return math.ceil(math.log(float(np.finfo(dtype).max)) / math.log(float(dtype(scale))))
