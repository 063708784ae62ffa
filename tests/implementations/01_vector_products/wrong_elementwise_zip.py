"""Wrong: a list comprehension over zip(), which returns a list and silently truncates."""


def elementwise_product(a, b):
    return [x * y for x, y in zip(a, b, strict=False)]
