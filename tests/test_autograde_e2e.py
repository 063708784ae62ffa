"""End to end: a class of synthetic learners graded by `python -m autograder grade`.

One grading run serves every test here (it starts a kernel per learner, which is the slow part).
The learners are the released notebook filled with: the instructor's solution, nothing, a correct
solution written differently, and one plausible wrong implementation per file in
tests/implementations/vector_products/ (each wrong file replaces only the functions it defines).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import nbformat
import pytest
from helpers import (
    COURSE,
    IMPLEMENTATIONS,
    filled_notebook,
    implementation_code,
    read_grades,
    run_autograder,
    solution_code,
)

ASSIGNMENT = "01_vector_products"
NOTEBOOK = "vector_products.ipynb"
WRONG_FILES = sorted((IMPLEMENTATIONS / "vector_products").glob("wrong_*.py"))
WRITTEN_ANSWER = "vector1 is aliased by resultant, and *= writes into the caller's array."

pytestmark = pytest.mark.slow


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Build the class, grade it once; yield (grades by student, submissions digest, paths)."""
    base = tmp_path_factory.mktemp("class")
    submissions, out = base / "submissions", base / "out"
    solution = solution_code(ASSIGNMENT)
    learners = {
        "solution": filled_notebook(ASSIGNMENT, solution,
                                    answers={"explain_seed_bugs": WRITTEN_ANSWER}),
        "blank": filled_notebook(ASSIGNMENT, {}),
        "alternative": filled_notebook(
            ASSIGNMENT, implementation_code(IMPLEMENTATIONS / "vector_products"
                                            / "alternative_correct.py")),
    }
    for path in WRONG_FILES:
        learners[path.stem] = filled_notebook(ASSIGNMENT, {**solution, **implementation_code(path)})
    for student, notebook in learners.items():
        (submissions / student).mkdir(parents=True)
        nbformat.write(notebook, submissions / student / NOTEBOOK)
    # Hand-ins an instructor really gets: a truncated upload and a folder without the notebook.
    (submissions / "truncated").mkdir()
    (submissions / "truncated" / NOTEBOOK).write_text('{"cells": [', encoding="utf-8")
    (submissions / "wrong_file").mkdir()
    (submissions / "wrong_file" / "Untitled.ipynb").write_text("{}", encoding="utf-8")

    before = _tree_digest(submissions)
    result = run_autograder("grade", ASSIGNMENT, str(submissions), "--out", str(out))
    assert result.returncode == 0, f"autograder failed:\n{result.stdout}\n{result.stderr}"
    return {"grades": read_grades(out / "grades.csv"), "before": before, "out": out,
            "submissions": submissions, "stdout": result.stdout, "stderr": result.stderr}


def _cells():
    return COURSE.grade_cells(ASSIGNMENT, NOTEBOOK)


def _auto_max() -> float:
    return sum(cell.points for cell in _cells() if not cell.manual)


def _auto_total(row) -> float:
    return sum(float(row[cell.grade_id] or 0) for cell in _cells() if not cell.manual)


def test_solution_scores_full_autograded_marks(graded):
    row = graded["grades"]["solution"]
    assert _auto_total(row) == _auto_max(), row
    assert row["status"] == "needs manual grading", "a written answer awaits the instructor"
    assert row["explain_seed_bugs"] == "", "a manual grade must not be invented"
    assert float(row["max"]) == sum(cell.points for cell in _cells())


def test_alternative_correct_solution_scores_full_marks(graded):
    row = graded["grades"]["alternative"]
    assert _auto_total(row) == _auto_max(), row


def test_unmodified_release_scores_zero(graded):
    row = graded["grades"]["blank"]
    assert float(row["total"]) == 0, row
    assert row["status"] == "graded", "an unanswered written answer needs no manual grading"


@pytest.mark.parametrize("wrong_file", WRONG_FILES, ids=lambda path: path.stem)
def test_each_wrong_implementation_loses_its_points(graded, wrong_file):
    row = graded["grades"][wrong_file.stem]
    for function in implementation_code(wrong_file):
        test_cell = f"test_{function}"
        maximum = next(cell.points for cell in _cells() if cell.grade_id == test_cell)
        assert float(row[test_cell]) < maximum, (
            f"{wrong_file.name}: {function} is wrong, "
            f"yet {test_cell} gave {row[test_cell]}/{maximum}")
    assert _auto_total(row) < _auto_max()


def test_one_wrong_function_scores_exactly_the_others(graded):
    # steps_until_overflow is used by no other graded function, so only its own test may fail.
    row = graded["grades"]["wrong_overflow_off_by_one"]
    lost = next(cell.points for cell in _cells() if cell.grade_id == "test_steps_until_overflow")
    assert _auto_total(row) == _auto_max() - lost, row


def test_broken_submissions_are_reported_not_fatal(graded):
    grades = graded["grades"]
    assert grades["truncated"]["status"].startswith("error: truncated/vector_products.ipynb "
                                                    "is not a readable notebook")
    assert grades["wrong_file"]["status"] == "error: no vector_products.ipynb in wrong_file/"
    assert float(grades["truncated"]["total"]) == 0
    assert "truncated" in graded["stderr"]


def test_submissions_are_not_modified(graded):
    assert _tree_digest(graded["submissions"]) == graded["before"]


def test_outputs_feedback_and_gradebook(graded):
    out = graded["out"]
    assert (out / "gradebook.db").is_file()
    feedback = out / "feedback" / "solution" / "vector_products.html"
    assert feedback.is_file(), sorted(str(p) for p in (out / "feedback").rglob("*"))
    assert "Part A" in feedback.read_text(encoding="utf-8")
    header = (out / "grades.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    expected = ["student_id", "notebook", *(c.grade_id for c in _cells()), "total", "max",
                "status"]
    assert header == expected


def test_rerun_keeps_manual_grades_and_grades_late_submissions(graded, tmp_path):
    """A second run: no duplicate rows, manual grades kept, a late learner graded."""
    from nbgrader.api import Gradebook

    submissions, out = tmp_path / "submissions", tmp_path / "out"
    shutil.copytree(graded["submissions"], submissions)
    shutil.copytree(graded["out"], out)
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
        answer = gradebook.find_grade("explain_seed_bugs", "vector_products", ASSIGNMENT,
                                      "solution")
        answer.manual_score, answer.needs_manual_grade = 2.5, False  # as the formgrader does
        gradebook.db.commit()
    shutil.copytree(submissions / "solution", submissions / "late")

    result = run_autograder("grade", ASSIGNMENT, str(submissions), "--out", str(out))
    assert result.returncode == 0, result.stderr
    grades = read_grades(out / "grades.csv")
    assert sorted(grades) == sorted([*graded["grades"], "late"])
    assert grades["solution"]["explain_seed_bugs"] == "2.5"
    assert grades["solution"]["status"] == "graded"
    assert float(grades["solution"]["total"]) == _auto_max() + 2.5
    assert _auto_total(grades["late"]) == _auto_max()
    log = (out / "autograder.log").read_text(encoding="utf-8")
    assert log.count("--student=late") == 1 and log.count("--student=blank") == 1, (
        "the re-run should autograde only the new submission")
