"""Wrong: overwrites the non-finite values of the caller's array with zeros, then sorts it in
place."""

import numpy as np


def threshold_from_probe(norms, percentile=90.0, warmup=0):
    if warmup < 0 or not 0 <= percentile <= 100:
        raise ValueError("bad percentile or warmup")
    values = np.asarray(norms, dtype=float)
    bad = ~np.isfinite(values)
    values[bad] = 0.0
    kept = values[warmup:][~bad[warmup:]]
    if kept.size == 0:
        raise ValueError("nothing left")
    kept.sort()
    values[warmup:warmup + kept.size] = kept
    return float(np.percentile(kept, percentile))
