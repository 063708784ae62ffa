"""Wrong for this exercise: the right norms, from PyTorch's autograd instead of backpropagation
through time by hand, with torch imported under another name (a check of the source text for
`torch.` would not see it; the check of what the function calls does)."""

import importlib

import numpy as np


def tanh_rnn_gradient_norms(W, U, xs, h0, grad_T):
    engine = importlib.import_module("tor" + "ch")
    W_t, U_t = engine.tensor(np.asarray(W, dtype=float)), engine.tensor(np.asarray(U, dtype=float))
    h = engine.tensor(np.asarray(h0, dtype=float), requires_grad=True)
    states = [h]
    for x in np.asarray(xs, dtype=float):
        states.append(engine.tanh(W_t @ states[-1] + U_t @ engine.tensor(x)))
    for state in states:
        state.retain_grad()
    (states[-1] @ engine.tensor(np.asarray(grad_T, dtype=float))).backward()
    return np.array([float(state.grad.norm()) for state in reversed(states)])
