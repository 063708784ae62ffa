"""Wrong: picks the nearest sorted value instead of interpolating linearly between the two around
it."""

import numpy as np


def threshold_from_probe(norms, percentile=90.0, warmup=0):
    if warmup < 0 or not 0 <= percentile <= 100:
        raise ValueError("bad percentile or warmup")
    values = np.asarray(norms, dtype=float)[warmup:]
    values = np.sort(values[np.isfinite(values)])
    if values.size == 0:
        raise ValueError("nothing left")
    return float(values[round((values.size - 1) * percentile / 100)])
