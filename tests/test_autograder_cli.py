"""Bad input to `python -m autograder` gets a clear message and touches nothing."""

from __future__ import annotations

import pytest
from helpers import ROOT, hidden_test_lines, html_text, read_grades, run_autograder


@pytest.fixture
def class_folder(tmp_path):
    submissions = tmp_path / "submissions"
    (submissions / "alice").mkdir(parents=True)
    (submissions / "alice" / "vector_products.ipynb").write_text("{}", encoding="utf-8")
    return submissions


def _fails_with(result, *fragments):
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.startswith("autograder: error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_missing_submissions_folder(tmp_path):
    missing = tmp_path / "nowhere"
    result = run_autograder("grade", "01_vector_products", str(missing), "--out",
                            str(tmp_path / "out"))
    _fails_with(result, str(missing), "does not exist")
    assert not (tmp_path / "out").exists()


def test_unknown_assignment_lists_the_real_ones(class_folder, tmp_path):
    result = run_autograder("grade", "99_nope", str(class_folder), "--out", str(tmp_path / "o"))
    _fails_with(result, "99_nope", "01_vector_products")


def test_output_inside_submissions_is_refused(class_folder):
    result = run_autograder("grade", "01_vector_products", str(class_folder), "--out",
                            str(class_folder / "grades"))
    _fails_with(result, "inside the submissions folder")
    assert sorted(p.name for p in class_folder.iterdir()) == ["alice"]


def test_foreign_non_empty_output_folder_is_not_overwritten(class_folder, tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious", encoding="utf-8")
    result = run_autograder("grade", "01_vector_products", str(class_folder), "--out", str(out))
    _fails_with(result, str(out), "not empty")
    assert [p.name for p in out.iterdir()] == ["chapter1.tex"]
    assert (out / "chapter1.tex").read_text(encoding="utf-8") == "precious"


def test_timeout_must_be_positive(class_folder, tmp_path):
    result = run_autograder("grade", "01_vector_products", str(class_folder), "--out",
                            str(tmp_path / "o"), "--timeout", "0")
    _fails_with(result, "--timeout")


@pytest.mark.parametrize("out", [ROOT / "solutions" / "grading",
                                 ROOT / "course" / "01_vector_products" / "grading", ROOT],
                         ids=["solutions", "course", "root"])
def test_output_in_the_course_notebooks_is_refused(class_folder, out):
    existed = out.exists()
    result = run_autograder("grade", "01_vector_products", str(class_folder), "--out", str(out))
    _fails_with(result, "would write into the course")
    assert out.exists() == existed


def test_return_feedback_needs_a_grading_run(tmp_path):
    result = run_autograder("return-feedback", "01_vector_products", "--out", str(tmp_path))
    _fails_with(result, str(tmp_path), "not a folder written by")


def test_feedback_of_hand_ins_not_from_the_exchange_is_left_to_return_by_hand(tmp_path):
    """A learner from a plain folder has no receipt to name the feedback by: return-feedback
    says whose feedback to hand back by hand (and releases nothing); a receipt whose time
    nbgrader cannot read is ignored and noted, not fatal."""
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    released = ROOT / "course" / "01_vector_products" / "vector_products.ipynb"
    for learner in ("alice", "bob"):
        (submissions / learner).mkdir(parents=True)
        (submissions / learner / released.name).write_bytes(released.read_bytes())
    (submissions / "bob" / "timestamp.txt").write_text("the day before the deadline")
    graded = run_autograder("grade", "01_vector_products", str(submissions), "--out", str(out),
                            "--no-sandbox", "--jobs", "1")
    assert graded.returncode == 0, graded.stderr
    grades = read_grades(out / "grades.csv")
    # the same notebook as alice's, graded the same: the bad receipt changed nothing else
    assert grades["bob"]["status"] == grades["alice"]["status"] == "graded", grades
    assert "timestamp.txt is not a date: ignored" in grades["bob"]["review"], grades["bob"]
    result = run_autograder("return-feedback", "01_vector_products", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "to 0 learners: none" in result.stdout, result.stdout
    assert "return these by hand" in result.stderr, result.stderr
    for learner in ("alice", "bob"):
        assert str(out / "feedback" / learner) in result.stderr, result.stderr


def test_feedback_shows_hidden_tests_only_when_asked(tmp_path):
    """--feedback-shows-hidden-tests gives nbgrader's own feedback, hidden tests and all (the
    default hides them: tests/test_autograde_e2e.py checks every lesson's feedback)."""
    lesson = "01_vector_products"
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    released = ROOT / "course" / lesson / "vector_products.ipynb"
    (submissions / "alice").mkdir(parents=True)
    (submissions / "alice" / released.name).write_bytes(released.read_bytes())
    graded = run_autograder("grade", lesson, str(submissions), "--out", str(out), "--no-sandbox",
                            "--feedback-shows-hidden-tests")
    assert graded.returncode == 0, graded.stderr
    shown = html_text((out / "feedback" / "alice" / "vector_products.html").read_text())
    assert "BEGIN HIDDEN TESTS" in shown
    assert any(line in shown for line in hidden_test_lines(lesson))
