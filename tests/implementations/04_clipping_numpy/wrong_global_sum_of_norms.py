"""Wrong: adds the norms instead of the squared norms."""

import numpy as np


def global_norm(t_list):
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list must be a list or tuple")
    return float(sum(np.linalg.norm(np.ravel(t)) for t in t_list if t is not None))
