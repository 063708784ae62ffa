"""Wrong: checks nothing: a negative warm-up counts from the end, and an empty probe gives nan."""

import numpy as np


def threshold_from_probe(norms, percentile=90.0, warmup=0):
    values = np.asarray(norms, dtype=float)[warmup:]
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan")
    return float(np.percentile(values, np.clip(percentile, 0, 100)))
