"""Wrong: passes the gradient back through w only, forgetting tanh's derivative."""

import math

import numpy as np


def loss_and_gradient(params, x0=0.5, steps=30, target=0.7):
    w, b = params
    states = [x0]
    for _ in range(steps):
        states.append(w * math.tanh(states[-1]) + b)
    delta = 2.0 * (states[-1] - target)
    grad_w = grad_b = 0.0
    for t in range(steps, 0, -1):
        grad_w += delta * math.tanh(states[t - 1])
        grad_b += delta
        delta *= w
    return (states[-1] - target) ** 2, np.array([grad_w, grad_b])
