"""A correct solution written differently from the instructor's: must get full marks."""

import math

import numpy as np


def clip_by_value(t, clip_value_min, clip_value_max):
    array = np.array(t, copy=True)
    if (np.asarray(clip_value_min) > np.asarray(clip_value_max)).any():
        raise ValueError("min above max")
    below = array < clip_value_min
    above = array > clip_value_max
    result = np.where(below, clip_value_min, np.where(above, clip_value_max, array))
    return result.astype(array.dtype)


def vector_norm(x, ord=2):
    if not (ord == math.inf or (isinstance(ord, (int, float)) and ord >= 1)):
        raise ValueError("not a norm")
    flat = np.ravel(np.asarray(x, dtype=float))
    return np.linalg.norm(flat, ord=ord) if flat.size else 0.0


def clip_by_norm(t, clip_norm, axes=None):
    if clip_norm < 0:
        raise ValueError("negative clip_norm")
    array = np.asarray(t)
    axis = axes if axes is None or np.isscalar(axes) else tuple(axes)
    norms = np.sqrt((array.astype(np.float64) ** 2).sum(axis=axis, keepdims=True))
    factor = clip_norm / np.maximum(norms, clip_norm)
    return (array * factor).astype(array.dtype)


def global_norm(t_list):
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list must be a list or a tuple")
    pieces = [np.ravel(t).astype(np.float64) for t in t_list if t is not None]
    return float(np.linalg.norm(np.concatenate(pieces))) if pieces else 0.0


def clip_by_global_norm(t_list, clip_norm, use_norm=None):
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("t_list must be a list or a tuple")
    norm = global_norm(t_list) if use_norm is None else use_norm
    with np.errstate(divide="ignore", invalid="ignore"):
        # TensorFlow's own formulation: (norm - norm) is NaN exactly when norm is inf or NaN.
        scale = clip_norm * min(np.float64(1.0) / norm, 1.0 / clip_norm) + (norm - norm)
    return [None if t is None else (t * scale).astype(t.dtype) for t in t_list], norm
