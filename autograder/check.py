"""`python -m autograder check NOTEBOOK`: a learner's own check of a notebook before handing in.

Runs a copy of the notebook top to bottom (the file itself is never written) and reports each
graded test cell: passed, failed (with the test's message), or not answered yet; and each written
answer: still empty or filled in. Only the visible tests exist in a learner's copy; the hidden
ones run when the notebook is graded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from autograder.course import AutograderError

EMPTY_ANSWER = "YOUR ANSWER HERE"


@dataclass
class CellReport:
    grade_id: str
    points: float
    outcome: str  # "passed", "failed", "not answered", "written", "empty"
    detail: str = ""


def _read(path: Path):
    import nbformat

    if not path.is_file():
        raise AutograderError(f"{path}: no such file")
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # JSON or schema errors, whatever the cause
        raise AutograderError(f"{path} is not a readable notebook: {error}") from error
    if not any(cell.metadata.get("nbgrader", {}).get("grade") for cell in notebook.cells):
        raise AutograderError(f"{path} has no graded cells: is it a course notebook?")
    return notebook


def _error_of(cell) -> tuple[str, str] | None:
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return output.ename, output.evalue
    return None


def _why_not_full(cell, score: float, points: float) -> str:
    """Why nbgrader would give a test cell less than its points: its error, its output on
    stderr (which nbgrader counts as a failure), or the partial credit it displayed."""
    error = _error_of(cell)
    if error is not None:
        return f"{error[0]}: {error[1]}"
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stderr":
            return f"wrote to stderr, which grading counts as a failure: {output.text.strip()}"
    return f"partial credit, {score:g} of {points:g}"


def check(path: Path, timeout: int = 120) -> list[CellReport]:
    """Execute a copy of the notebook at `path` and report on every graded cell."""
    from nbclient import NotebookClient
    from nbgrader.utils import determine_grade  # the verdict grading will give

    notebook = _read(path)
    # Checking needs the answers, not the full-size demonstrations.
    os.environ.setdefault("COURSE_QUICK", "1")
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    try:
        client.execute()
    except Exception as error:  # a dead kernel or a cell over the timeout
        raise AutograderError(f"{path} could not be run to the end: {error}") from error
    reports = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        grade_id, points = meta.get("grade_id", "?"), float(meta.get("points", 0))
        if cell.cell_type == "markdown":
            empty = not cell.source.strip() or cell.source.strip() == EMPTY_ANSWER
            reports.append(CellReport(grade_id, points, "empty" if empty else "written"))
            continue
        score, _ = determine_grade(cell)
        error = _error_of(cell)
        if score == points:
            reports.append(CellReport(grade_id, points, "passed"))
        elif error is not None and error[0] == "NotImplementedError":
            reports.append(CellReport(grade_id, points, "not answered"))
        else:
            reports.append(CellReport(grade_id, points, "failed",
                                      _why_not_full(cell, score, points)))
    return reports


SYMBOLS = {"passed": "✓", "failed": "✗", "not answered": "·", "written": "✍", "empty": "✍"}
EXPLANATIONS = {
    "passed": "visible tests pass",
    "not answered": "not answered yet (raise NotImplementedError is still there)",
    "written": "written answer, graded by your instructor",
    "empty": "written answer still empty",
}


def format_report(path: Path, reports: list[CellReport]) -> str:
    width = max(len(report.grade_id) for report in reports)
    lines = [f"Checking {path} (visible tests only; hidden tests run when it is graded)"]
    for report in reports:
        detail = report.detail if report.outcome == "failed" else EXPLANATIONS[report.outcome]
        first_line = detail.splitlines()[0] if detail else ""
        lines.append(f"  {SYMBOLS[report.outcome]} {report.grade_id:<{width}}  "
                     f"{report.points:g} pt  {first_line}")
    tests = [report for report in reports if report.outcome in ("passed", "failed", "not answered")]
    passed = sum(report.outcome == "passed" for report in tests)
    lines.append(f"{passed} of {len(tests)} test cells pass.")
    if any(report.outcome == "empty" for report in reports):
        lines.append("Write the empty answers before you hand in.")
    return "\n".join(lines)


def all_passed(reports: list[CellReport]) -> bool:
    return all(report.outcome in ("passed", "written") for report in reports)
