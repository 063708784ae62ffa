"""A correct solution written differently from the instructor's: must get full marks."""

import math

import numpy as np


def elementwise_product(a, b):
    left, right = np.array(a, copy=True), np.array(b, copy=True)
    if np.shape(left) != np.shape(right):
        raise ValueError(f"cannot multiply shape {np.shape(left)} by shape {np.shape(right)}")
    out = np.empty(left.shape, dtype=np.result_type(left, right))
    np.multiply(left, right, out=out)
    return out


def repeated_product(v, w, n):
    if n < 0:
        raise ValueError("negative n")
    if n == 0:
        return np.array(v, copy=True)
    return elementwise_product(repeated_product(v, w, n - 1), w)


def steps_until_overflow(scale, dtype=np.float32):
    if not scale > 1 or not dtype(scale) > 1:
        raise ValueError("scale must be above one")
    values = [dtype(1)]
    with np.errstate(over="ignore"):
        while math.isfinite(values[-1]):
            values.append(dtype(values[-1] * dtype(scale)))
    return len(values) - 1


def steps_until_underflow(scale, dtype=np.float32):
    if scale <= 0 or scale >= 1 or math.isnan(scale):
        raise ValueError("scale must be strictly between zero and one")
    value, count = dtype(1), 0
    while value:
        previous, value = value, dtype(value * dtype(scale))
        count += 1
        if value == previous:
            return None
    return count


def estimate_steps_until_overflow(scale, dtype=np.float32):
    if not scale > 1 or not dtype(scale) > 1:
        raise ValueError("scale must be above one")
    log_max = np.log(np.float64(np.finfo(dtype).max))
    log_scale = np.log(np.float64(dtype(scale)))
    return int(log_max // log_scale) + 1
