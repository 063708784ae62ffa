"""Wrong: takes the percentile of the whole probe, the first steps' unusual norms included."""

import numpy as np


def threshold_from_probe(norms, percentile=90.0, warmup=0):
    if warmup < 0 or not 0 <= percentile <= 100:
        raise ValueError("bad percentile or warmup")
    values = np.asarray(norms, dtype=float)
    values = values[np.isfinite(values)]
    if values.size <= warmup:
        raise ValueError("nothing left")
    return float(np.percentile(values, percentile))
