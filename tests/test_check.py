"""`python -m autograder check NOTEBOOK`: the learner's report of their visible tests."""

from __future__ import annotations

import hashlib

import nbformat
from helpers import (
    IMPLEMENTATIONS,
    filled_notebook,
    implementation_code,
    run_autograder,
    solution_code,
)

LESSON = "04_clipping_numpy"


def _write(tmp_path, notebook):
    # The lesson's own folder layout, so that relative imports and links would work as in course/.
    path = tmp_path / LESSON / "clipping_numpy.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_complete_notebook_passes_and_is_not_modified(tmp_path):
    path = _write(tmp_path, filled_notebook(LESSON, solution_code(LESSON)))
    before = _digest(path)
    result = run_autograder("check", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 of 5 test cells pass." in result.stdout
    assert result.stdout.count("✓") == 5
    assert _digest(path) == before, "check must not write to the learner's notebook"


def test_a_wrong_answer_is_reported_with_the_tests_message(tmp_path):
    wrong = implementation_code(IMPLEMENTATIONS / LESSON / "wrong_value_upper_only.py")
    path = _write(tmp_path, filled_notebook(LESSON, {**solution_code(LESSON), **wrong}))
    result = run_autograder("check", str(path), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if "✗" in line]
    assert len(failed) == 1 and "test_clip_by_value" in failed[0], result.stdout
    assert "AssertionError: " in failed[0] and "expected" in failed[0], failed[0]
    assert "4 of 5 test cells pass." in result.stdout


def test_an_unanswered_notebook_says_so(tmp_path):
    path = _write(tmp_path, filled_notebook(LESSON, {}))
    result = run_autograder("check", str(path), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.count("not answered yet") == 5, result.stdout


def test_bad_input_gets_a_clear_message(tmp_path):
    missing = tmp_path / "missing.ipynb"
    result = run_autograder("check", str(missing), cwd=tmp_path)
    assert result.returncode == 2 and f"{missing}: no such file" in result.stderr, result.stderr
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    result = run_autograder("check", str(broken), cwd=tmp_path)
    assert result.returncode == 2 and "is not a readable notebook" in result.stderr, result.stderr
    assert broken.read_text(encoding="utf-8") == '{"cells": ['
    plain = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), plain)
    result = run_autograder("check", str(plain), cwd=tmp_path)
    assert result.returncode == 2 and "has no graded cells" in result.stderr, result.stderr
