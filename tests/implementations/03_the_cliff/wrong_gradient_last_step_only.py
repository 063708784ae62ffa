"""Wrong: only the last step's contribution (truncated backpropagation through time, k = 1)."""

import math

import numpy as np


def loss_and_gradient(params, x0=0.5, steps=30, target=0.7):
    w, b = params
    states = [x0]
    for _ in range(steps):
        states.append(w * math.tanh(states[-1]) + b)
    delta = 2.0 * (states[-1] - target)
    if steps == 0:
        return (states[-1] - target) ** 2, np.zeros(2)
    return (states[-1] - target) ** 2, np.array([delta * math.tanh(states[-2]), delta])
