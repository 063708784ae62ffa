"""Shared helpers of the test suite: the course's paths, notebook surgery, running the CLI."""

from __future__ import annotations

import ast
import csv
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course(ROOT)
IMPLEMENTATIONS = Path(__file__).resolve().parent / "implementations"
SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    (name,) = COURSE.notebooks(assignment)
    return nbformat.read(COURSE.solutions / assignment / name, as_version=4)


def released_notebook(assignment: str) -> nbformat.NotebookNode:
    (name,) = COURSE.notebooks(assignment)
    return nbformat.read(COURSE.released / assignment / name, as_version=4)


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solution_code(assignment: str) -> dict[str, str]:
    """grade_id -> the instructor's solution code, markers removed, for every autograded answer."""
    code = {}
    for cell in source_notebook(assignment).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            lines = [line for line in cell.source.splitlines() if not SOLUTION_MARKERS.match(line)]
            code[meta["grade_id"]] = "\n".join(lines)
    return code


HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def hidden_test_lines(assignment: str, shortest: int = 20) -> set[str]:
    """The stripped lines only the hidden tests of `assignment` hold (none of the notebook's
    public text has them), at least `shortest` characters long ("else:" names nothing)."""
    hidden, public = set(), set()
    for cell in source_notebook(assignment).cells:
        for block in HIDDEN_BLOCK.findall(cell.source):
            hidden.update(line.strip() for line in block.splitlines())
        public.update(line.strip() for line in HIDDEN_BLOCK.sub("", cell.source).splitlines())
    return {line for line in hidden - public if len(line) >= shortest}


def html_text(html: str) -> str:
    """What a page shows as text: its tags removed, its entities decoded."""
    import html as html_module

    return html_module.unescape(re.sub(r"<[^>]+>", "", html))


def answer_id(name: str) -> str:
    """The grade_id of the answer cell that defines `name`: a function's own name, a class's in
    snake_case (grade ids are lower case: SpikeMonitor is answered in cell spike_monitor)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def implementation_code(path: Path) -> dict[str, str]:
    """answer_id of each function or class -> cell source (the imports + that definition)."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    imports = [ast.get_source_segment(text, node) for node in tree.body
               if isinstance(node, ast.Import | ast.ImportFrom)]
    header = "\n".join(imports)
    return {answer_id(node.name): f"{header}\n\n\n{ast.get_source_segment(text, node)}".strip()
            for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}


def filled_notebook(assignment: str, code: dict[str, str],
                    answers: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The released notebook with the answer cells named in `code`/`answers` replaced."""
    notebook = released_notebook(assignment)
    answers = answers or {}
    unknown = (set(code) | set(answers)) - {grade_id(cell) for cell in notebook.cells}
    assert not unknown, f"no answer cell with grade_id {sorted(unknown)} in {assignment}"
    for cell in notebook.cells:
        replacement = code.get(grade_id(cell)) or answers.get(grade_id(cell))
        if replacement is not None:
            cell.source = replacement
    return notebook


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_autograder(*args: str, cwd: Path = ROOT, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def read_grades(path: Path) -> dict[str, dict[str, str]]:
    """grades.csv as {student_id: row}."""
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


def chromium():
    """Debian's Chromium driven by Playwright (a generator for a pytest fixture). Without it the
    tests that need it skip, except under CI=true, where a missing browser is a failure."""
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests, but there is {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def disguised(code: str) -> str:
    """`code` as a learner who copied it would hand it in: every argument and local variable
    renamed, the layout redone (ast.unparse), and a comment above each definition. The names of
    functions and classes stay: the tests call them."""
    tree = ast.parse(code)
    bound = {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    bound |= {node.id for node in ast.walk(tree)
              if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    defined = {node.name for node in ast.walk(tree)
               if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    renamed = {name: f"my_{name}_{index}" for index, name in enumerate(sorted(bound - defined))}

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node):
            node.id = renamed.get(node.id, node.id)
            return node

        def visit_arg(self, node):
            node.arg = renamed.get(node.arg, node.arg)
            return node

        def visit_keyword(self, node):  # a call's keyword names the callee's argument: kept
            node.value = self.visit(node.value)
            return node

    lines = ast.unparse(Rename().visit(tree)).splitlines()
    return "\n".join(f"# my own take on this one\n{line}" if line.startswith(("def ", "class "))
                     else line for line in lines)
