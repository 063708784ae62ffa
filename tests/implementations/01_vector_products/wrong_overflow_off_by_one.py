"""Wrong: returns the last finite step instead of the first infinite one."""

import numpy as np


def steps_until_overflow(scale, dtype=np.float32):
    if not scale > 1 or not dtype(scale) > 1:
        raise ValueError("scale must be > 1")
    value, steps = dtype(1), 0
    with np.errstate(over="ignore"):
        while not np.isinf(value * dtype(scale)):
            value = value * dtype(scale)
            steps += 1
    return steps
