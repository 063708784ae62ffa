"""`python -m autograder grade`: autograde a folder of submissions with nbgrader.

SUBMISSIONS holds one folder per learner, `<student_id>/<notebook>.ipynb` (nbgrader's own
`<student_id>/<assignment>/<notebook>.ipynb` works too). Everything is copied into a grading
workspace under OUT, so nothing under SUBMISSIONS is ever written. OUT receives:

- grades.csv: one row per learner and notebook, points per graded cell, total, max, status;
- feedback/<student_id>/<notebook>.html: nbgrader's feedback for the learner;
- gradebook.db: nbgrader's SQLite gradebook (manual grading goes on from there);
- autograder.log: what nbgrader printed; nbgrader/: the workspace nbgrader graded in.
"""

from __future__ import annotations

import csv
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course import AutograderError, Course, GradeCell, run_nbgrader

# Names nbgrader and file systems both accept; anything else is reported, not graded.
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
WORKSPACE_CONFIG = """\
# Written by `python -m autograder grade`: the grading workspace, with its gradebook.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "gradclip"
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db_url!r}
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
"""
# Marks a folder as ours, so that a re-run may replace what an earlier run wrote there.
OUTPUT_MARKER = ".gradclip-autograder-output"


@dataclass
class Submission:
    student_id: str
    notebooks: dict[str, Path] = field(default_factory=dict)  # notebook name -> learner's file
    problem: str | None = None  # why it cannot be graded, if it cannot


@dataclass
class GradeRow:
    student_id: str
    notebook: str
    scores: dict[str, float | None]  # grade_id -> points, None while awaiting manual grading
    status: str


def grade(course: Course, assignment: str, submissions: Path, out: Path,
          timeout: int = 120, regrade: bool = False) -> list[GradeRow]:
    """Grade every submission of `assignment` under `submissions`; write results to `out`.

    A re-run into the same `out` autogrades only what is new or changed (a learner's notebook,
    or the assignment's source), so manual grades entered in between are kept; `regrade=True`
    autogrades everything again.
    """
    source = course.source_dir(assignment)
    notebooks = course.notebooks(assignment)
    submissions, out = submissions.resolve(), out.resolve()
    _check_paths(submissions, out, course)
    _prepare_output(out)
    log = out / "autograder.log"
    db_url = f"sqlite:///{out / 'gradebook.db'}"
    workspace, source_changed = _prepare_workspace(out, source, assignment, db_url)
    regrade = regrade or source_changed

    found = discover(submissions, assignment, notebooks)
    gradable = [s for s in found if s.problem is None]
    to_grade = []
    for submission in gradable:
        changed = _copy_submission(submission, workspace, assignment)
        graded_before = (workspace / "autograded" / submission.student_id / assignment).is_dir()
        if changed or regrade or not graded_before:
            to_grade.append(submission)

    settings = [f"--ExecutePreprocessor.timeout={timeout}"]
    result = run_nbgrader(["generate_assignment", assignment, "--force", "--create", *settings],
                          cwd=workspace, log=log)
    # nbgrader can exit 0 after a failure (a config error, say): check what it was to create.
    if result.returncode != 0 or not (out / "gradebook.db").is_file():
        raise AutograderError(f"nbgrader could not register {assignment} in the gradebook "
                              f"{out / 'gradebook.db'}; see {log}")

    failed: dict[str, str] = {}
    for submission in to_grade:
        # One learner at a time, so that one broken notebook cannot stop the others.
        result = run_nbgrader(["autograde", assignment, f"--student={submission.student_id}",
                               "--create", "--force", *settings], cwd=workspace, log=log)
        if result.returncode != 0:
            failed[submission.student_id] = f"error: nbgrader could not grade it (see {log.name})"
    run_nbgrader(["generate_feedback", assignment, "--force", *settings], cwd=workspace, log=log)

    cells = {name: course.grade_cells(assignment, name) for name in notebooks}
    rows = _collect_rows(assignment, cells, found, failed, db_url)
    _copy_feedback(workspace, assignment, out)
    write_csv(rows, cells, out / "grades.csv")
    return rows


def discover(submissions: Path, assignment: str, notebooks: list[str]) -> list[Submission]:
    """One Submission per learner folder, with a `problem` where it cannot be graded."""
    found = []
    for folder in sorted(submissions.iterdir()):
        if folder.name.startswith(".") or folder.name == "__MACOSX":
            continue  # hidden files and archive debris are not learners
        if not folder.is_dir():
            found.append(Submission(folder.name, problem=(
                f"error: {folder.name} is a file; expected a folder <student_id>/ holding "
                f"{', '.join(notebooks)}")))
            continue
        submission = Submission(folder.name)
        if not STUDENT_ID.match(folder.name):
            submission.problem = (f"error: {folder.name!r} is not a usable student id (letters, "
                                  "digits and . _ @ + - only)")
        else:
            for name in notebooks:
                path = _find_notebook(folder, assignment, name)
                if path is None:
                    submission.problem = f"error: no {name} in {folder.name}/"
                    break
                problem = _unreadable(path, submissions)
                if problem:
                    submission.problem = problem
                    break
                submission.notebooks[name] = path
        found.append(submission)
    return found


def _find_notebook(folder: Path, assignment: str, name: str) -> Path | None:
    for candidate in (folder / name, folder / assignment / name):
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


def _unreadable(path: Path, submissions: Path) -> str | None:
    """Why `path` is not a notebook nbgrader can grade, or None if it is one."""
    shown = path.relative_to(submissions)
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # JSON errors, wrong encodings, truncated uploads ...
        return f"error: {shown} is not a readable notebook ({type(error).__name__}: {error})"
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        return f"error: {shown} is not a valid notebook ({error.message})"
    return None


def _check_paths(submissions: Path, out: Path, course: Course) -> None:
    if not submissions.is_dir():
        raise AutograderError(f"submissions folder {submissions} does not exist or is not a folder")
    if out == submissions or submissions in out.parents:
        raise AutograderError(f"--out {out} is inside the submissions folder {submissions}; "
                              "choose a folder outside it, so that no submission is touched")
    if out in submissions.parents:
        raise AutograderError(f"the submissions folder {submissions} is inside --out {out}")
    protected = (course.solutions, course.released)
    if out in (course.root, *protected) or out in course.root.parents or any(
            folder in out.parents for folder in protected):
        raise AutograderError(f"--out {out} would write into the course's notebooks or above "
                              "them; choose another folder")


def _prepare_output(out: Path) -> None:
    """Create OUT, refusing to write into a non-empty folder an earlier run did not create."""
    if out.exists() and not out.is_dir():
        raise AutograderError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / OUTPUT_MARKER).exists():
        raise AutograderError(f"--out {out} is not empty and was not written by the autograder; "
                              "refusing to write into it (choose a new folder)")
    out.mkdir(parents=True, exist_ok=True)
    (out / OUTPUT_MARKER).write_text("written by python -m autograder grade\n", encoding="utf-8")


def _prepare_workspace(out: Path, source: Path, assignment: str,
                       db_url: str) -> tuple[Path, bool]:
    """OUT/nbgrader: an nbgrader course root of its own, so that the instructor can open the
    formgrader there (`cd OUT/nbgrader && jupyter lab`) to grade the written answers by hand.
    Returns it, and whether the assignment's source differs from the last run's."""
    workspace = out / "nbgrader"
    target = workspace / "source" / assignment
    previous = _digest(target) if target.exists() else None
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (workspace / "nbgrader_config.py").write_text(WORKSPACE_CONFIG.format(
        root=str(workspace), db_url=db_url), encoding="utf-8")
    return workspace, previous != _digest(target)


def _digest(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _copy_submission(submission: Submission, workspace: Path, assignment: str) -> bool:
    """Copy the learner's notebooks into the workspace; return whether they changed."""
    target = workspace / "submitted" / submission.student_id / assignment
    incoming = {name: path.read_bytes() for name, path in submission.notebooks.items()}
    if target.is_dir() and _digest(target) == incoming:
        return False
    if target.exists():
        shutil.rmtree(target)  # a file the learner removed since the last run must not linger
    target.mkdir(parents=True)
    for name, content in incoming.items():
        (target / name).write_bytes(content)
    return True


def _collect_rows(assignment: str, cells: dict[str, list[GradeCell]], found: list[Submission],
                  failed: dict[str, str], db_url: str) -> list[GradeRow]:
    from nbgrader.api import Gradebook, MissingEntry  # slow import, only needed here

    rows = []
    with Gradebook(db_url) as gradebook:
        for submission in found:
            for notebook, graded_cells in cells.items():
                status = submission.problem or failed.get(submission.student_id)
                scores: dict[str, float | None] = {cell.grade_id: 0.0 for cell in graded_cells}
                if status is None:
                    try:
                        graded = gradebook.find_submission_notebook(
                            notebook.removesuffix(".ipynb"), assignment, submission.student_id)
                    except MissingEntry:
                        status = "error: nbgrader recorded no grades for it"
                    else:
                        scores, status = _scores(graded, graded_cells)
                rows.append(GradeRow(submission.student_id, notebook, scores, status))
    return rows


def _scores(graded, cells: list[GradeCell]) -> tuple[dict[str, float | None], str]:
    by_id = {grade.name: grade for grade in graded.grades}
    scores: dict[str, float | None] = {}
    pending = False
    for cell in cells:
        grade = by_id.get(cell.grade_id)
        if grade is None:
            scores[cell.grade_id] = 0.0
        elif grade.needs_manual_grade:
            scores[cell.grade_id] = None
            pending = True
        else:
            scores[cell.grade_id] = float(grade.score)
    return scores, "needs manual grading" if pending else "graded"


def _copy_feedback(workspace: Path, assignment: str, out: Path) -> None:
    for html in sorted((workspace / "feedback").glob(f"*/{assignment}/*.html")):
        student_id = html.parent.parent.name
        target = out / "feedback" / student_id
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(html, target / html.name)


def write_csv(rows: list[GradeRow], cells: dict[str, list[GradeCell]], path: Path) -> None:
    """grades.csv: student_id, notebook, one column per graded cell, total, max, status."""
    columns = [cell.grade_id for graded_cells in cells.values() for cell in graded_cells]
    maxima = {name: sum(cell.points for cell in graded) for name, graded in cells.items()}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "notebook", *columns, "total", "max", "status"])
        for row in rows:
            points = [_number(row.scores.get(column, "")) for column in columns]
            total = sum(score or 0.0 for score in row.scores.values())
            writer.writerow([row.student_id, row.notebook, *points, _number(total),
                             _number(maxima[row.notebook]), row.status])


def _number(value) -> str:
    """Points as written in the CSV: 3 rather than 3.0, empty while not yet graded."""
    if value is None or value == "":
        return ""
    return f"{value:g}"
