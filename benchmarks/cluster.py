"""Benchmark: `grade --cluster` on a Dask cluster on loopback against the local pool.

The same class of lesson 04 (benchmarks/grading.py's mix of correct, alternative, wrong and blank
hand-ins) is graded, sandboxed, in one run:

1. by the local pool, `grade --jobs 2`;
2. on a loopback Dask cluster (tests/loopback_dask.py: `dask scheduler` and `dask worker`
   processes of one thread each, each in an empty folder) with one worker;
3. the same cluster with a second worker added.

It prints seconds per hand-in, the speed-up from one worker to two (3 over 2), and the cluster
path's overhead against the local pool with as many parallel graders (3 over 1). On one machine
the workers share its cores with each other and with the instructor's process; on a real cluster
each worker brings cores of its own.

    make bench          # or: python benchmarks/cluster.py [--submissions 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from grading import LESSON, class_of, run, write_submissions  # noqa: E402
from loopback_dask import LoopbackCluster  # noqa: E402


def grade(submissions: Path, out: Path, *options: str) -> float:
    command = [sys.executable, "-m", "autograder", "grade", LESSON, str(submissions),
               "--out", str(out), "--no-progress", *options]
    started = time.perf_counter()
    run(command, ROOT)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=20)
    args = parser.parse_args()
    learners = class_of(args.submissions)
    with tempfile.TemporaryDirectory(prefix="gradclip-bench-cluster-") as temporary:
        base = Path(temporary)
        write_submissions(learners, base / "submissions")
        print(f"grading {len(learners)} submissions of {LESSON} on {os.cpu_count()} CPUs ...")
        local = grade(base / "submissions", base / "out-local", "--jobs", "2")
        (base / "dask").mkdir()
        cluster = LoopbackCluster(base / "dask", workers=1)
        try:
            address = ("--scheduler-file", str(cluster.scheduler_file))
            one = grade(base / "submissions", base / "out-1", *address)
            cluster.add_workers(1)
            two = grade(base / "submissions", base / "out-2", *address)
        finally:
            cluster.close()
    count = len(learners)
    print(f"\n{'':44s} {'total s':>8s} {'s/submission':>13s}")
    for label, seconds in [("local pool, --jobs 2", local),
                           ("Dask cluster, 1 worker", one),
                           ("Dask cluster, 2 workers", two)]:
        print(f"{label:44s} {seconds:8.1f} {seconds / count:13.2f}")
    print(f"\nspeed-up from 1 to 2 Dask workers: {one / two:.2f}x")
    print(f"overhead of the cluster path against the local pool (2 and 2): "
          f"{(two / local - 1) * 100:+.1f} %")


if __name__ == "__main__":
    main()
