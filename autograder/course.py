"""Where the course lives and how nbgrader is run on it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# Names nbgrader and file systems both accept; anything else is reported, not graded.
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")


class AutograderError(Exception):
    """A problem the user can fix; the CLI prints it without a traceback."""


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader subprocesses.

    nbgrader runs the `alembic` executable by name when it creates a gradebook, so the bin/
    folder of the Python running us (the course's venv) must come first on PATH.
    """
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    path = env.get("PATH", "")
    if path.split(os.pathsep)[0] != bin_dir:
        env["PATH"] = os.pathsep.join([bin_dir, path])
    env.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    # Grading needs the answers, not the full-size demonstrations: the notebooks' small
    # configuration (an instructor may still export COURSE_QUICK=0).
    env.setdefault("COURSE_QUICK", "1")
    return env


def run_nbgrader(args: list[str], cwd: Path,
                 log: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m nbgrader ARGS` in `cwd`; append its output to `log` when given."""
    command = [sys.executable, "-m", "nbgrader", *args]
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, env=nbgrader_env(), capture_output=True, text=True)
    if log is not None:
        seconds = time.monotonic() - started
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"$ nbgrader {' '.join(args)}\n{result.stdout}{result.stderr}"
                         f"(exit {result.returncode} after {seconds:.1f} s)\n\n")
    return result


@dataclass(frozen=True)
class GradeCell:
    """A graded cell of a source notebook, as nbgrader's metadata describes it."""

    grade_id: str
    points: float
    manual: bool  # True for answers graded by hand (graded solution cells)


@dataclass(frozen=True)
class Course:
    """The course repository: nbgrader's course root, with solutions/ and course/."""

    root: Path

    @classmethod
    def locate(cls, root: str | Path | None = None) -> Course:
        """The course at `root`, else the current folder if it is one, else this package's repo."""
        candidates = [Path(root)] if root else [Path.cwd(), Path(__file__).resolve().parent.parent]
        for candidate in candidates:
            if (candidate / "nbgrader_config.py").is_file() and (candidate / "solutions").is_dir():
                return cls(candidate.resolve())
        raise AutograderError(
            f"no course found at {candidates[0]}: expected nbgrader_config.py and a solutions/ "
            "folder there (pass --course-root)")

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def released(self) -> Path:
        return self.root / "course"

    def assignments(self) -> list[str]:
        return sorted(p.name for p in self.solutions.iterdir()
                      if p.is_dir() and any(p.glob("*.ipynb")))

    def source_dir(self, assignment: str) -> Path:
        if assignment not in self.assignments():
            raise AutograderError(
                f"unknown assignment {assignment!r}; "
                f"the course has: {', '.join(self.assignments())}")
        return self.solutions / assignment

    def notebooks(self, assignment: str) -> list[str]:
        """File names of the assignment's notebooks, e.g. ['vector_products.ipynb']."""
        return sorted(p.name for p in self.source_dir(assignment).glob("*.ipynb"))

    def grade_cells(self, assignment: str, notebook: str) -> list[GradeCell]:
        """The graded cells of a source notebook, in notebook order."""
        path = self.source_dir(assignment) / notebook
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        graded = []
        for cell in cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade"):
                graded.append(GradeCell(meta["grade_id"], float(meta.get("points", 0)),
                                        manual=bool(meta.get("solution"))))
        return graded
