"""Similar hand-ins (autograder.similarity) on synthetic classes, without grading anything.

Each lesson's class: the instructor's solution and every correct alternative in
tests/implementations/<lesson>/ (written independently of one another), and one learner who
copied an alternative with every variable renamed, the layout redone and comments added. The
copied pair must be the most alike and flagged; no two independent solutions may be flagged.
"""

from __future__ import annotations

import pytest
from helpers import (
    COURSE,
    IMPLEMENTATIONS,
    disguised,
    implementation_code,
    released_notebook,
    solution_code,
)

from autograder.similarity import answer_code, similar_pairs

LESSONS = [lesson for lesson in COURSE.assignments()
           if any((IMPLEMENTATIONS / lesson).glob("alternative*.py"))]


def _independent_class(lesson: str) -> dict[str, str]:
    """{learner: answer code}, every learner's answers written independently."""
    learners = {"solution": "\n\n".join(solution_code(lesson).values())}
    for path in sorted((IMPLEMENTATIONS / lesson).glob("alternative*.py")):
        learners[path.stem] = "\n\n".join(implementation_code(path).values())
    return learners


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_disguised_copy_is_the_top_pair_and_independent_solutions_are_not_flagged(lesson):
    learners = _independent_class(lesson)
    original = sorted(name for name in learners if name != "solution")[0]
    learners["copier"] = disguised(learners[original])
    assert learners["copier"] != learners[original]
    stub = answer_code(released_notebook(lesson))
    pairs = similar_pairs(learners, stub, "notebook.ipynb")
    assert pairs, f"{lesson}: the copied pair was not found"
    top = pairs[0]
    assert {top.student_a, top.student_b} == {original, "copier"}, pairs[:3]
    assert top.flagged, top
    independent = [pair for pair in pairs if "copier" not in (pair.student_a, pair.student_b)]
    assert not any(pair.flagged for pair in independent), independent


def test_the_released_stub_and_tiny_answers_are_not_evidence():
    """Learners who handed in the stub, or a one-line answer, share it with everyone: no pair."""
    lesson = LESSONS[0]
    stub = answer_code(released_notebook(lesson))
    learners = {"blank_a": stub, "blank_b": stub, "short_a": "x = 1", "short_b": "y = 2"}
    assert similar_pairs(learners, stub, "notebook.ipynb") == []


ORIGINAL = """
def clip_grad_norm(grads, max_norm):
    total = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
    scale = min(1.0, max_norm / (total + 1e-6))
    return [g * scale for g in grads], total
"""
RENAMED = """
def clip_grad_norm(gradients, limit):
    # the global norm first
    norm = np.sqrt(sum(float(np.sum(x * x))
                       for x in gradients))
    factor = min(1.0, limit / (norm + 1e-6))   # never scale up
    return [x * factor for x in gradients], norm
"""


def test_renaming_reformatting_and_comments_change_nothing():
    pairs = similar_pairs({"a": ORIGINAL * 3, "b": RENAMED * 3}, "", "notebook.ipynb")
    assert [(pair.similarity, pair.flagged) for pair in pairs] == [(1.0, True)], pairs
