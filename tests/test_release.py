"""course/ is exactly what nbgrader releases from solutions/, and gives nothing away."""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest
from helpers import COURSE, HIDDEN_BLOCK, ROOT, grade_id, source_notebook

from autograder.course import Course
from autograder.release import release

ASSIGNMENTS = COURSE.assignments()
# Metadata that says how or when a notebook was last run or edited, not what it contains.
VOLATILE_CELL_METADATA = {"execution", "collapsed", "scrolled", "jp-MarkdownHeadingCollapsed"}
SOLUTION_BLOCK = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def _comparable(notebook) -> list[dict]:
    return [{"cell_type": cell.cell_type, "source": cell.source,
             "metadata": {k: v for k, v in cell.metadata.items()
                          if k not in VOLATILE_CELL_METADATA}}
            for cell in notebook.cells]


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    """A release made now, from a copy of the course, by the same code as `make release`."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(COURSE.solutions, root / "solutions")
    fresh = Course(root)
    release(fresh)
    return fresh


def test_every_assignment_is_released():
    released = sorted(p.name for p in COURSE.released.iterdir() if p.is_dir())
    assert released == ASSIGNMENTS, "course/ and solutions/ hold different assignments"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_course_matches_a_fresh_release(fresh_release, assignment):
    fresh_folder = fresh_release.released / assignment
    committed_folder = COURSE.released / assignment
    fresh_files = sorted(p.name for p in fresh_folder.iterdir())
    assert sorted(p.name for p in committed_folder.iterdir()) == fresh_files
    for name in fresh_files:
        if not name.endswith(".ipynb"):
            assert (committed_folder / name).read_bytes() == (fresh_folder / name).read_bytes()
            continue
        fresh = nbformat.read(fresh_folder / name, as_version=4)
        committed = nbformat.read(committed_folder / name, as_version=4)
        assert _comparable(committed) == _comparable(fresh), (
            f"course/{assignment}/{name} is out of date: run `make release` and commit course/")


def _private_lines(assignment: str) -> set[str]:
    """Lines that only the instructor's copy may hold: solution and hidden-test code and answers
    of manually graded cells, minus lines that also appear in the public part of the notebook."""
    private, public = set(), set()
    for cell in source_notebook(assignment).cells:
        meta = cell.metadata.get("nbgrader", {})
        blocks = SOLUTION_BLOCK.findall(cell.source) + HIDDEN_BLOCK.findall(cell.source)
        if meta.get("solution") and cell.cell_type == "markdown":
            blocks.append(cell.source)
        public_text = HIDDEN_BLOCK.sub("", SOLUTION_BLOCK.sub("", cell.source))
        if not (meta.get("solution") and cell.cell_type == "markdown"):
            public.update(line.strip() for line in public_text.splitlines())
        for block in blocks:
            private.update(line.strip() for line in block.splitlines())
    # Short lines ("pass", "else:", "return steps") say nothing about the answer.
    return {line for line in private - public if len(line) >= 20}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_solution_or_hidden_test_leaks_into_course(assignment):
    private = _private_lines(assignment)
    assert len(private) > 10, "the leak check found almost nothing to look for"
    for path in (COURSE.released / assignment).rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "HIDDEN TESTS"):
            assert marker not in text, f"{path.relative_to(ROOT)} contains '{marker}'"
        leaked = sorted(private & _lines(path, text))
        assert not leaked, f"{path.relative_to(ROOT)} contains solution text: {leaked[:3]}"


def _lines(path, text: str) -> set[str]:
    """The stripped lines a released file shows: of every cell's source for a notebook (a
    solution line inside a longer public line, such as a commented demo, is not a leak)."""
    if path.suffix == ".ipynb":
        notebook = nbformat.reads(text, as_version=4)
        return {line.strip() for cell in notebook.cells for line in cell.source.splitlines()}
    return {line.strip() for line in text.splitlines()}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_notebooks_have_no_outputs(assignment):
    for path in (COURSE.released / assignment).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, (
                    f"{path.name}: cell {grade_id(cell)} has outputs")
