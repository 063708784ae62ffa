"""`python -m autograder.worker ARGS`: `nbgrader ARGS`, safe to run in parallel on one gradebook.

Several of these grade different learners at the same time. nbgrader opens the gradebook briefly
at several points of `autograde` (to register the student, restore the locked cells, save the
scores), and two processes writing one SQLite file at once fail with "database is locked". Each
Gradebook here holds an exclusive lock on a file beside it (GRADCLIP_GRADEBOOK_LOCK) from when it
is opened until it is closed; the long part, executing the notebook, runs without the lock, in
parallel. The lock also serializes the writers of a server database (--db), which nbgrader's
autograde does not expect to race either.
"""

from __future__ import annotations

import fcntl
import os
import sys

LOCK_VARIABLE = "GRADCLIP_GRADEBOOK_LOCK"
# What one output may keep in the graded notebook and the feedback. nbgrader's LimitOutput counts
# lines only, so a single 100 MB line would be kept whole.
MAX_TEXT_CHARACTERS = 100_000
MAX_DATA_CHARACTERS = 5_000_000  # an image is base64 text; a plot takes ~100 k


class GradebookLock:
    """A process-wide, re-entrant exclusive lock on a file."""

    def __init__(self, path: str) -> None:
        self.path, self.depth, self.handle = path, 0, None

    def acquire(self) -> None:
        if self.depth == 0:
            self.handle = open(self.path, "a")  # noqa: SIM115 - held across calls
            fcntl.flock(self.handle, fcntl.LOCK_EX)
        self.depth += 1

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0 and self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def install_lock(path: str) -> None:
    from nbgrader import api

    lock = GradebookLock(path)
    original_init, original_close = api.Gradebook.__init__, api.Gradebook.close

    def init(self, *args, **kwargs):
        lock.acquire()
        self._gradclip_locked = True
        try:
            original_init(self, *args, **kwargs)
        except BaseException:
            self._gradclip_locked = False
            lock.release()
            raise

    def close(self):
        try:
            original_close(self)
        finally:
            if getattr(self, "_gradclip_locked", False):
                self._gradclip_locked = False
                lock.release()

    api.Gradebook.__init__, api.Gradebook.close = init, close


def limit_output_size() -> None:
    """Make nbgrader's LimitOutput also cut outputs that are too long in characters."""
    from nbgrader.preprocessors.limitoutput import LimitOutput

    original = LimitOutput.preprocess_cell

    def preprocess_cell(self, cell, resources, index):
        cell, resources = original(self, cell, resources, index)
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), str) and len(output.text) > MAX_TEXT_CHARACTERS:
                cut = len(output.text) - MAX_TEXT_CHARACTERS
                output.text = (output.text[:MAX_TEXT_CHARACTERS]
                               + f"\n... Output truncated: {cut} more characters ...\n")
            data = output.get("data", {})
            for mime, value in list(data.items()):
                if isinstance(value, str) and len(value) > MAX_DATA_CHARACTERS:
                    data.pop(mime)
                    data.setdefault("text/plain", f"[{mime} output of {len(value)} characters "
                                                  "removed: too large]")
        return cell, resources

    LimitOutput.preprocess_cell = preprocess_cell


def main() -> None:
    if os.environ.get(LOCK_VARIABLE):
        install_lock(os.environ[LOCK_VARIABLE])
    limit_output_size()
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    sys.argv = ["nbgrader", *sys.argv[1:]]
    nbgrader_main()


if __name__ == "__main__":
    main()
