"""Wrong: multiplies Python floats (float64), ignoring dtype's rounding and range."""


def steps_until_underflow(scale, dtype=None):
    if not 0 < scale < 1:
        raise ValueError("scale must be in (0, 1)")
    value, steps = 1.0, 0
    while value != 0:
        value *= scale
        steps += 1
    return steps
