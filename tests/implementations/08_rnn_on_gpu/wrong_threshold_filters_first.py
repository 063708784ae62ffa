"""Wrong: drops the non-finite values first and then the warm-up, so the warm-up skips later
steps."""

import numpy as np


def threshold_from_probe(norms, percentile=90.0, warmup=0):
    if warmup < 0 or not 0 <= percentile <= 100:
        raise ValueError("bad percentile or warmup")
    values = np.asarray(norms, dtype=float)
    values = values[np.isfinite(values)][warmup:]
    if values.size == 0:
        raise ValueError("nothing left")
    return float(np.percentile(values, percentile))
