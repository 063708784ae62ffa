"""Wrong: np.nanpercentile leaves out NaN but not inf, so one infinite norm can be the threshold."""

import numpy as np


def threshold_from_probe(norms, percentile=90.0, warmup=0):
    if warmup < 0 or not 0 <= percentile <= 100:
        raise ValueError("bad percentile or warmup")
    values = np.asarray(norms, dtype=float)[warmup:]
    if np.isnan(values).all():
        raise ValueError("nothing left")
    return float(np.nanpercentile(values, percentile))
