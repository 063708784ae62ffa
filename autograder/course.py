"""Where the course lives and how nbgrader is run on it."""

from __future__ import annotations

import functools
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


# nbgrader's defaults for a course's folders (CourseDirectory.source_directory and
# release_directory), used where a course's nbgrader_config.py does not name its own.
NBGRADER_DEFAULT_FOLDERS = {"source_directory": "source", "release_directory": "release"}


@dataclass(frozen=True)
class Course:
    """An nbgrader course root: nbgrader_config.py, the instructor's notebooks in its source
    folder and the learners' in its release folder, as the config names them (this repository:
    solutions/ and course/; nbgrader's default: source/ and release/)."""

    root: Path

    @classmethod
    def locate(cls, root: str | Path | None = None) -> Course:
        """The course at `root`, else the current folder if it is one, else this package's repo."""
        candidates = [Path(root)] if root else [Path.cwd(), Path(__file__).resolve().parent.parent]
        for candidate in candidates:
            if (candidate / "nbgrader_config.py").is_file():
                course = cls(candidate.resolve())
                if course.solutions.is_dir():
                    return course
                if root:
                    raise AutograderError(
                        f"the nbgrader course at {candidate} has no source folder "
                        f"{course.solutions.name}/ (CourseDirectory.source_directory in its "
                        "nbgrader_config.py)")
        raise AutograderError(
            f"no course found at {candidates[0]}: expected an nbgrader course root there "
            "(nbgrader_config.py and its source folder; pass --course-root)")

    @functools.cached_property
    def folders(self) -> dict[str, str]:
        """The course's source_directory and release_directory, from its nbgrader_config.py."""
        from traitlets.config.loader import PyFileConfigLoader

        try:
            config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        except Exception as error:
            raise AutograderError(f"cannot read {self.config_file}: "
                                  f"{type(error).__name__}: {error}") from error
        named = config.get("CourseDirectory", {})
        return {key: str(named.get(key, default))
                for key, default in NBGRADER_DEFAULT_FOLDERS.items()}

    @property
    def config_file(self) -> Path:
        return self.root / "nbgrader_config.py"

    @property
    def solutions(self) -> Path:
        """The source folder: notebooks with solutions and hidden tests."""
        return self.root / self.folders["source_directory"]

    @property
    def released(self) -> Path:
        """The release folder: what learners get."""
        return self.root / self.folders["release_directory"]

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
