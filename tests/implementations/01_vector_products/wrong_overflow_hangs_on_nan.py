"""Wrong: `scale <= 1` lets NaN through, and a NaN product never becomes inf: the loop never ends.

The test cell's time limit must turn this into lost points, not a notebook that never finishes.
"""

import numpy as np


def steps_until_overflow(scale, dtype=np.float32):
    if scale <= 1:
        raise ValueError("scale must be > 1")
    value, steps = dtype(1), 0
    with np.errstate(over="ignore", invalid="ignore"):
        while not np.isinf(value):
            value = value * dtype(scale)
            steps += 1
    return steps
