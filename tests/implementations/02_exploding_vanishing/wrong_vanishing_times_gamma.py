"""Wrong: compares with gamma instead of 1 / gamma."""


def vanishing_guaranteed(W, gamma=1.0):
    return bool(largest_singular_value(W) < gamma)
