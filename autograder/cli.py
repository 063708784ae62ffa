"""Command line: `python -m autograder {grade,check,release,outputs}`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from autograder.course import AutograderError, Course, nbgrader_env


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder", description="Release and grade the gradclip course.")
    parser.add_argument("--course-root", help="the course repository (default: found for you)")
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="autograde a folder of submissions")
    grade.add_argument("assignment", help="e.g. 01_vector_products")
    grade.add_argument("submissions", type=Path,
                       help="folder of <student_id>/<notebook>.ipynb (never modified)")
    grade.add_argument("--out", type=Path, required=True,
                       help="folder for grades.csv, feedback/, gradebook.db and the log")
    grade.add_argument("--timeout", type=int, default=120,
                       help="seconds one notebook cell may run (default: 120)")
    grade.add_argument("--regrade", action="store_true",
                       help="autograde every submission again, even unchanged ones (a re-run "
                            "normally grades only new or changed ones, keeping manual grades)")

    check = commands.add_parser(
        "check", help="run a learner's notebook and report its visible tests (changes nothing)")
    check.add_argument("notebook", type=Path,
                       help="e.g. course/03_clipping_numpy/clipping_numpy.ipynb")
    check.add_argument("--timeout", type=int, default=120,
                       help="seconds one notebook cell may run (default: 120)")

    release = commands.add_parser("release", help="regenerate course/ from solutions/")
    release.add_argument("assignments", nargs="*", help="default: every assignment")
    outputs = commands.add_parser("outputs", help="re-execute solutions/ to refresh its outputs")
    outputs.add_argument("assignments", nargs="*", help="default: every assignment")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # nbgrader's Gradebook, used in this process too, runs `alembic` by name.
    os.environ["PATH"] = nbgrader_env()["PATH"]
    try:
        if args.command == "check":
            return _check(args)
        course = Course.locate(args.course_root)
        if args.command == "grade":
            return _grade(course, args)
        from autograder.release import refresh_outputs, release

        if args.command == "outputs":
            refresh_outputs(course, args.assignments)
        else:
            release(course, args.assignments)
        return 0
    except AutograderError as error:
        print(f"autograder: error: {error}", file=sys.stderr)
        return 2


def _grade(course: Course, args: argparse.Namespace) -> int:
    from autograder.grade import grade

    if args.timeout <= 0:
        raise AutograderError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    rows = grade(course, args.assignment, args.submissions, args.out, timeout=args.timeout,
                 regrade=args.regrade)
    errors = [row for row in rows if row.status.startswith("error")]
    print(f"graded {len(rows) - len(errors)} of {len(rows)} submissions; "
          f"grades in {args.out / 'grades.csv'}")
    for row in errors:
        print(f"  {row.student_id}: {row.status}", file=sys.stderr)
    return 0


def _check(args: argparse.Namespace) -> int:
    from autograder.check import all_passed, check, format_report

    if args.timeout <= 0:
        raise AutograderError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    reports = check(args.notebook, timeout=args.timeout)
    print(format_report(args.notebook, reports))
    return 0 if all_passed(reports) else 1
