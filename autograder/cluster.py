"""`grade --cluster ADDRESS` / `--scheduler-file FILE`: every learner a Dask task on some worker.

A task is a pure function (`grade_learners`) of the assignment's source bundle (its source folder
and the course's nbgrader_config.py, as a tar archive), a batch of learners' notebooks and the
grading options. On the worker it grades those learners with `autograder.grade.grade` in a temporary
folder (sandboxed as locally, with the same limits; a worker without bubblewrap refuses unless
--no-sandbox was given) and returns the notebooks as nbgrader executed them, the outcome and the
log. That folder, with its nbgrader worker process and warm-kernel template, is a session kept
for the assignment's next task on the same Dask worker (`_Session`): as a local job's, a Dask
worker's kernels are forked from one template, not one per task. Workers need no file system
shared with the instructor's machine and never see the gradebook; a worker holds only the
notebooks of the batches it is grading, and each learner's kernel, in its sandbox, sees none of
them.

The instructor's process is the only gradebook writer: it places each returned notebook in the
run's nbgrader course and has nbgrader score it without executing it again (the worker's
"import" action: nbgrader's autograde with its Execute step left out), then writes the feedback.
Tasks are keyed by a hash of their inputs, so a task that runs twice (a worker lost, a retry)
is one result; Dask reschedules the tasks of a worker that dies, and a batch that fails as a
whole (its worker killed again and again) is graded again one learner per task, so that only the
learner who caused it fails.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import threading
import weakref
from collections import OrderedDict
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


# Learners per task: each task registers the assignment again and is a round trip, and the first
# on a worker starts nbgrader and a kernel template (a few seconds; the next reuse them, _Session),
# so a task grades a batch. Batches are
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
    "seconds"}. Nothing outside a temporary folder is written, and no learner's notebook stays
    there once the batch is graded."""
    key = hashlib.sha256(bundle).hexdigest() + json.dumps([assignment, options], sort_keys=True)
    session = _take_session(key, bundle)
    try:
        results = session.grade(assignment, learners, options)
    except BaseException:
        session.close()
        raise
    _return_session(key, session)
    return results


class _Session:
    """One assignment's grading on this Dask worker, kept from task to task: the course from the
    bundle, the run's nbgrader course, and its nbgrader worker with its warm-kernel template
    (autograder.pool.KeptWorkers), so that a task pays for none of them but the first. Each task
    hands its learners in the same folder (the sandbox hides it, and the policy stays that of
    the workers' templates) and takes their notebooks away when they are graded; the session's
    gradebook keeps only their ids and scores. Its folder is named after this process, so that
    a later session removes it if this process was killed before it could."""

    def __init__(self, bundle: bytes) -> None:
        from autograder.pool import KeptWorkers

        _remove_sessions_of_ended_processes()
        self.base = Path(tempfile.mkdtemp(prefix=f"{SESSION_PREFIX}{os.getpid()}-"))
        self._removal = weakref.finalize(self, shutil.rmtree, self.base, ignore_errors=True)
        self.workers = KeptWorkers()
        self.course_root = self.base / "course"
        self.submissions, self.out = self.base / "submissions", self.base / "out"
        try:
            self.course_root.mkdir()
            with tarfile.open(fileobj=io.BytesIO(bundle)) as archive:
                archive.extractall(self.course_root, filter="data")
        except BaseException:
            self.close()
            raise

    def grade(self, assignment: str, learners: dict[str, dict[str, bytes]],
              options: dict) -> dict[str, dict]:
        from autograder.course import Course
        from autograder.grade import grade
        from autograder.layout import OutputLayout

        layout = OutputLayout(self.out)
        shutil.rmtree(self.submissions, ignore_errors=True)
        for student_id, files in learners.items():
            (self.submissions / student_id).mkdir(parents=True)
            for name, content in files.items():
                (self.submissions / student_id / name).write_bytes(content)
        # Warm kernels from the first learner on: the template outlives the task.
        if options.get("warm_kernels") is None:
            options = {**options, "warm_kernels": True}
        try:
            rows = grade(Course(self.course_root), assignment, self.submissions, self.out,
                         jobs=1, class_report=False, regrade=True, kept_workers=self.workers,
                         **options)
            return _results(rows, learners, layout, assignment)
        finally:
            shutil.rmtree(self.submissions, ignore_errors=True)
            for student_id in learners:
                for folder in layout.learner_files(student_id):
                    shutil.rmtree(folder, ignore_errors=True)
            # The batch's log, ids and scores, and what its kernels wrote to their output
            # descriptors (the workers append to that file: they go on at its new end).
            layout.log.unlink(missing_ok=True)
            layout.grades_csv.unlink(missing_ok=True)
            if layout.workers_log.is_file():
                os.truncate(layout.workers_log, 0)

    def close(self) -> None:
        self.workers.close()
        self._removal()


def _remove_sessions_of_ended_processes() -> None:
    for folder in Path(tempfile.gettempdir()).glob(f"{SESSION_PREFIX}*-*"):
        pid = folder.name[len(SESSION_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def _results(rows, learners: dict, layout, assignment: str) -> dict[str, dict]:
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


# Sessions this process keeps while no task uses them, by assignment, bundle and options (a
# worker thread takes one, or starts one, for each task). Beyond MAX_IDLE_SESSIONS, the least
# recently used are closed: a long-lived cluster grades one assignment (and source) after another.
MAX_IDLE_SESSIONS = max(4, os.cpu_count() or 1)  # Dask's default: a thread per core
SESSION_PREFIX = "gradclip-session-"
_idle_sessions: OrderedDict[str, list[_Session]] = OrderedDict()  # none of them empty
_sessions_lock = threading.Lock()


def _take_session(key: str, bundle: bytes) -> _Session:
    with _sessions_lock:
        if key in _idle_sessions:
            session = _idle_sessions[key].pop()
            if not _idle_sessions[key]:
                del _idle_sessions[key]
            return session
    return _Session(bundle)


def _return_session(key: str, session: _Session) -> None:
    closing = []
    with _sessions_lock:
        _idle_sessions.setdefault(key, []).append(session)
        _idle_sessions.move_to_end(key)
        while sum(map(len, _idle_sessions.values())) > MAX_IDLE_SESSIONS:
            oldest = next(iter(_idle_sessions))
            closing.append(_idle_sessions[oldest].pop(0))
            if not _idle_sessions[oldest]:
                del _idle_sessions[oldest]
    for old in closing:
        old.close()


@atexit.register
def close_sessions() -> None:
    """Close every idle session (the worker process is ending; its nbgrader workers would end
    anyway when their input closes, but their folders would stay)."""
    with _sessions_lock:
        sessions = [session for idle in _idle_sessions.values() for session in idle]
        _idle_sessions.clear()
    for session in sessions:
        session.close()


def _learner_log(log: str, student_id: str) -> str:
    """The part of a grading run's log about one learner (autograder.grade writes a section
    beginning `$ nbgrader ACTION ASSIGNMENT --student=ID` for each)."""
    sections = log.split("\n$ ")
    return "\n".join(f"$ {section}" for section in sections
                     if f"--student={student_id}\n" in section.split("\n", 1)[0] + "\n")
