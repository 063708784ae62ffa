"""End to end: a synthetic class per lesson, graded by `python -m autograder grade`.

One grading run per lesson serves every test here (a kernel per learner is the slow part). The
learners are the released notebook filled with: the instructor's solution, nothing, correct
solutions written differently (tests/implementations/<lesson>/alternative*.py), and plausible
wrong implementations from the files tests/implementations/<lesson>/wrong_*.py (each wrong file
replaces only the functions it defines; the other answers are the instructor's).

Wrong files share a learner when none of them can cost points (`_affected`: its functions' own
test cells, and those of the answers that call them) in another's own test cells
(`_wrong_learners`). Cells are graded one by one, so each file's own cells must lose points and
every cell no file of its learner can affect must keep its full marks, as if the file were graded
alone.
"""

from __future__ import annotations

import ast
import csv
import functools
import hashlib
import itertools
import re
import shutil
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from helpers import (
    COURSE,
    IMPLEMENTATIONS,
    ROOT,
    answer_id,
    chromium,
    disguised,
    filled_notebook,
    hidden_test_lines,
    html_text,
    implementation_code,
    read_grades,
    run_autograder,
    solution_code,
    source_notebook,
)

pytestmark = pytest.mark.slow

LESSONS = [a for a in COURSE.assignments() if (IMPLEMENTATIONS / a).is_dir()]
WRONG = [(lesson, path) for lesson in LESSONS
         for path in sorted((IMPLEMENTATIONS / lesson).glob("wrong_*.py"))]
ALTERNATIVES = [(lesson, path) for lesson in LESSONS
                for path in sorted((IMPLEMENTATIONS / lesson).glob("alternative*.py"))]
WRITTEN_ANSWER = "A written answer, for the instructor to grade."
# The lesson whose class has a learner "copier" who handed in this alternative's answers disguised.
COPIED = ("04_clipping_numpy", "alternative_correct")
REPORT_ARTIFACTS = ROOT / "test-artifacts" / "report"
HIDDEN_MAGIC = re.compile(r"^[%!].*$", re.M)  # IPython magics and shell lines are not Python


def _notebook(lesson: str) -> str:
    (name,) = COURSE.notebooks(lesson)
    return name


def _cells(lesson: str):
    return COURSE.grade_cells(lesson, _notebook(lesson))


def _auto_max(lesson: str) -> float:
    return sum(cell.points for cell in _cells(lesson) if not cell.manual)


def _auto_total(lesson: str, row) -> float:
    return sum(float(row[cell.grade_id] or 0) for cell in _cells(lesson) if not cell.manual)


def _points(lesson: str, grade_id: str) -> float:
    return next(cell.points for cell in _cells(lesson) if cell.grade_id == grade_id)


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@functools.cache
def _wrong_learners(lesson: str) -> dict[str, tuple[Path, ...]]:
    """{learner: the wrong files whose functions replace the solution's in that learner}.

    Files are packed first-fit into as few learners as possible, so that no file's own cells
    (its functions' tests) are cells another file of the same learner can cost points
    (`_affected`): whatever a file's own cells lose is its own doing. Two files may both affect a
    third answer's cell (a wrong norm and a wrong scaling both break the clipping that calls
    them); the checks below leave such cells alone.
    """
    groups: list[list[Path]] = []

    def compatible(path: Path, member: Path) -> bool:
        return not (_own_cells(path) & _affected(lesson, member)
                    or _own_cells(member) & _affected(lesson, path))

    for path in sorted((IMPLEMENTATIONS / lesson).glob("wrong_*.py")):
        home = next((group for group in groups
                     if all(compatible(path, member) for member in group)), None)
        if home is None:
            groups.append([path])
        else:
            home.append(path)
    return {f"wrong_{index:02d}": tuple(group) for index, group in enumerate(groups, start=1)}


def _functions(path: Path) -> set[str]:
    return set(implementation_code(path))


def _names_used(code: str) -> frozenset[str]:
    """The names `code` uses, as answer ids (a class SpikeMonitor is answered in spike_monitor)."""
    return frozenset(answer_id(node.id) for node in ast.walk(ast.parse(code))
                     if isinstance(node, ast.Name))


@functools.cache
def _names_in_answers(lesson: str) -> dict[str, frozenset[str]]:
    """{grade id of an answer, or name of a function the lesson gives: the names its code uses}:
    who may call whom. Given functions count as links: an answer may reach another through one
    (lesson 07's fast_clip_grad_norm_ calls the given sum_of_squares, which calls the learner's
    rows_sum_of_squares)."""
    callers = {grade_id: _names_used(code) for grade_id, code in solution_code(lesson).items()}
    for cell in source_notebook(lesson).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("solution") or meta.get("grade"):
            continue
        for node in ast.parse(HIDDEN_MAGIC.sub("", cell.source)).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                callers.setdefault(answer_id(node.name), _names_used(ast.unparse(node)))
    return callers


@functools.cache
def _affected(lesson: str, path: Path) -> frozenset[str]:
    """The test cells a wrong file can cost points: its functions' own, and those of every
    answer that calls one of them (directly or through another answer)."""
    reached, frontier = set(_functions(path)), set(_functions(path))
    while frontier:
        frontier = {caller for caller, names in _names_in_answers(lesson).items()
                    if names & frontier and caller not in reached}
        reached |= frontier
    return frozenset(f"test_{name}" for name in reached)


def _own_cells(path: Path) -> set[str]:
    return {f"test_{function}" for function in _functions(path)}


def _learner_of(lesson: str, wrong_file: Path) -> str:
    (learner,) = [name for name, files in _wrong_learners(lesson).items() if wrong_file in files]
    return learner


def _class_of(lesson: str) -> dict[str, nbformat.NotebookNode]:
    solution = solution_code(lesson)
    manual = {cell.grade_id: WRITTEN_ANSWER for cell in _cells(lesson) if cell.manual}
    learners = {
        "solution": filled_notebook(lesson, solution, answers=manual),
        "blank": filled_notebook(lesson, {}),
    }
    for path in sorted((IMPLEMENTATIONS / lesson).glob("alternative*.py")):
        learners[path.stem] = filled_notebook(lesson, implementation_code(path))
    for learner, files in _wrong_learners(lesson).items():
        wrong = {name: code for path in files for name, code in implementation_code(path).items()}
        learners[learner] = filled_notebook(lesson, {**solution, **wrong})
    if lesson == COPIED[0]:  # a learner who copied another's answers and disguised them
        original = implementation_code(IMPLEMENTATIONS / lesson / f"{COPIED[1]}.py")
        learners["copier"] = filled_notebook(
            lesson, {grade_id: disguised(code) for grade_id, code in original.items()})
    return learners


def _grade_class(lesson: str, base: Path) -> dict:
    """Grade `lesson`'s synthetic class in `base`; return its grades and what the checks need."""
    submissions, out = base / "submissions", base / "out"
    for student, notebook in _class_of(lesson).items():
        (submissions / student).mkdir(parents=True)
        nbformat.write(notebook, submissions / student / _notebook(lesson))
    if lesson == LESSONS[0]:
        # Hand-ins an instructor really gets: a truncated upload, a folder without the notebook.
        (submissions / "truncated").mkdir()
        (submissions / "truncated" / _notebook(lesson)).write_text('{"cells": [')
        (submissions / "wrong_file").mkdir()
        (submissions / "wrong_file" / "Untitled.ipynb").write_text("{}")
    before = _tree_digest(submissions)
    result = run_autograder("grade", lesson, str(submissions), "--out", str(out))
    assert result.returncode == 0, f"autograder failed:\n{result.stdout}\n{result.stderr}"
    return {"grades": read_grades(out / "grades.csv"), "before": before, "out": out,
            "submissions": submissions, "stderr": result.stderr, "stdout": result.stdout}


class _GradedClasses(dict):
    """Each lesson's class, graded the first time a test asks for it (so that no single test
    carries the grading time of every lesson), then shared by all the tests of the module."""

    def __init__(self, tmp_path_factory):
        super().__init__()
        self.tmp_path_factory = tmp_path_factory

    def __missing__(self, lesson: str) -> dict:
        self[lesson] = _grade_class(lesson, self.tmp_path_factory.mktemp(lesson))
        return self[lesson]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{lesson: {grades, out, submissions, before, stderr}}, each graded on first use."""
    return _GradedClasses(tmp_path_factory)


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_scores_full_autograded_marks(graded, lesson):
    row = graded[lesson]["grades"]["solution"]
    assert _auto_total(lesson, row) == _auto_max(lesson), row
    assert row["review"] == "", "nothing in the solution may look suspicious to the grader"
    manual = [cell for cell in _cells(lesson) if cell.manual]
    if manual:
        assert row["status"] == "needs manual grading", "a written answer awaits the instructor"
        assert all(row[cell.grade_id] == "" for cell in manual), "manual grades are not invented"
    assert float(row["max"]) == sum(cell.points for cell in _cells(lesson))


@pytest.mark.parametrize(("lesson", "alternative"), ALTERNATIVES,
                         ids=[f"{lesson}-{path.stem}" for lesson, path in ALTERNATIVES])
def test_alternative_correct_solutions_score_full_marks(graded, lesson, alternative):
    row = graded[lesson]["grades"][alternative.stem]
    assert _auto_total(lesson, row) == _auto_max(lesson), row


@pytest.mark.parametrize("lesson", LESSONS)
def test_unmodified_release_scores_zero(graded, lesson):
    row = graded[lesson]["grades"]["blank"]
    assert float(row["total"]) == 0, row
    assert row["status"] == "graded", "an unanswered written answer needs no manual grading"


@pytest.mark.parametrize(("lesson", "wrong_file"), WRONG,
                         ids=[f"{lesson}-{path.stem}" for lesson, path in WRONG])
def test_each_wrong_implementation_loses_its_points(graded, lesson, wrong_file):
    row = graded[lesson]["grades"][_learner_of(lesson, wrong_file)]
    for function in implementation_code(wrong_file):
        test_cell = f"test_{function}"
        maximum = _points(lesson, test_cell)
        assert float(row[test_cell]) < maximum, (
            f"{wrong_file.name}: {function} is wrong, "
            f"yet {test_cell} gave {row[test_cell]}/{maximum}")
    assert _auto_total(lesson, row) < _auto_max(lesson)


# Wrong files whose functions no other answer calls: they can cost only their own cells.
INDEPENDENT = [(lesson, path) for lesson, path in WRONG
               if _affected(lesson, path) == _own_cells(path)]


@pytest.mark.parametrize(("lesson", "wrong_file"), INDEPENDENT,
                         ids=[f"{lesson}-{path.stem}" for lesson, path in INDEPENDENT])
def test_one_wrong_function_scores_exactly_the_others(graded, lesson, wrong_file):
    """A wrong function that no other answer uses costs exactly its own test's points: its own
    cells score nothing, and every cell that no wrong file of its learner can affect scores full
    marks (the cells of the learner's other wrong files are checked by their own cases)."""
    learner = _learner_of(lesson, wrong_file)
    row = graded[lesson]["grades"][learner]
    own = _own_cells(wrong_file)
    targeted = set().union(*(_affected(lesson, path) for path in _wrong_learners(lesson)[learner]))
    for cell in _cells(lesson):
        if cell.manual:
            continue
        score = float(row[cell.grade_id] or 0)
        if cell.grade_id in own:
            assert score == 0, f"{wrong_file.name}: {cell.grade_id} gave {score}, expected 0"
        elif cell.grade_id not in targeted:
            assert score == cell.points, (
                f"{wrong_file.name} (learner {learner}): {cell.grade_id} gave {score}/"
                f"{cell.points}, yet none of the learner's wrong functions is tested there")


def test_broken_submissions_are_reported_not_fatal(graded):
    lesson = LESSONS[0]
    grades = graded[lesson]["grades"]
    name = _notebook(lesson)
    assert grades["truncated"]["status"].startswith(
        f"error: truncated/{name} is not a readable notebook")
    # Its only notebook has another name: it is tried in place of the lesson's, and reported.
    assert grades["wrong_file"]["status"].startswith(
        "error: wrong_file/Untitled.ipynb is not a readable notebook"), grades["wrong_file"]
    assert float(grades["truncated"]["total"]) == 0
    assert "truncated" in graded[lesson]["stderr"]


@pytest.mark.parametrize("lesson", LESSONS)
def test_submissions_are_not_modified(graded, lesson):
    assert _tree_digest(graded[lesson]["submissions"]) == graded[lesson]["before"]


@pytest.mark.parametrize("lesson", LESSONS)
def test_outputs_feedback_and_gradebook(graded, lesson):
    out = graded[lesson]["out"]
    name = _notebook(lesson)
    assert (out / "gradebook.db").is_file()
    feedback = out / "feedback" / "solution" / name.replace(".ipynb", ".html")
    assert feedback.is_file(), sorted(str(p) for p in (out / "feedback").rglob("*"))
    assert "Part A" in feedback.read_text(encoding="utf-8")
    header = (out / "grades.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == ["student_id", "notebook", *(c.grade_id for c in _cells(lesson)), "total",
                      "max", "status", "review"]


@pytest.mark.parametrize("lesson", LESSONS)
def test_feedback_shows_no_hidden_test_but_its_message(graded, lesson):
    """Every learner's feedback: no line of a hidden test (in the code or in an output), a note
    where hidden tests ran, and the message of each test that failed."""
    out, name = graded[lesson]["out"], _notebook(lesson)
    hidden = hidden_test_lines(lesson)
    assert len(hidden) >= 5, "the check found almost nothing to look for"
    for learner in graded[lesson]["grades"]:
        path = out / "feedback" / learner / name.replace(".ipynb", ".html")
        if not path.is_file():  # a hand-in that could not be graded gets none
            continue
        shown = html_text(path.read_text(encoding="utf-8"))
        # A learner may write a line a hidden test also has (optimizer.zero_grad()): their own.
        handed_in = graded[lesson]["submissions"] / learner / name
        own = {line.strip() for cell in nbformat.read(handed_in, as_version=4).cells
               for line in cell.source.splitlines()}
        leaked = sorted((hidden - own) & {line.strip() for line in shown.splitlines()})
        assert not leaked, f"{learner}'s feedback shows hidden tests: {leaked[:3]}"
        assert "Hidden tests ran here too" in shown
        autograded = out / "nbgrader" / "autograded" / learner / lesson / name
        for cell in nbformat.read(autograded, as_version=4).cells:
            for output in cell.get("outputs", []):
                if output.output_type == "error" and cell.metadata.get("nbgrader", {}).get("grade"):
                    message = f"{output.ename}: {output.evalue}".splitlines()[0]
                    assert message in shown, f"{learner}: the feedback lacks {message!r}"


# Lessons whose demonstrations skip themselves while nbgrader grades (their GRADING flag).
SKIPPING = [lesson for lesson in LESSONS
            if "NBGRADER_EXECUTION" in (COURSE.solutions / lesson / _notebook(lesson)).read_text()]


@pytest.mark.parametrize("lesson", SKIPPING)
def test_grading_skips_the_long_demonstrations(graded, lesson):
    """nbgrader's NBGRADER_EXECUTION=autograde reaches the sandboxed kernel, and the training
    runs that grade nothing are skipped there (nbval runs them, from the solution)."""
    autograded = graded[lesson]["out"] / "nbgrader" / "autograded"
    path = autograded / "solution" / lesson / _notebook(lesson)
    outputs = [output.get("text", "") for cell in nbformat.read(path, as_version=4).cells
               if cell.cell_type == "code" for output in cell.outputs]
    assert any("while the notebook is graded" in text for text in outputs), outputs
    assert not any("it/s" in text for text in outputs), "a training loop ran while grading"


def test_rerun_keeps_manual_grades_and_grades_late_submissions(graded, tmp_path):
    """A second run: no duplicate rows, manual grades kept, only the late learner graded."""
    from nbgrader.api import Gradebook

    lesson = LESSONS[0]
    (manual,) = [cell for cell in _cells(lesson) if cell.manual]
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    shutil.copytree(graded[lesson]["submissions"], submissions)
    shutil.copytree(graded[lesson]["out"], out)
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
        answer = gradebook.find_grade(manual.grade_id, _notebook(lesson).removesuffix(".ipynb"),
                                      lesson, "solution")
        answer.manual_score, answer.needs_manual_grade = 2.5, False  # as the formgrader does
        gradebook.db.commit()
    shutil.copytree(submissions / "solution", submissions / "late")

    result = run_autograder("grade", lesson, str(submissions), "--out", str(out))
    assert result.returncode == 0, result.stderr
    grades = read_grades(out / "grades.csv")
    assert sorted(grades) == sorted([*graded[lesson]["grades"], "late"])
    assert grades["solution"][manual.grade_id] == "2.5"
    assert grades["solution"]["status"] == "graded"
    assert float(grades["solution"]["total"]) == _auto_max(lesson) + 2.5
    assert _auto_total(lesson, grades["late"]) == _auto_max(lesson)
    log = (out / "autograder.log").read_text(encoding="utf-8")
    autograded = f"$ nbgrader autograde {lesson} --student="
    assert log.count(f"{autograded}late") == 1 and log.count(f"{autograded}blank") == 1, (
        "the re-run should autograde only the new submission")


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_class_report_shows_scores_cells_failures_and_statuses(graded, lesson):
    out, grades = graded[lesson]["out"], graded[lesson]["grades"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "/report.html" in graded[lesson]["stdout"], "grade prints where the report is"
    shown = html_text(page)
    for cell in _cells(lesson):
        assert cell.grade_id in shown, f"the report lacks the graded cell {cell.grade_id}"
    blank = nbformat.read(out / "nbgrader" / "autograded" / "blank" / lesson / _notebook(lesson),
                          as_version=4)
    failures = [f"{output.ename}: {output.evalue}".splitlines()[0]
                for cell in blank.cells if cell.metadata.get("nbgrader", {}).get("grade")
                for output in cell.get("outputs", []) if output.output_type == "error"]
    assert failures, "the blank hand-in failed no test: nothing to look for"
    first_failure = failures[0]
    assert first_failure in shown, f"the report lacks the blank learner's {first_failure!r}"
    kinds = Counter(row["status"].split(":")[0] for row in grades.values())
    for kind, count in kinds.items():
        assert f"<tr><td>{kind}</td><td class='n'>{count}</td></tr>" in page, (
            f"the report's status table should count {count} {kind!r}")
    learners_shown = re.search(r"(\d+) learners", shown)
    assert learners_shown and int(learners_shown.group(1)) == len(grades)
    # Self-contained: every image is embedded, nothing is fetched from anywhere.
    assert page.count("src='data:image/png;base64,") >= 3
    assert not re.search(r"(src|href)=['\"](?!data:)", page), "the report links to files"


def test_the_class_report_opens_in_a_browser(graded, browser):
    out = graded[COPIED[0]]["out"]
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto((out / "report.html").as_uri())
    assert page.locator("h1").inner_text() == f"Grading report: {COPIED[0]}"
    widths = page.eval_on_selector_all("img", "images => images.map(i => i.naturalWidth)")
    assert len(widths) >= 3 and all(width > 0 for width in widths), widths
    REPORT_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(REPORT_ARTIFACTS / f"report-{COPIED[0]}.png"), full_page=True)
    page.close()


def test_similar_hand_ins_flag_the_disguised_copy_only(graded):
    """The copier is flagged with the learner whose answers it disguised; the instructor's
    solution and the independently written alternatives are not flagged with one another."""
    out = graded[COPIED[0]]["out"]
    with (out / "similarity.csv").open(newline="", encoding="utf-8") as handle:
        pairs = {frozenset((row["student_a"], row["student_b"])): row
                 for row in csv.DictReader(handle)}
    copied = pairs.get(frozenset(("copier", COPIED[1])))
    assert copied is not None and copied["flagged"] == "yes", copied
    independent = ["solution", *(path.stem for path in
                                 sorted((IMPLEMENTATIONS / COPIED[0]).glob("alternative*.py")))]
    for first, second in itertools.combinations(independent, 2):
        row = pairs.get(frozenset((first, second)))
        assert row is None or row["flagged"] == "no", row
    assert "copier" in html_text((out / "report.html").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def browser():
    yield from chromium()
