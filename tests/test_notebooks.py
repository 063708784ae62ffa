"""The source notebooks follow the course's conventions (nbgrader metadata, points, links)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest
from helpers import COURSE, ROOT, source_notebook

ASSIGNMENTS = COURSE.assignments()
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _cells(assignment):
    return source_notebook(assignment).cells


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grade_ids_are_unique_and_graded_cells_have_points(assignment):
    ids = [c.metadata["nbgrader"]["grade_id"] for c in _cells(assignment)
           if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), f"duplicate grade_id in {assignment}"
    for cell in _cells(assignment):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            assert meta.get("points", 0) > 0, f"{meta['grade_id']} is graded but has no points"
            assert re.fullmatch(r"[a-z][a-z0-9_]*", meta["grade_id"]), meta["grade_id"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_autograded_answer_has_its_test_cell(assignment):
    ids = {c.metadata["nbgrader"]["grade_id"] for c in _cells(assignment)
           if "nbgrader" in c.metadata}
    for cell in _cells(assignment):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            assert f"test_{meta['grade_id']}" in ids, f"{meta['grade_id']} has no test cell"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_first_cell_states_the_total_points(assignment):
    cells = _cells(assignment)
    total = sum(c.metadata["nbgrader"].get("points", 0) for c in cells
                if c.metadata.get("nbgrader", {}).get("grade"))
    first = cells[0]
    assert first.cell_type == "markdown"
    stated = re.search(r"Points: (\d+) in total", first.source)
    assert stated, "the first cell should say 'Points: N in total'"
    assert int(stated.group(1)) == total, (
        f"the first cell says {stated.group(1)} points, the graded cells add up to {total}")


def _notebooks_everywhere():
    return sorted(ROOT.glob("solutions/*/*.ipynb")) + sorted(ROOT.glob("course/*/*.ipynb"))


@pytest.mark.parametrize("path", _notebooks_everywhere(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        for target in LINK.findall(cell.source):
            url = urlparse(target)
            if url.scheme or target.startswith("#"):
                continue
            assert (path.parent / unquote(url.path)).exists(), f"{path.name}: broken link {target}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_notebooks_are_stored_with_outputs(assignment):
    code_cells = [c for c in _cells(assignment) if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code_cells), (
        "store solutions/ executed (`make outputs`) so instructors can read the results")
    for cell in code_cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{cell.metadata.get('nbgrader', {}).get('grade_id')} stored an error"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_test_cells_display_no_value(assignment):
    """nbgrader takes a number that a test cell displays (its last expression) as partial credit,
    so a helper that returns, say, a duration must not end a test cell."""
    for cell in _cells(assignment):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            results = [o for o in cell.outputs if o.output_type == "execute_result"]
            assert not results, f"{meta['grade_id']} displays a value: {results[0].get('data')}"
