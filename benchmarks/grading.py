"""Benchmark: grading classes of lessons 03 and 04 with the autograder against plain nbgrader.

For each lesson it builds N submissions (a mix of correct, alternative, wrong and blank answers,
from the solution notebook and tests/implementations/) and grades the same input, in one run:

1. plain sequential nbgrader: `nbgrader autograde` then `nbgrader generate_feedback` in a course
   folder of its own (one process, one learner after another, no sandbox);
2. `python -m autograder grade --jobs 1` and `--jobs 2`, sandboxed (what instructors run);
3. `python -m autograder grade --jobs 2 --cold-kernels` (sandboxed, no warm-kernel template) and
   `--jobs 2 --no-sandbox` (which has no template either).

It prints a table of seconds per submission and the speed-ups over nbgrader's autograde +
generate_feedback (the same outputs: grades and feedback), the sandbox's own overhead (cold
kernels with and without it) and what warm kernels gain over cold ones. Lesson 04 imports NumPy
only; lesson 03 imports torch (3 s of start-up per kernel on this machine), which warm kernels
pay once per job. The autograder's times include writing
grades.csv, the review, similarity.csv and report.html.

    make bench          # or: python benchmarks/grading.py [--submissions 40] [--lessons ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import cycle
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers import filled_notebook, implementation_code, solution_code  # noqa: E402

from autograder.course import Course, nbgrader_env  # noqa: E402

LESSONS = ("03_the_cliff", "04_clipping_numpy")
LESSON = "04_clipping_numpy"  # the cluster benchmark's
NBGRADER_CONFIG = """\
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "bench"
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.ExecutePreprocessor.timeout = 120
"""


def class_of(size: int, lesson: str = LESSON) -> dict[str, nbformat.NotebookNode]:
    """`size` learners: the solution, alternatives, each wrong implementation, a blank one."""
    solution = solution_code(lesson)
    kinds = [("correct", filled_notebook(lesson, solution)),
             ("blank", filled_notebook(lesson, {}))]
    for path in sorted((ROOT / "tests/implementations" / lesson).glob("*.py")):
        code = implementation_code(path)
        if path.stem.startswith("wrong_"):
            code = {**solution, **code}
        kinds.append((path.stem, filled_notebook(lesson, code)))
    return {f"s{i:03d}_{kind}": notebook
            for i, (kind, notebook) in zip(range(size), cycle(kinds), strict=False)}


def notebook_of(lesson: str) -> str:
    (name,) = Course(ROOT).notebooks(lesson)
    return name


def write_submissions(learners: dict, folder: Path, lesson: str = LESSON) -> None:
    for student, notebook in learners.items():
        (folder / student).mkdir(parents=True)
        nbformat.write(notebook, folder / student / notebook_of(lesson))


def plain_nbgrader(learners: dict, base: Path, lesson: str) -> tuple[float, float]:
    """Seconds for one `nbgrader autograde` over every learner, in a course of its own, and for
    that plus `nbgrader generate_feedback` (the autograder writes feedback too)."""
    root = base / "plain"
    notebook = notebook_of(lesson)
    shutil.copytree(ROOT / "solutions" / lesson, root / "source" / lesson)
    (root / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(root=str(root)))
    write_submissions(learners, root / "submitted", lesson)
    for student in learners:  # nbgrader's layout: submitted/<student>/<assignment>/
        (root / "submitted" / student / lesson).mkdir()
        (root / "submitted" / student / notebook).rename(
            root / "submitted" / student / lesson / notebook)
    nbgrader = [sys.executable, "-m", "nbgrader"]
    run(nbgrader + ["generate_assignment", lesson, "--create", "--force"], root)
    started = time.perf_counter()
    run(nbgrader + ["autograde", lesson, "--create", "--force"], root)
    autograded = time.perf_counter()
    run(nbgrader + ["generate_feedback", lesson, "--force"], root)
    return autograded - started, time.perf_counter() - started


def autograder(submissions: Path, out: Path, jobs: int, sandbox: bool,
               lesson: str = LESSON, *options: str) -> float:
    command = [sys.executable, "-m", "autograder", "grade", lesson, str(submissions),
               "--out", str(out), "--jobs", str(jobs), "--no-progress", *options]
    started = time.perf_counter()
    run(command + ([] if sandbox else ["--no-sandbox"]), ROOT)
    return time.perf_counter() - started


def run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, env=nbgrader_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


def measure(lesson: str, size: int, base: Path) -> dict[str, float]:
    """{contender: seconds} for one lesson's class."""
    learners = class_of(size, lesson)
    write_submissions(learners, base / "submissions", lesson)
    plain, with_feedback = plain_nbgrader(learners, base, lesson)
    times = {"nbgrader autograde (sequential)": plain,
             "nbgrader autograde + generate_feedback": with_feedback}
    for jobs in (1, 2):
        times[f"autograder --jobs {jobs}"] = autograder(
            base / "submissions", base / f"out-{jobs}", jobs, True, lesson)
    times["autograder --jobs 2 --cold-kernels"] = autograder(
        base / "submissions", base / "out-cold", 2, True, lesson, "--cold-kernels")
    times["autograder --jobs 2 --no-sandbox"] = autograder(
        base / "submissions", base / "out-nosandbox", 2, False, lesson)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--lessons", nargs="+", default=list(LESSONS))
    args = parser.parse_args()
    results = {}
    for lesson in args.lessons:
        print(f"grading {args.submissions} submissions of {lesson} on {os.cpu_count()} CPUs ...",
              flush=True)
        with tempfile.TemporaryDirectory(prefix="gradclip-bench-") as temporary:
            results[lesson] = measure(lesson, args.submissions, Path(temporary))
    print(f"\nseconds per submission ({args.submissions} per lesson)")
    print(f"{'':42s}" + "".join(f"{lesson:>20s}" for lesson in results))
    for contender in next(iter(results.values())):
        print(f"{contender:42s}" + "".join(f"{times[contender] / args.submissions:20.2f}"
                                           for times in results.values()))
    baseline = "nbgrader autograde + generate_feedback"
    for jobs, goal in ((1, 2.0), (2, 3.5)):
        print(f"{f'speed-up, --jobs {jobs} (goal {goal}x)':42s}" + "".join(
            f"{times[baseline] / times[f'autograder --jobs {jobs}']:19.2f}x"
            for times in results.values()))
    # Without the sandbox there is no template (kernels start cold), so the sandbox's own cost is
    # cold kernels in bubblewrap against cold kernels without it.
    overheads = [times["autograder --jobs 2 --cold-kernels"]
                 / times["autograder --jobs 2 --no-sandbox"] - 1 for times in results.values()]
    print(f"{'sandbox overhead, cold kernels (goal < 10 %)':42s}"
          + "".join(f"{overhead * 100:+19.1f}%" for overhead in overheads))
    gains = [times["autograder --jobs 2 --cold-kernels"] / times["autograder --jobs 2"]
             for times in results.values()]
    print(f"{'warm kernels over cold, --jobs 2':42s}"
          + "".join(f"{gain:19.2f}x" for gain in gains))
    print("\n(speed-ups are over nbgrader's autograde + generate_feedback: the same outputs)")


if __name__ == "__main__":
    main()
