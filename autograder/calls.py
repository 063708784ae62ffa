"""Which library functions a learner's function calls: the hidden tests' check that an exercise
was rebuilt, not delegated to the library function it rebuilds.

    from autograder.calls import calls_into
    result, used = calls_into([torch.nn.utils.clip_grad.__file__], get_total_norm, grads)
    assert not used, f"get_total_norm called {used}"

It watches the call itself (`sys.setprofile`), not the source text, so an alias
(`from torch.nn.utils import clip_grad_norm_ as c`), a reference taken before the call, or a
helper function in between is seen too. Every lesson uses this one mechanism.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any


def calls_into(places: Iterable[str], function: Callable, *args: Any,
               **kwargs: Any) -> tuple[Any, list[str]]:
    """Run function(*args, **kwargs); return its result and the sorted names of what it called,
    directly or through other functions, that lives in `places`.

    A place is the path of a Python file or folder (a Python function whose file starts with it),
    or a module name (a builtin such as `torch.matmul` whose `__module__`, or whose bound object's
    type's module, is that module or inside it). Raises AssertionError if the function switched
    the recorder off, since then nothing it called afterwards could be seen.
    """
    places = tuple(places)
    paths = tuple(place for place in places if "/" in place or "\\" in place)
    modules = tuple(place for place in places if place not in paths)
    found: set[str] = set()

    def record(frame, event, arg) -> None:
        if event == "call" and paths and frame.f_code.co_filename.startswith(paths):
            found.add(frame.f_code.co_qualname)
        elif event == "c_call" and modules:
            owner = getattr(arg, "__self__", None)
            module = getattr(arg, "__module__", None) or type(owner).__module__ or ""
            if any(module == name or module.startswith(name + ".") for name in modules):
                found.add(f"{module}.{getattr(arg, '__name__', '?')}")

    previous = sys.getprofile()
    sys.setprofile(record)
    try:
        result = function(*args, **kwargs)
    finally:
        still_recording = sys.getprofile() is record
        sys.setprofile(previous)
    if not still_recording:
        raise AssertionError(f"{getattr(function, '__name__', function)} switched off the "
                             "recording of its calls (sys.setprofile), so it cannot be checked")
    return result, sorted(found)
