"""Benchmark: grading classes of lessons 03 and 04 with the autograder against plain nbgrader.

For each lesson it builds N submissions (a mix of correct, alternative, wrong and blank answers,
from the solution notebook and tests/implementations/) and grades the same input, in one run:

1. plain sequential nbgrader: `nbgrader autograde` then `nbgrader generate_feedback` in a course
   folder of its own (one process, one learner after another, no sandbox);
2. `python -m autograder grade --jobs 1` and `--jobs 2`, sandboxed (what instructors run);
3. `python -m autograder grade --jobs 2 --cold-kernels` (sandboxed, no warm-kernel template) and
   `--jobs 2 --no-sandbox` (which has no template either), in turns, `--rounds` times each
   (their medians: the sandbox's cost is smaller than the machine's drift between two runs).

It prints a table of seconds per submission and the speed-ups over nbgrader's autograde +
generate_feedback (the same outputs: grades and feedback), the sandbox's own overhead (cold
kernels with and without it) and what warm kernels gain over cold ones. Lesson 04 imports NumPy
only; lesson 03 imports torch (3 s of start-up per kernel on this machine), which warm kernels
pay once per job. The autograder's times include writing
grades.csv, the review, similarity.csv and report.html.

    make bench          # or: python benchmarks/grading.py [--submissions 40] [--lessons ...]
                        #     [--contenders nbgrader jobs1 jobs2 cold nosandbox]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
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


PLAIN, WITH_FEEDBACK = "nbgrader autograde (sequential)", "nbgrader autograde + generate_feedback"
JOBS_1, JOBS_2 = "autograder --jobs 1", "autograder --jobs 2"
COLD, NO_SANDBOX = "autograder --jobs 2 --cold-kernels", "autograder --jobs 2 --no-sandbox"
# The autograder's contenders: (jobs, sandboxed, extra options) by the name of their row.
AUTOGRADER = {JOBS_1: (1, True, ()), JOBS_2: (2, True, ()),
              COLD: (2, True, ("--cold-kernels",)), NO_SANDBOX: (2, False, ())}
# What --contenders names: nbgrader, and the autograder's rows by their options.
CONTENDERS = {"nbgrader": (PLAIN, WITH_FEEDBACK), "jobs1": (JOBS_1,), "jobs2": (JOBS_2,),
              "cold": (COLD,), "nosandbox": (NO_SANDBOX,)}
# The sandbox's own cost is a few per cent, less than this shared machine's speed drifts between
# two runs: its two contenders are run in turns, `rounds` times each, and their medians compared.
INTERLEAVED = (COLD, NO_SANDBOX)


def measure(lesson: str, size: int, base: Path,
            contenders: tuple[str, ...] = tuple(CONTENDERS), rounds: int = 3) -> dict[str, float]:
    """{row: seconds} for one lesson's class, graded by each of `contenders` (the INTERLEAVED
    ones: the median of `rounds` runs in turns)."""
    learners = class_of(size, lesson)
    write_submissions(learners, base / "submissions", lesson)
    times: dict[str, float] = {}
    if "nbgrader" in contenders:
        times[PLAIN], times[WITH_FEEDBACK] = plain_nbgrader(learners, base, lesson)
    chosen = [row for row in AUTOGRADER if any(row in CONTENDERS[name] for name in contenders)]
    runs: dict[str, list[float]] = {row: [] for row in chosen}
    schedule = [row for row in chosen if row not in INTERLEAVED]
    schedule += [row for _ in range(rounds) for row in INTERLEAVED if row in chosen]
    for index, row in enumerate(schedule):
        jobs, sandbox, options = AUTOGRADER[row]
        runs[row].append(autograder(base / "submissions", base / f"out-{index}", jobs, sandbox,
                                    lesson, *options))
    times.update({row: statistics.median(runs[row]) for row in chosen})
    return times


def table(results: dict[str, dict[str, float]], submissions: int) -> list[str]:
    """The printed table: seconds per submission for each row measured in every lesson, then
    the ratios whose two rows were measured."""
    lessons = list(results)
    measured = [row for row in next(iter(results.values()))
                if all(row in times for times in results.values())]
    lines = [f"seconds per submission ({submissions} per lesson)",
             f"{'':42s}" + "".join(f"{lesson:>20s}" for lesson in lessons)]
    lines += [f"{row:42s}" + "".join(f"{results[lesson][row] / submissions:20.2f}"
                                     for lesson in lessons) for row in measured]
    # Without the sandbox there is no template (kernels start cold), so the sandbox's own cost is
    # cold kernels in bubblewrap against cold kernels without it.
    ratios = [("speed-up, --jobs 1 (goal 2.0x)", WITH_FEEDBACK, JOBS_1, "x"),
              ("speed-up, --jobs 2 (goal 3.5x)", WITH_FEEDBACK, JOBS_2, "x"),
              ("sandbox overhead, cold kernels (goal < 10 %)", COLD, NO_SANDBOX, "%"),
              ("warm kernels over cold, --jobs 2", COLD, JOBS_2, "x")]
    for name, numerator, denominator, unit in ratios:
        if numerator in measured and denominator in measured:
            values = [results[lesson][numerator] / results[lesson][denominator]
                      for lesson in lessons]
            lines.append(f"{name:42s}" + "".join(
                f"{(value - 1) * 100:+19.1f}%" if unit == "%" else f"{value:19.2f}x"
                for value in values))
    lines.append("\n(speed-ups are over nbgrader's autograde + generate_feedback: "
                 "the same outputs)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--lessons", nargs="+", default=list(LESSONS))
    parser.add_argument("--contenders", nargs="+", choices=list(CONTENDERS),
                        default=list(CONTENDERS), help="which to run (default: all)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs in turns of --cold-kernels and --no-sandbox (their median)")
    args = parser.parse_args()
    results = {}
    for lesson in args.lessons:
        print(f"grading {args.submissions} submissions of {lesson} on {os.cpu_count()} CPUs ...",
              flush=True)
        with tempfile.TemporaryDirectory(prefix="gradclip-bench-") as temporary:
            results[lesson] = measure(lesson, args.submissions, Path(temporary),
                                      tuple(args.contenders), args.rounds)
    print()
    print("\n".join(table(results, args.submissions)))


if __name__ == "__main__":
    main()
