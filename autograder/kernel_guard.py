"""An IPython extension loaded into every grading kernel: tests must not be fooled by patching.

A learner's cell can replace `numpy.allclose`, `torch.testing.assert_close`, a builtin, or
IPython's own error reporting so that failing asserts look like passing ones. After every cell
this guard compares those objects with the ones it recorded before any learner code ran; for each
one replaced it puts the original back and writes a line to the cell's stderr, for the learner
(nbgrader scores a graded cell with stderr output as 0), and reports to the grader through a
structured channel: a display_data output of its own MIME type (`GUARD_MIME`, a JSON list of what
was replaced), which the grader reads from the graded notebook to flag it for review. A module
imported later (torch, say) is recorded when it first appears; a replacement made in that same
cell is caught by where its code comes from (a notebook cell, not the library's files).

This is a tripwire, not a wall: code that runs in the kernel can also disable the guard. The
grader's static review of the submitted source (autograder.review) is the second line; the README's
threat model says what remains.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import inspect
import sys
import sysconfig
import types

GUARD_MARK = "AUTOGRADER GUARD:"  # begins the line the learner reads
# The grader's channel: {"replaced": [what, ...]} in a display_data output (no text/plain, so
# the feedback does not show it twice).
GUARD_MIME = "application/vnd.gradclip.guard+json"
# What the tests rely on, by namespace: None protects every attribute the namespace has when it is
# first seen (small, stable namespaces), a list protects those names only. Libraries rebind other
# attributes of their own modules lazily (torch._dynamo wraps torch.manual_seed, say).
COMPARISONS = ["allclose", "isclose", "equal", "array_equal", "array_equiv", "all", "any",
               "isfinite", "isnan", "isinf", "abs", "absolute", "sqrt", "max", "min", "sum",
               "asarray", "testing", "linalg", "shares_memory", "may_share_memory"]
CLIPPING = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]
PROTECTED = {
    "builtins": None, "math": None, "numpy.testing": None, "torch.testing": None,
    "numpy": COMPARISONS, "numpy.linalg": ["norm"],
    "torch": [*COMPARISONS, "nn", "autograd", "func", "is_tensor"],
    "torch.linalg": ["vector_norm", "norm", "matrix_norm"],
    "torch.nn.utils": CLIPPING, "torch.nn.utils.clip_grad": CLIPPING,
    "torch.nn.functional": ["mse_loss"], "torch.autograd": ["grad", "backward"],
    "torch.Tensor": ["__eq__", "__bool__", "allclose", "isclose", "equal", "all", "any", "item",
                     "tolist", "abs", "max", "min", "sum", "norm", "data_ptr", "backward"],
}
# What IPython and ipykernel use to report an error; replacing it can hide a failing test.
SHELL_ATTRIBUTES = ["showtraceback", "_showtraceback", "showsyntaxerror", "run_cell",
                    "run_cell_async", "run_code", "run_ast_nodes", "transform_cell",
                    "get_exception_only", "InteractiveTB", "SyntaxTB", "displayhook",
                    "display_pub", "events"]
KERNEL_ATTRIBUTES = ["do_execute", "execute_request", "send_response", "session", "iopub_socket"]
# Builtins that IPython and ipykernel themselves swap while a cell runs.
IPYTHON_BUILTINS = {"exit", "quit", "get_ipython", "display", "_", "__", "___", "input",
                    "raw_input"}
LIBRARY_ROOTS = tuple({sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib",
                                                               "platlib")})


class Guard:
    def __init__(self, shell) -> None:
        self.shell = shell
        self.stderr = sys.stderr  # learner code may replace sys.stderr; report on this one
        self.display_pub = shell.display_pub  # and the shell's publisher (checked below)
        self.recorded: dict[str, tuple[object, dict]] = {}
        self.watched: list[tuple[str, object, list[str]]] = [
            ("the IPython shell", shell, SHELL_ATTRIBUTES)]
        kernel = getattr(shell, "kernel", None)
        if kernel is not None:
            self.watched.append(("the kernel", kernel, KERNEL_ATTRIBUTES))
        self.watched_values = [{name: _holder_and_value(owner, name) for name in names}
                               for _, owner, names in self.watched]
        self.hooks = {"sys.excepthook": sys.excepthook, "sys.displayhook": sys.displayhook}
        self.record_new_modules(first_time=False)

    def record_new_modules(self, first_time: bool) -> list[str]:
        """Record protected namespaces that appeared since the last cell. Returns the names of
        their attributes that were already replaced by notebook code (first_time: in this cell)."""
        suspicious = []
        for name, names in PROTECTED.items():
            owner = _namespace(name)
            if owner is None or name in self.recorded:
                continue
            namespace = vars(owner)
            kept = {attr: namespace[attr] for attr in (names or namespace) if attr in namespace}
            self.recorded[name] = (owner, kept)
            if first_time:
                suspicious += [f"{name}.{attr}" for attr, value in kept.items()
                               if _defined_in_notebook(value)]
        return suspicious

    def check(self, result=None) -> None:
        """After each cell: restore and report whatever was replaced."""
        replaced = []
        for name, (owner, original) in self.recorded.items():
            current = vars(owner)
            for attr, value in original.items():
                if name == "builtins" and attr in IPYTHON_BUILTINS:
                    continue
                if current.get(attr, _MISSING) is not value:
                    replaced.append(f"{name}.{attr}")
                    _set(owner, attr, value)
        for (label, owner, names), values in zip(self.watched, self.watched_values, strict=True):
            for attr in names:
                holder, value = values[attr]
                if _get(owner, attr) is not value:
                    replaced.append(f"{label}'s {attr}")
                    if holder is not owner:  # it came from the class: drop the instance's own
                        vars(owner).pop(attr, None)
                    _set(holder, attr, value)
        if getattr(self.shell, "custom_exceptions", ()):
            replaced.append("the shell's exception handlers (set_custom_exc)")
            self.shell.set_custom_exc((), None)
        for hook, original in self.hooks.items():
            module, attr = hook.split(".")
            if getattr(sys, attr) is not original:
                replaced.append(hook)
                setattr(sys, attr, original)
        user_builtins = self.shell.user_ns.get("__builtins__", builtins)
        if user_builtins is not builtins and user_builtins is not vars(builtins):
            replaced.append("__builtins__")
            self.shell.user_ns["__builtins__"] = builtins
        replaced += self.record_new_modules(first_time=True)
        if replaced:
            self.stderr.write(f"{GUARD_MARK} this cell's code replaced {', '.join(replaced)}, "
                              "which the tests rely on; restored. A graded cell that does this "
                              "scores 0 and the notebook is flagged for review.\n")
            self.stderr.flush()
            self.display_pub.publish({GUARD_MIME: {"replaced": replaced}}, metadata={})


_MISSING = object()


def _namespace(name: str):
    """The imported module (or class, for "torch.Tensor") of that name, or None."""
    if name in sys.modules:
        return sys.modules[name]
    module_name, _, attr = name.rpartition(".")
    value = getattr(sys.modules.get(module_name), attr, None)
    return value if isinstance(value, type) else None


def _get(owner, name):
    """The attribute as stored: a bound method is a new object at each lookup, its function not."""
    return inspect.getattr_static(owner, name, _MISSING)


def _set(owner, name, value) -> None:
    # A read-only attribute cannot have been replaced either.
    with contextlib.suppress(AttributeError, TypeError):
        setattr(owner, name, value)


def _holder_and_value(owner, name) -> tuple[object, object]:
    """Where the attribute lives (the instance or the class that defines it), and its value."""
    if name in vars(owner):
        return owner, vars(owner)[name]
    for cls in type(owner).__mro__:
        if name in vars(cls):
            return cls, vars(cls)[name]
    return owner, _MISSING


def _defined_in_notebook(value) -> bool:
    """A function whose code does not come from an installed library or the standard library."""
    code = getattr(value, "__code__", None)
    if not isinstance(value, types.FunctionType) or code is None:
        return False
    return not code.co_filename.startswith(LIBRARY_ROOTS)


def load_ipython_extension(shell) -> None:
    # numpy is cheap to import and used by every lesson: record it before any learner code runs.
    with contextlib.suppress(ImportError):
        importlib.import_module("numpy.testing")
    guard = Guard(shell)
    shell.events.register("post_run_cell", guard.check)
