"""Wrong: hands np.percentile a fraction (0.9), as np.quantile would want: a value near the
minimum."""

import numpy as np


def threshold_from_probe(norms, percentile=90.0, warmup=0):
    if warmup < 0 or not 0 <= percentile <= 100:
        raise ValueError("bad percentile or warmup")
    values = np.asarray(norms, dtype=float)[warmup:]
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("nothing left")
    return float(np.percentile(values, percentile / 100))
