"""Wrong: v * w * n instead of v * w**n."""

import numpy as np


def repeated_product(v, w, n):
    if n < 0:
        raise ValueError("n must be >= 0")
    return np.asarray(v) * np.asarray(w) * n
