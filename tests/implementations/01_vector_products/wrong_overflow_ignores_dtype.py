"""Wrong: always simulates in float32, whatever dtype asks for."""

import numpy as np


def steps_until_overflow(scale, dtype=np.float32):
    if not scale > 1:
        raise ValueError("scale must be > 1")
    value, steps = np.float32(1), 0
    with np.errstate(over="ignore"):
        while not np.isinf(value):
            value = value * np.float32(scale)
            steps += 1
    return steps
