"""What became of one learner's notebook: a status from a fixed set, and why, for errors.

Decided where it happens (the hand-in cannot be read, the worker or kernel died, the notebook ran
out of time, nbgrader scored it) and only written out as text in grades.csv, the CLI's summary
and the report: 'graded', 'needs manual grading', 'timeout', 'error: <why>'.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.Enum):
    GRADED = "graded"
    NEEDS_MANUAL_GRADING = "needs manual grading"
    TIMEOUT = "timeout"  # a cell ran past --timeout, or the notebook past --notebook-timeout
    ERROR = "error"      # not graded: unreadable, not handed in, or its grading failed


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str = ""  # why, for errors (written for the instructor)

    @classmethod
    def error(cls, detail: str) -> Outcome:
        return cls(Status.ERROR, detail)

    @classmethod
    def parse(cls, text: str) -> Outcome:
        """The outcome `str(outcome)` wrote (a cluster worker's, say)."""
        value, _, detail = text.partition(": ")
        return cls(Status(value), detail)

    @property
    def has_grades(self) -> bool:
        """Whether nbgrader scored the notebook completely (written answers may still wait)."""
        return self.status in (Status.GRADED, Status.NEEDS_MANUAL_GRADING)

    @property
    def was_run(self) -> bool:
        """Whether nbgrader ran the notebook (a timeout too), not a hand-in it could not read."""
        return self.status is not Status.ERROR

    def __str__(self) -> str:
        return f"{self.status.value}: {self.detail}" if self.detail else self.status.value
