"""Another correct solution: TensorFlow 2's own implementations, transcribed to NumPy."""

import collections.abc

import numpy as np


def clip_by_value(t, clip_value_min, clip_value_max):
    t = np.asarray(t)
    if np.any(np.greater(clip_value_min, clip_value_max)):
        raise ValueError("clip_value_min must be <= clip_value_max")
    t_min = np.minimum(t, clip_value_max)
    return np.maximum(t_min, clip_value_min).astype(t.dtype)


def vector_norm(x, ord=2):
    if not (ord == np.inf or ord >= 1):
        raise ValueError(f"invalid ord {ord}")
    x = np.abs(np.asarray(x, dtype=np.float64))
    if ord == np.inf:
        return float(x.max()) if x.size else 0.0
    return float(np.power(np.sum(np.power(x, ord)), 1.0 / ord))


def clip_by_norm(t, clip_norm, axes=None):
    if clip_norm < 0:
        raise ValueError("clip_norm should be a 0-D (scalar) Tensor > 0")
    t = np.asarray(t)
    axis = None if axes is None else tuple(np.atleast_1d(axes).tolist())
    l2sum = np.sum(t * t, axis=axis, keepdims=True)
    pred = l2sum > 0
    l2sum_safe = np.where(pred, l2sum, np.ones_like(l2sum))
    l2norm = np.where(pred, np.sqrt(l2sum_safe), l2sum)
    intermediate = t * np.asarray(clip_norm, dtype=t.dtype)
    return (intermediate / np.maximum(l2norm, np.asarray(clip_norm, dtype=t.dtype))).astype(t.dtype)


def global_norm(t_list):
    if not isinstance(t_list, collections.abc.Sequence) or isinstance(t_list, str):
        raise TypeError("t_list should be a sequence")
    half_squared_norms = [np.sum(np.square(np.asarray(t, dtype=np.float64))) / 2.0
                          for t in t_list if t is not None]
    return float(np.sqrt(np.sum(half_squared_norms) * 2.0))


def clip_by_global_norm(t_list, clip_norm, use_norm=None):
    if not isinstance(t_list, collections.abc.Sequence) or isinstance(t_list, str):
        raise TypeError("t_list should be a sequence")
    if use_norm is None:
        use_norm = global_norm(t_list)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale_for_finite = clip_norm * np.minimum(1.0 / np.float64(use_norm), 1.0 / clip_norm)
        scale = scale_for_finite + (np.float64(use_norm) - use_norm)  # NaN if not finite
    values_clipped = [None if t is None else (np.asarray(t) * scale).astype(np.asarray(t).dtype)
                      for t in t_list]
    return values_clipped, use_norm
