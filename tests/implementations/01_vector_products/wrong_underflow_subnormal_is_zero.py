"""Wrong: stops at the smallest normal number, treating subnormals as zero."""

import numpy as np


def steps_until_underflow(scale, dtype=np.float32):
    if not 0 < scale < 1:
        raise ValueError("scale must be in (0, 1)")
    value, steps = dtype(1), 0
    while value >= np.finfo(dtype).tiny:
        value = value * dtype(scale)
        steps += 1
    return steps
