"""Command line: `python -m autograder {grade,return-feedback,check,release,outputs}`."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from autograder.collect import DEFAULT_ZIP_PATTERN
from autograder.course import AutograderError, Course, nbgrader_env


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder", description="Release and grade the gradclip course.")
    parser.add_argument("--course-root", help="the course repository (default: found for you)")
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="autograde a folder of submissions")
    grade.add_argument("assignment", help="e.g. 01_vector_products")
    grade.add_argument("submissions", type=Path,
                       help="folder of <student_id>/<notebook>.ipynb, or a .zip from an LMS "
                            "(never modified)")
    grade.add_argument("--out", type=Path, required=True,
                       help="folder for grades.csv, feedback/, gradebook.db and the log")
    grade.add_argument("--jobs", type=int, default=0,
                       help="learners graded at once (default: one per CPU core)")
    grade.add_argument("--timeout", type=int, default=120,
                       help="seconds one notebook cell may run (default: 120)")
    grade.add_argument("--notebook-timeout", type=int, default=900,
                       help="seconds one learner's whole grading may take (default: 900)")
    grade.add_argument("--memory", default="4G",
                       help="memory one learner's kernel may allocate, e.g. 2G, 512M "
                            "(default: 4G)")
    grade.add_argument("--db", metavar="URL",
                       help="the gradebook as an SQLAlchemy URL, e.g. "
                            "postgresql://user@host/course (default: SQLite OUT/gradebook.db)")
    grade.add_argument("--zip-pattern", default=DEFAULT_ZIP_PATTERN,
                       help="regular expression with a (?P<student_id>...) group that finds the "
                            "learner in a .zip member's name (default: %(default)s, the text "
                            "before the first underscore)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run learner code without bubblewrap, with your permissions (only "
                            "for code you trust)")
    kernels = grade.add_mutually_exclusive_group()
    kernels.add_argument("--warm-kernels", dest="warm_kernels", action="store_true",
                         default=None,
                         help="fork each learner's kernel from a template that has imported the "
                              "lesson's modules (default: when each job has two learners or "
                              "more to grade)")
    kernels.add_argument("--cold-kernels", dest="warm_kernels", action="store_false",
                         help="start each learner's kernel from scratch")
    cluster = grade.add_mutually_exclusive_group()
    cluster.add_argument("--cluster", metavar="ADDRESS",
                         help="grade every learner as a task on this Dask scheduler's workers "
                              "(tcp://host:8786); the gradebook stays here")
    cluster.add_argument("--scheduler-file", metavar="FILE",
                         help="the same, the scheduler named by the JSON file that "
                              "`dask scheduler --scheduler-file FILE` writes")
    grade.add_argument("--no-progress", action="store_true",
                       help="no progress bar (there is none when stderr is not a terminal)")
    grade.add_argument("--feedback-shows-hidden-tests", action="store_true",
                       help="feedback as nbgrader writes it, with the code of the hidden tests "
                            "(by default it shows their scores and messages, not their code)")
    grade.add_argument("--regrade", action="store_true",
                       help="autograde every submission again, even unchanged ones (a re-run "
                            "normally grades only new or changed ones, keeping manual grades)")

    check = commands.add_parser(
        "check", help="run a learner's notebook and report its visible tests (changes nothing)")
    check.add_argument("notebook", type=Path,
                       help="e.g. course/04_clipping_numpy/clipping_numpy.ipynb")
    check.add_argument("--timeout", type=int, default=120,
                       help="seconds one notebook cell may run (default: 120)")

    back = commands.add_parser(
        "return-feedback", help="return a grading run's feedback through nbgrader's exchange")
    back.add_argument("assignment", help="e.g. 04_clipping_numpy")
    back.add_argument("--out", type=Path, required=True,
                      help="the --out folder of `grade` for this assignment")

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
        if args.command == "return-feedback":
            return _return_feedback(args)
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
    from autograder.cluster import ClusterAddress
    from autograder.grade import grade

    for option in ("timeout", "notebook_timeout"):
        if getattr(args, option) <= 0:
            raise AutograderError(f"--{option.replace('_', '-')} must be a positive number of "
                                  f"seconds, got {getattr(args, option)}")
    if args.jobs < 0:
        raise AutograderError(f"--jobs must be 0 (one per core) or more, got {args.jobs}")
    rows = grade(course, args.assignment, args.submissions, args.out, timeout=args.timeout,
                 regrade=args.regrade, jobs=args.jobs, notebook_timeout=args.notebook_timeout,
                 memory_bytes=parse_size(args.memory), db_url=args.db,
                 zip_pattern=args.zip_pattern, sandbox=not args.no_sandbox,
                 feedback_shows_hidden_tests=args.feedback_shows_hidden_tests,
                 warm_kernels=args.warm_kernels,
                 cluster=(ClusterAddress(args.cluster, args.scheduler_file)
                          if args.cluster or args.scheduler_file else None),
                 progress=not args.no_progress and sys.stderr.isatty())
    problems = [row for row in rows if not row.outcome.has_grades]
    flagged = [row for row in rows if row.review]
    print(f"graded {len(rows) - len(problems)} of {len(rows)} submissions; "
          f"grades in {args.out / 'grades.csv'}")
    print(f"class report: {(args.out / 'report.html').resolve()}")
    for row in problems:
        print(f"  {row.student_id}: {row.status}", file=sys.stderr)
    for row in flagged:
        print(f"  {row.student_id}: review: {'; '.join(row.review)}", file=sys.stderr)
    return 0


def _return_feedback(args: argparse.Namespace) -> int:
    from autograder.exchange import return_feedback

    returned = return_feedback(args.assignment, args.out)
    count = len(returned.released)
    print(f"feedback on {args.assignment} returned through nbgrader's exchange to {count} "
          f"learner{'' if count == 1 else 's'}: {', '.join(returned.released) or 'none'}")
    if returned.by_hand:
        print(f"not handed in through the exchange, so return these by hand: "
              f"{', '.join(str(args.out / 'feedback' / s) for s in returned.by_hand)}",
              file=sys.stderr)
    return 0


def parse_size(text: str) -> int:
    """'4G', '512M', '1073741824' -> bytes."""
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if not match:
        raise AutograderError(f"--memory {text!r} is not a size such as 4G or 512M")
    size = int(float(match.group(1)) * units[match.group(2).upper()])
    if size < 256 * 2**20:
        raise AutograderError(f"--memory {text} is too small for a Python kernel (at least 256M)")
    return size


def _check(args: argparse.Namespace) -> int:
    from autograder.check import all_passed, check, format_report

    if args.timeout <= 0:
        raise AutograderError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    reports = check(args.notebook, timeout=args.timeout)
    print(format_report(args.notebook, reports))
    return 0 if all_passed(reports) else 1
