"""`grade --cluster ADDRESS` / `--scheduler-file FILE`: every learner a Dask task on some worker.

A task is a pure function (`grade_learner`) of the assignment's source bundle (its source folder
and the course's nbgrader_config.py, as a tar archive), one learner's files and the grading
options. On the worker it grades that one learner with `autograder.grade.grade` in a temporary
folder (sandboxed as locally, with the same limits; a worker without bubblewrap refuses unless
--no-sandbox was given) and returns the notebooks as nbgrader executed them, the outcome and the
log. Workers need no file system shared with the instructor's machine, and never see the
gradebook or another learner's files.

The instructor's process is the only gradebook writer: it places each returned notebook in the
run's nbgrader course and has nbgrader score it without executing it again (the worker's
"import" action: nbgrader's autograde with its Execute step left out), then writes the feedback.
Tasks are keyed by a hash of their inputs, so a task that runs twice (a worker lost, a retry)
is one result; Dask reschedules the tasks of a worker that dies.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.course import AutograderError


@dataclass(frozen=True)
class ClusterAddress:
    address: str | None = None         # tcp://host:8786
    scheduler_file: str | None = None  # the JSON file `dask scheduler --scheduler-file` writes

    def connect(self):
        from distributed import Client

        try:
            if self.scheduler_file:
                return Client(scheduler_file=self.scheduler_file, timeout="30s")
            return Client(self.address, timeout="30s")
        except (OSError, TimeoutError, ValueError) as error:
            where = self.scheduler_file or self.address
            raise AutograderError(f"cannot reach the Dask scheduler at {where}: {error}") from error


def source_bundle(source: Path, assignment: str, course_config: Path) -> bytes:
    """The course's nbgrader_config.py and the assignment's source folder, as a tar archive of
    a course root with nbgrader's folder names (source/ASSIGNMENT/)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        config = (course_config.read_text(encoding="utf-8")
                  + '\nc.CourseDirectory.source_directory = "source"\n').encode("utf-8")
        entry = tarfile.TarInfo("nbgrader_config.py")
        entry.size = len(config)
        archive.addfile(entry, io.BytesIO(config))
        for path in sorted(source.rglob("*")):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts:
                archive.add(path, arcname=f"source/{assignment}/{path.relative_to(source)}")
    return buffer.getvalue()


def task_key(bundle: bytes, assignment: str, student_id: str, files: dict[str, bytes],
             options: dict) -> str:
    """The task's Dask key: a hash of everything the grading depends on."""
    digest = hashlib.sha256(bundle)
    digest.update(json.dumps([assignment, student_id, options], sort_keys=True).encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return f"gradclip-grade-{student_id}-{digest.hexdigest()[:32]}"


def grade_learner(bundle: bytes, assignment: str, student_id: str, files: dict[str, bytes],
                  options: dict) -> dict:
    """Grade one learner where this runs (a Dask worker). Returns {"outcome": the status as
    grades.csv writes it, or None when graded; "notebooks": {name: the notebook nbgrader
    executed}; "log": what nbgrader printed}. Nothing outside a temporary folder is written."""
    from autograder.course import Course
    from autograder.grade import grade
    from autograder.layout import OutputLayout

    with tempfile.TemporaryDirectory(prefix="gradclip-task-") as folder:
        base = Path(folder)
        course_root = base / "course"
        course_root.mkdir()
        with tarfile.open(fileobj=io.BytesIO(bundle)) as archive:
            archive.extractall(course_root, filter="data")
        learner = base / "submissions" / student_id
        learner.mkdir(parents=True)
        for name, content in files.items():
            (learner / name).write_bytes(content)
        out = base / "out"
        rows = grade(Course(course_root), assignment, base / "submissions", out, jobs=1,
                     class_report=False, **options)
        layout = OutputLayout(out)
        executed, failures = {}, []
        for row in rows:
            path = layout.autograded(student_id, assignment) / row.notebook
            if path.is_file():
                executed[row.notebook] = path.read_bytes()
            else:  # nbgrader left nothing to score: the reason is the outcome
                failures.append(str(row.outcome) if not row.outcome.has_grades
                                else "error: the worker's nbgrader wrote no graded notebook")
        return {"outcome": failures[0] if failures else None, "notebooks": executed,
                "log": layout.log.read_text(encoding="utf-8") if layout.log.is_file() else "",
                "seconds": rows[0].seconds if rows else None}
