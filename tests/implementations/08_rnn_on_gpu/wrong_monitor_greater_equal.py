"""Wrong: flags norms equal to factor times the median (the exercise says greater than)."""

import math

import numpy as np


class SpikeMonitor:
    def __init__(self, window=50, factor=10.0):
        if window < 1 or factor <= 0:
            raise ValueError("window must be >= 1 and factor > 0")
        self.window, self.factor = window, factor
        self.history, self.spike_steps, self.seen = [], [], 0

    def update(self, norms):
        flags = []
        for value in np.asarray(norms, dtype=float).reshape(-1):
            finite = math.isfinite(value)
            full = len(self.history) == self.window
            flags.append(
                not finite or (full and value >= self.factor * float(np.median(self.history)))
            )
            if finite:
                self.history = (self.history + [value])[-self.window :]
            if flags[-1]:
                self.spike_steps.append(self.seen)
            self.seen += 1
        return np.array(flags, dtype=bool)
