"""A correct solution written differently from the instructor's (einsum over short rows, chunks of
float64 sums, torch.sum in float64 chunks for the norm): must get full marks."""

import math

import numpy as np
import torch


def rows_sum_of_squares(array):
    # Rows of 256 values (not the instructor's 1024), their sums of squares by einsum, and the last
    # values in float64: as accurate, and no copy of the array.
    width = 256
    whole = array.size - array.size % width
    rows = array[:whole].reshape(-1, width)
    total = float(np.einsum("ij,ij->i", rows, rows).sum(dtype=np.float64))
    rest = array[whole:].astype(np.float64)  # fewer than 256 values: a copy that costs nothing
    return total + float(rest @ rest)


def fast_clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                         foreach=None):
    parameters = (parameters,) if torch.is_tensor(parameters) else tuple(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    if float(norm_type) != 2.0 or any(
            g.is_cuda or g.dtype not in (torch.float32, torch.float64) for g in grads):
        return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)
    with torch.no_grad():
        # The cascade summation of torch.sum, in chunks so the squares never fill memory.
        squares = 0.0
        for grad in grads:
            for chunk in grad.reshape(-1).split(1 << 18):
                squares += torch.sum(chunk * chunk, dtype=torch.float64).item()
        norm = math.sqrt(squares)
        if error_if_nonfinite and not math.isfinite(norm):
            raise RuntimeError("non-finite total norm")
        coefficient = max_norm / (norm + 1e-6)
        if not coefficient >= 1.0:  # also true for NaN
            for grad in grads:
                grad.mul_(coefficient)
        dtype = torch.float32
        for grad in grads:
            dtype = torch.promote_types(dtype, grad.dtype)
        return torch.tensor(norm, dtype=dtype) if grads else torch.tensor(0.0)
