"""Static review of what a learner wrote: code that could fool the tests is flagged, not graded.

The kernel guard (autograder.kernel_guard) catches replaced functions while the notebook runs; but
code in the kernel can also switch the guard off. This review reads the learner's own cells (the
solution cells and cells they added; nbgrader restores all others from the source) outside the
sandbox, where nothing can tamper with it, and lists constructs that a clipping exercise never
needs: assigning to attributes of the testing libraries, reaching the interpreter's or IPython's
internals, running generated code. A flag does not change the score; it asks the instructor to look.
"""

from __future__ import annotations

import ast
import re

# Modules whose attributes learner code must not assign to.
TESTED_MODULES = {"numpy", "torch", "math", "builtins", "sys", "unittest", "pytest", "nbgrader",
                  "IPython", "ipykernel", "autograder"}
# Names that reach interpreter internals or run generated code, and why each is suspicious.
SUSPICIOUS_NAMES = {
    "__builtins__": "touches __builtins__",
    "get_ipython": "reaches IPython's shell (it could hide a failing test)",
    "setattr": "setattr() can replace library functions",
    "delattr": "delattr() can remove library functions",
    "exec": "runs generated code (exec)",
    "eval": "runs generated code (eval)",
    "compile": "compiles generated code",
    "__import__": "imports by a computed name",
    "importlib": "imports by a computed name",
    "ctypes": "uses ctypes",
    "gc": "walks the garbage collector's objects",
    "inspect": "inspects stack frames",
    "kernel_guard": "touches the autograder's guard",
}
SUSPICIOUS_ATTRIBUTES = {"modules": "sys.modules", "_getframe": "sys._getframe",
                         "settrace": "sys.settrace", "setprofile": "sys.setprofile",
                         "excepthook": "sys.excepthook", "__code__": "a function's __code__",
                         "__globals__": "a function's __globals__", "f_back": "stack frames",
                         "f_globals": "stack frames", "f_locals": "stack frames"}


def learner_sources(notebook) -> list[str]:
    """The source of the code cells the learner wrote: solution cells and cells they added."""
    sources = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta or meta.get("solution"):
            sources.append(cell.source)
    return sources


def review(notebook) -> list[str]:
    """Reasons to look at this notebook by hand (empty when nothing is suspicious)."""
    findings: list[str] = []
    for source in learner_sources(notebook):
        for finding in review_source(source):
            if finding not in findings:
                findings.append(finding)
    return findings


def review_source(source: str) -> list[str]:
    # IPython's magics and shell escapes are not Python: blank them out before parsing.
    python = re.sub(r"(?m)^\s*[%!].*$", "", source)
    try:
        tree = ast.parse(python)
    except SyntaxError:
        return []  # a syntax error only costs the learner points; nothing runs
    aliases = _module_aliases(tree)
    findings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in SUSPICIOUS_NAMES:
            findings.append(SUSPICIOUS_NAMES[node.id])
        elif isinstance(node, ast.Attribute) and node.attr in SUSPICIOUS_ATTRIBUTES:
            findings.append(f"uses {SUSPICIOUS_ATTRIBUTES[node.attr]}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.name for alias in node.names]
            module = getattr(node, "module", None) or ""
            for name in [module, *names]:
                if name.split(".")[0] in SUSPICIOUS_NAMES:
                    findings.append(SUSPICIOUS_NAMES[name.split(".")[0]])
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                module = _assigned_module(target, aliases)
                if module:
                    findings.append(f"assigns to {module} (replacing a library function)")
    return list(dict.fromkeys(findings))


def _module_aliases(tree: ast.AST) -> dict[str, str]:
    """Local names bound to the tested modules: `import numpy as np` gives {'np': 'numpy'}."""
    aliases = {name: name for name in TESTED_MODULES}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root in TESTED_MODULES:
                    aliases[alias.asname or root] = alias.name if alias.asname else root
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            if root in TESTED_MODULES:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _assigned_module(target: ast.AST, aliases: dict[str, str]) -> str | None:
    """`np.testing.assert_allclose = ...` -> 'numpy.testing.assert_allclose'; None otherwise."""
    if not isinstance(target, (ast.Attribute, ast.Subscript)):
        return None
    parts = []
    node = target
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in aliases:
        return ".".join([aliases[node.id], *reversed(parts)])
    return None
