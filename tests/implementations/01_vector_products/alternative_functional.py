"""Another correct solution: reduce(), itertools and NumPy's own log; must get full marks."""

import functools
import itertools

import numpy as np


def elementwise_product(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"{a.shape} != {b.shape}")
    return a * b


def repeated_product(v, w, n):
    if n < 0:
        raise ValueError(f"cannot multiply {n} times")
    return functools.reduce(lambda acc, _: elementwise_product(acc, w), range(n), np.array(v))


def steps_until_overflow(scale, dtype=np.float32):
    factor = dtype(scale)
    if not scale > 1 or factor == 1:
        raise ValueError(f"{scale} does not grow in {dtype}")
    value = dtype(1)
    with np.errstate(over="ignore"):
        for step in itertools.count(1):
            value = dtype(value * factor)
            if np.isinf(value):
                return step


def steps_until_underflow(scale, dtype=np.float32):
    if not (0 < scale < 1):
        raise ValueError(f"{scale} is not in (0, 1)")
    factor, value = dtype(scale), dtype(1)
    for step in itertools.count(1):
        new_value = dtype(value * factor)
        if new_value == 0:
            return step
        if new_value == value:
            return None
        value = new_value


def estimate_steps_until_overflow(scale, dtype=np.float32):
    factor = dtype(scale)
    if not scale > 1 or not factor > 1:
        raise ValueError(f"{scale} does not grow in {dtype}")
    ratio = np.log(np.float64(np.finfo(dtype).max)) / np.log(np.float64(factor))
    return int(np.floor(ratio)) + 1
