"""Long-lived nbgrader workers (autograder.worker), one per job, each asked one learner at a time.

A worker that takes longer than a learner's time limit, or dies, is killed with everything it
started (its process group; the sandboxed kernel dies with it) and replaced by a fresh one for
the next learner. `KeptWorkers` keeps them from one grading run to the next (a Dask worker's
tasks, autograder.cluster).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


class WorkerDied(Exception):
    """The worker process ended while a learner was being graded."""


class Worker:
    def __init__(self, assignment: str, workspace: Path, env: dict[str, str], cell_timeout: int,
                 output: Path) -> None:
        self.command = [sys.executable, "-m", "autograder.worker"]
        self.arguments = [assignment, str(cell_timeout)]
        self.workspace, self.env, self.output = workspace, env, output
        self.process: subprocess.Popen | None = None
        self.replies = -1
        self.buffer = b""

    def ask(self, action: str, student_id: str, seconds: float) -> dict | None:
        """Send one request; its reply, or None if it took longer than `seconds` (the worker is
        then killed). Raises WorkerDied if the worker ended without replying."""
        if self.process is None or self.process.poll() is not None:
            self.start()
        try:
            self.process.stdin.write(json.dumps({"action": action, "student": student_id}) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            self.kill()
            raise WorkerDied from None
        deadline = time.monotonic() + seconds
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                return None
            ready, _, _ = select.select([self.replies], [], [], remaining)
            if ready:
                chunk = os.read(self.replies, 1 << 16)
                if not chunk:
                    self.kill()
                    raise WorkerDied
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def start(self) -> None:
        """Start a fresh worker process (it imports nbgrader while the caller goes on)."""
        self.kill()
        read_end, write_end = os.pipe()
        with self.output.open("a", encoding="utf-8") as output:
            self.process = subprocess.Popen(
                [*self.command, str(write_end), *self.arguments], cwd=self.workspace,
                env=self.env, stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT,
                text=True, pass_fds=(write_end,), start_new_session=True)
        os.close(write_end)
        self.replies, self.buffer = read_end, b""

    def kill(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process.stdin.close()
            self.process = None
        if self.replies >= 0:
            os.close(self.replies)
            self.replies = -1

    def close(self) -> None:
        """Let the worker finish (end of its input), then make sure it is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        self.kill()


class KeptWorkers:
    """Workers, with their warm-kernel templates, kept from one grading run to the next instead
    of started for each. A run takes them only if it would start them exactly so (`signature`:
    the assignment, workspace, environment (which holds the sandbox policy) and time limit);
    otherwise they are closed and new ones started."""

    def __init__(self) -> None:
        self.workers: list[Worker] = []
        self.signature: tuple | None = None

    def take(self, signature: tuple, jobs: int, start: Callable[[], Worker]) -> list[Worker]:
        if signature != self.signature or len(self.workers) != jobs:
            self.close()
            self.workers = [start() for _ in range(jobs)]
            self.signature = signature
        return self.workers

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.workers, self.signature = [], None
