"""Wrong: does not skip None entries (np.asarray(None) ** 2 raises TypeError)."""

import math

import numpy as np


def global_norm(t_list):
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list must be a list or tuple")
    return math.sqrt(sum(float(np.sum(np.asarray(t, dtype=float) ** 2)) for t in t_list))
