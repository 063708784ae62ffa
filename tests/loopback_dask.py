"""A Dask cluster on loopback for the tests and benchmarks of `grade --cluster`: a `dask scheduler`
and `dask worker` processes, each worker in an empty working folder of its own (as if on another
machine), each process in its own session so that it can be killed with all it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

START_SECONDS = 120  # a loaded 2-core machine starts a Dask process in a few seconds


def _dask(kind: str, *args: str, cwd: Path, log: Path) -> subprocess.Popen:
    """A `dask scheduler` or `dask worker` process in its own session (killed with its group)."""
    command = [sys.executable, "-m", f"distributed.cli.dask_{kind}", *args]
    with log.open("w") as handle:
        return subprocess.Popen(command, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)


class LoopbackCluster:
    def __init__(self, base: Path, workers: int = 2) -> None:
        self.base = base
        self.scheduler_file = base / "scheduler.json"
        self.scheduler = _dask("scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(self.scheduler_file),
                               cwd=base, log=base / "scheduler.log")
        self.workers: list[subprocess.Popen] = []
        self.add_workers(workers)

    def add_workers(self, count: int) -> None:
        """Start `count` more workers and wait until the scheduler has them all."""
        for _ in range(count):
            self.workers.append(self._worker(f"worker-{len(self.workers) + 1}"))
        self._wait_for_workers(len([w for w in self.workers if w.poll() is None]))

    def _worker(self, name: str) -> subprocess.Popen:
        folder = self.base / name  # empty: the worker sees nothing of the instructor's files
        folder.mkdir()
        return _dask("worker", "--scheduler-file", str(self.scheduler_file), "--nthreads", "1",
                     "--no-nanny", "--no-dashboard", "--name", name,
                     "--local-directory", str(folder), cwd=folder, log=self.base / f"{name}.log")

    def _wait_for_workers(self, count: int) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not self.scheduler_file.is_file():
            assert self.scheduler.poll() is None, (self.base / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.2)
        from distributed import Client

        with Client(scheduler_file=str(self.scheduler_file), timeout="60s") as client:
            client.wait_for_workers(count, timeout=START_SECONDS)

    def kill(self, worker: subprocess.Popen) -> None:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
