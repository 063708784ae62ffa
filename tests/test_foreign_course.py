"""Any nbgrader course: `--course-root` on a course laid out as nbgrader ships it.

The course is made here: nbgrader's default folders (source/, release/), one assignment of two
notebooks with an image and a data file beside them, a written answer graded by hand, and
notebooks of nbformat 4.4, which have no cell ids (older Jupyter and Colab write them). Its
release is made by plain `nbgrader generate_assignment`; the same hand-ins are graded by the
autograder and by plain `nbgrader autograde`, and the scores must agree cell by cell.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from helpers import run_autograder

from autograder.course import nbgrader_env

pytestmark = pytest.mark.slow

ASSIGNMENT = "ps1"
CONFIG = 'c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = "physics101"\n'
DATA = "3\n4\n5\n"


def _png(width: int, height: int) -> bytes:
    """A grey PNG image (the lesson reads its width from the file beside the notebook)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _code(source: str, **nbgrader) -> dict:
    return _cell("code", source, nbgrader)


def _cell(kind: str, source: str, nbgrader: dict) -> dict:
    cell = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    if nbgrader:
        cell["metadata"]["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False,
                                        "grade": False, "task": False, **nbgrader}
    return cell


def _answer(grade_id: str, body: str) -> dict:
    return _code(f"### BEGIN SOLUTION\n{body}\n### END SOLUTION", grade_id=grade_id,
                 solution=True)


def _test(grade_id: str, points: int, visible: str, hidden: str) -> dict:
    return _code(f"{visible}\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS",
                 grade_id=grade_id, grade=True, locked=True, points=points)


NOTEBOOKS = {
    "problem1.ipynb": [
        _cell("markdown", "# Problem set 1, part 1", {}),
        _answer("square", "def square(x):\n    return x * x"),
        _test("test_square", 2, "assert square(3) == 9, 'square(3) should be 9'",
              "assert square(-4) == 16, 'square(-4) should be 16'"),
        _answer("total", "def total():\n"
                         "    return sum(int(v) for v in open('data.csv').read().split())"),
        _test("test_total", 1, "assert isinstance(total(), int), 'total() returns an int'",
              "assert total() == 12, 'data.csv sums to 12'"),
    ],
    "problem2.ipynb": [
        _cell("markdown", "# Part 2: the figure beside this notebook", {}),
        _answer("png_width", "def png_width(path):\n"
                             "    return int.from_bytes(open(path, 'rb').read()[16:20], 'big')"),
        _test("test_png_width", 2, "assert png_width('figure.png') > 0, 'a width is positive'",
              "assert png_width('figure.png') == 3, 'figure.png is 3 pixels wide'"),
        _cell("markdown", "Explain in a sentence why the width is in bytes 16 to 20.",
              {"grade_id": "explain_width", "solution": True, "grade": True, "points": 2}),
    ],
}
WRONG_SQUARE = "def square(x):\n    return x * 2"  # passes nothing: square(3) == 6
WRITTEN = "The IHDR chunk comes after the 8-byte signature and its 8-byte header."


def _write_old_notebook(cells: list[dict], path: Path) -> None:
    """A notebook of nbformat 4.4: no cell ids, as nbformat.write would add them."""
    notebook = {"cells": cells, "metadata": {"kernelspec": {"name": "python3",
                                                            "display_name": "Python 3",
                                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 4}
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")


def _strip_ids(path: Path, target: Path, answers: dict[str, str]) -> None:
    """A learner's hand-in: the released notebook, `answers` filled in, saved as nbformat 4.4."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        cell.pop("id", None)
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    notebook["nbformat_minor"] = 4
    target.write_text(json.dumps(notebook, indent=1), encoding="utf-8")


def _nbgrader(args: list[str], cwd: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd,
                            env=nbgrader_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"nbgrader {args}: {result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("foreign") / "course"
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(CONFIG, encoding="utf-8")
    for name, cells in NOTEBOOKS.items():
        _write_old_notebook(cells, source / name)
    (source / "figure.png").write_bytes(_png(3, 2))
    (source / "data.csv").write_text(DATA, encoding="utf-8")
    _nbgrader(["generate_assignment", ASSIGNMENT, "--create", "--force"], root)
    return root


@pytest.fixture(scope="module")
def hand_ins(course, tmp_path_factory) -> Path:
    """ada: every answer right; bob: square wrong, a written answer; cy: the release unchanged."""
    submissions = tmp_path_factory.mktemp("hand_ins")
    solutions = {cell["metadata"]["nbgrader"]["grade_id"]: cell["source"]
                 for cells in NOTEBOOKS.values() for cell in cells
                 if cell.get("metadata", {}).get("nbgrader", {}).get("solution")}
    learners = {"ada": {**solutions, "explain_width": WRITTEN},
                "bob": {**solutions, "square": WRONG_SQUARE, "explain_width": WRITTEN},
                "cy": {}}
    for learner, answers in learners.items():
        folder = submissions / learner
        folder.mkdir()
        for name in NOTEBOOKS:
            _strip_ids(course / "release" / ASSIGNMENT / name, folder / name, answers)
        assert "id" not in json.loads((folder / "problem1.ipynb").read_text())["cells"][0]
    return submissions


def _nbgrader_scores(course: Path, hand_ins: Path, base: Path) -> dict[tuple[str, str], float]:
    """{(learner, grade_id): score} from plain `nbgrader autograde` on a copy of the course."""
    from nbgrader.api import Gradebook

    copy = base / "course"
    shutil.copytree(course, copy)
    for learner in hand_ins.iterdir():
        shutil.copytree(learner, copy / "submitted" / learner.name / ASSIGNMENT)
    _nbgrader(["autograde", ASSIGNMENT], copy)
    scores = {}
    with Gradebook(f"sqlite:///{copy / 'gradebook.db'}") as gradebook:
        for learner in hand_ins.iterdir():
            for name in NOTEBOOKS:
                notebook = gradebook.find_submission_notebook(
                    name.removesuffix(".ipynb"), ASSIGNMENT, learner.name)
                for grade in notebook.grades:
                    scores[(learner.name, grade.name)] = (
                        None if grade.needs_manual_grade else float(grade.score))
    return scores


def test_a_foreign_course_without_cell_ids_scores_as_plain_nbgrader(course, hand_ins, tmp_path):
    out = tmp_path / "out"
    result = run_autograder("--course-root", str(course), "grade", ASSIGNMENT, str(hand_ins),
                            "--out", str(out))
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    rows = {(row["student_id"], row["notebook"]): row
            for row in _read_rows(out / "grades.csv")}
    assert len(rows) == 3 * len(NOTEBOOKS), sorted(rows)
    graded_cells = {name: [cell["metadata"]["nbgrader"]["grade_id"] for cell in cells
                           if cell["metadata"].get("nbgrader", {}).get("grade")]
                    for name, cells in NOTEBOOKS.items()}
    ours = {(learner, cell): float(row[cell]) if row[cell] else None
            for (learner, name), row in rows.items() for cell in graded_cells[name]}
    theirs = _nbgrader_scores(course, hand_ins, tmp_path)
    assert theirs == ours, "the autograder's scores differ from plain nbgrader autograde's"
    assert theirs[("ada", "test_png_width")] == 2, "the image beside the notebook was read"
    assert theirs[("bob", "test_square")] == 0 and theirs[("bob", "test_total")] == 1
    assert rows[("ada", "problem2.ipynb")]["status"] == "needs manual grading"
    assert float(rows[("ada", "problem1.ipynb")]["total"]) == 3


def _read_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_course_root_without_its_source_folder_is_named(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(
        CONFIG + 'c.CourseDirectory.source_directory = "instructor"\n', encoding="utf-8")
    result = run_autograder("--course-root", str(tmp_path), "grade", ASSIGNMENT, str(tmp_path),
                            "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "has no source folder instructor/" in result.stderr, result.stderr

