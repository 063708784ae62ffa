"""Benchmark: grading a class of lesson 04 with the autograder against plain nbgrader.

Builds N submissions (a mix of correct, alternative, wrong and blank answers, from the solution
notebook and tests/implementations/) and grades the same input three times in one run:

1. plain sequential nbgrader: `nbgrader autograde 04_clipping_numpy` in a course folder of its
   own (one process, one learner after another, no sandbox, no feedback);
2. `python -m autograder grade --jobs J --no-sandbox`;
3. `python -m autograder grade --jobs J` (the sandbox on; what instructors run).

It prints seconds per submission for each, the speed-up of 3 over 1 (against nbgrader's
autograde alone, and against autograde + generate_feedback, the same outputs), and the sandbox's
overhead (3 over 2). The autograder's times include writing grades.csv and the static review.

    make bench          # or: python benchmarks/grading.py [--submissions 40] [--jobs 2]
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

from autograder.course import nbgrader_env  # noqa: E402

LESSON, NOTEBOOK = "04_clipping_numpy", "clipping_numpy.ipynb"
NBGRADER_CONFIG = """\
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "bench"
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.ExecutePreprocessor.timeout = 120
"""


def class_of(size: int) -> dict[str, nbformat.NotebookNode]:
    """`size` learners: the solution, alternatives, each wrong implementation, a blank one."""
    solution = solution_code(LESSON)
    kinds = [("correct", filled_notebook(LESSON, solution)),
             ("blank", filled_notebook(LESSON, {}))]
    for path in sorted((ROOT / "tests/implementations" / LESSON).glob("*.py")):
        code = implementation_code(path)
        if path.stem.startswith("wrong_"):
            code = {**solution, **code}
        kinds.append((path.stem, filled_notebook(LESSON, code)))
    return {f"s{i:03d}_{kind}": notebook
            for i, (kind, notebook) in zip(range(size), cycle(kinds), strict=False)}


def write_submissions(learners: dict, folder: Path) -> None:
    for student, notebook in learners.items():
        (folder / student).mkdir(parents=True)
        nbformat.write(notebook, folder / student / NOTEBOOK)


def plain_nbgrader(learners: dict, base: Path) -> tuple[float, float]:
    """Seconds for one `nbgrader autograde` over every learner, in a course of its own, and for
    that plus `nbgrader generate_feedback` (the autograder writes feedback too)."""
    root = base / "plain"
    shutil.copytree(ROOT / "solutions" / LESSON, root / "source" / LESSON)
    (root / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(root=str(root)))
    write_submissions(learners, root / "submitted")
    for student in learners:  # nbgrader's layout: submitted/<student>/<assignment>/
        (root / "submitted" / student / LESSON).mkdir()
        (root / "submitted" / student / NOTEBOOK).rename(
            root / "submitted" / student / LESSON / NOTEBOOK)
    nbgrader = [sys.executable, "-m", "nbgrader"]
    run(nbgrader + ["generate_assignment", LESSON, "--create", "--force"], root)
    started = time.perf_counter()
    run(nbgrader + ["autograde", LESSON, "--create", "--force"], root)
    autograded = time.perf_counter()
    run(nbgrader + ["generate_feedback", LESSON, "--force"], root)
    return autograded - started, time.perf_counter() - started


def autograder(submissions: Path, out: Path, jobs: int, sandbox: bool) -> float:
    command = [sys.executable, "-m", "autograder", "grade", LESSON, str(submissions),
               "--out", str(out), "--jobs", str(jobs), "--no-progress"]
    started = time.perf_counter()
    run(command + ([] if sandbox else ["--no-sandbox"]), ROOT)
    return time.perf_counter() - started


def run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, env=nbgrader_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    learners = class_of(args.submissions)
    with tempfile.TemporaryDirectory(prefix="gradclip-bench-") as temporary:
        base = Path(temporary)
        write_submissions(learners, base / "submissions")
        print(f"grading {len(learners)} submissions of {LESSON} on {os.cpu_count()} CPUs ...")
        plain, plain_with_feedback = plain_nbgrader(learners, base)
        unsandboxed = autograder(base / "submissions", base / "out-nosandbox", args.jobs, False)
        sandboxed = autograder(base / "submissions", base / "out", args.jobs, True)
    count = len(learners)
    print(f"\n{'':48s} {'total s':>8s} {'s/submission':>13s}")
    for label, seconds in [("plain nbgrader autograde (sequential)", plain),
                           ("  + nbgrader generate_feedback", plain_with_feedback),
                           (f"autograder --jobs {args.jobs} --no-sandbox", unsandboxed),
                           (f"autograder --jobs {args.jobs} (sandboxed)", sandboxed)]:
        print(f"{label:48s} {seconds:8.1f} {seconds / count:13.2f}")
    print("\n(the autograder's times include writing the feedback, grades.csv and the review)")
    print(f"speed-up of the sandboxed autograder over plain nbgrader autograde + feedback: "
          f"{plain_with_feedback / sandboxed:.2f}x")
    print(f"speed-up of the sandboxed autograder over plain nbgrader autograde alone: "
          f"{plain / sandboxed:.2f}x")
    print(f"sandbox overhead per submission: {(sandboxed / unsandboxed - 1) * 100:+.1f} %")


if __name__ == "__main__":
    main()
