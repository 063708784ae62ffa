"""`grade --cluster ADDRESS` / `--scheduler-file FILE`: every learner a Dask task on some worker.

A task is a pure function (`grade_learners`) of the assignment's source bundle (its source folder
and the course's nbgrader_config.py, as a tar archive), a batch of learners' notebooks and the
grading options. On the worker it grades those learners with `autograder.grade.grade` in a temporary
folder (sandboxed as locally, with the same limits; a worker without bubblewrap refuses unless
--no-sandbox was given) and returns the notebooks as nbgrader executed them, the outcome and the
log. Workers need no file system shared with the instructor's machine and never see the
gradebook; a worker holds only the notebooks of its batches, and each learner's kernel, in its
sandbox, sees none of them.

The instructor's process is the only gradebook writer: it places each returned notebook in the
run's nbgrader course and has nbgrader score it without executing it again (the worker's
"import" action: nbgrader's autograde with its Execute step left out), then writes the feedback.
Tasks are keyed by a hash of their inputs, so a task that runs twice (a worker lost, a retry)
is one result; Dask reschedules the tasks of a worker that dies, and a batch that fails as a
whole (its worker killed again and again) is graded again one learner per task, so that only the
learner who caused it fails.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
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
    # Links are followed (dereference), as the local run's copy of the source follows them: a
    # linked data folder travels as its files.
    with tarfile.open(fileobj=buffer, mode="w", dereference=True) as archive:
        config = (course_config.read_text(encoding="utf-8")
                  + '\nc.CourseDirectory.source_directory = "source"\n').encode("utf-8")
        entry = tarfile.TarInfo("nbgrader_config.py")
        entry.size = len(config)
        archive.addfile(entry, io.BytesIO(config))
        for folder, subfolders, files in os.walk(source, followlinks=True):
            subfolders[:] = sorted(name for name in subfolders if name != ".ipynb_checkpoints")
            for name in sorted(files):
                path = Path(folder) / name
                if path.is_file():
                    archive.add(path, arcname=f"source/{assignment}/{path.relative_to(source)}")
    return buffer.getvalue()


# Learners per task: starting nbgrader, registering the assignment and a kernel template cost a
# few seconds per task, so a task grades a batch (warm kernels from two learners on). Batches are
# small enough that every worker thread gets about BATCHES_PER_THREAD of them (a slow or lost
# one delays few learners) and at most MAX_BATCH learners.
BATCHES_PER_THREAD = 2
MAX_BATCH = 10


def batches(student_ids: list[str], threads: int) -> list[list[str]]:
    """`student_ids` cut into batches for a cluster of `threads` worker threads in all."""
    size = max(1, min(MAX_BATCH, len(student_ids) // max(1, threads * BATCHES_PER_THREAD)))
    return [student_ids[start:start + size] for start in range(0, len(student_ids), size)]


def task_key(bundle: bytes, assignment: str, learners: dict[str, dict[str, bytes]],
             options: dict) -> str:
    """The task's Dask key: a hash of everything the grading depends on."""
    digest = hashlib.sha256(bundle)
    digest.update(json.dumps([assignment, options], sort_keys=True).encode())
    for student_id in sorted(learners):
        for name in sorted(learners[student_id]):
            digest.update(f"{student_id}\0{name}\0".encode()
                          + hashlib.sha256(learners[student_id][name]).digest())
    return f"gradclip-grade-{digest.hexdigest()[:32]}"


def grade_learners(bundle: bytes, assignment: str, learners: dict[str, dict[str, bytes]],
                   options: dict) -> dict[str, dict]:
    """Grade a batch of learners ({student_id: {notebook: its bytes}}) where this runs (a Dask
    worker). Returns, for each, {"outcome": the status as grades.csv writes it, or None when
    graded; "notebooks": {name: the notebook nbgrader executed}; "log": what nbgrader printed;
    "seconds"}. Nothing outside a temporary folder is written."""
    from autograder.course import Course
    from autograder.grade import grade
    from autograder.layout import OutputLayout

    with tempfile.TemporaryDirectory(prefix="gradclip-task-") as folder:
        base = Path(folder)
        course_root = base / "course"
        course_root.mkdir()
        with tarfile.open(fileobj=io.BytesIO(bundle)) as archive:
            archive.extractall(course_root, filter="data")
        for student_id, files in learners.items():
            (base / "submissions" / student_id).mkdir(parents=True)
            for name, content in files.items():
                (base / "submissions" / student_id / name).write_bytes(content)
        out = base / "out"
        rows = grade(Course(course_root), assignment, base / "submissions", out, jobs=1,
                     class_report=False, **options)
        layout = OutputLayout(out)
        log = layout.log.read_text(encoding="utf-8") if layout.log.is_file() else ""
        results = {student_id: {"outcome": None, "notebooks": {}, "log": "", "seconds": None}
                   for student_id in learners}
        for row in rows:
            result = results[row.student_id]
            result["seconds"] = row.seconds
            result["log"] = _learner_log(log, row.student_id)
            path = layout.autograded(row.student_id, assignment) / row.notebook
            if path.is_file():
                result["notebooks"][row.notebook] = path.read_bytes()
            elif result["outcome"] is None:  # nbgrader left nothing to score: say why
                result["outcome"] = (str(row.outcome) if not row.outcome.has_grades
                                     else "error: the worker's nbgrader wrote no graded notebook")
        return results


def _learner_log(log: str, student_id: str) -> str:
    """The part of a grading run's log about one learner (autograder.grade writes a section
    beginning `$ nbgrader ACTION ASSIGNMENT --student=ID` for each)."""
    sections = log.split("\n$ ")
    return "\n".join(f"$ {section}" for section in sections
                     if f"--student={student_id}\n" in section.split("\n", 1)[0] + "\n")
