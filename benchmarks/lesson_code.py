"""Load a lesson's solution code from its source notebook, so benchmarks measure exactly what the
course teaches (one copy of the code: the notebook)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.course import Course

ROOT = Path(__file__).resolve().parent.parent


def load_cells(assignment: str, cell_ids: list[str]) -> dict:
    """Execute the code cells with these ids (in this order) and return their namespace."""
    course = Course(ROOT)
    (name,) = course.notebooks(assignment)
    notebook = nbformat.read(course.solutions / assignment / name, as_version=4)
    cells = {cell.get("id"): cell for cell in notebook.cells if cell.cell_type == "code"}
    missing = [cell_id for cell_id in cell_ids if cell_id not in cells]
    if missing:
        raise SystemExit(f"{assignment}/{name} has no code cell with id {', '.join(missing)}")
    namespace: dict = {"__name__": f"lesson_{assignment}"}
    for cell_id in cell_ids:
        exec(compile(cells[cell_id].source, f"{name}#{cell_id}", "exec"), namespace)  # noqa: S102
    return namespace
