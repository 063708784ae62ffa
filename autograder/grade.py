"""`python -m autograder grade`: autograde a folder of submissions with nbgrader.

SUBMISSIONS holds one folder per learner, `<student_id>/<notebook>.ipynb` (nbgrader's own
`<student_id>/<assignment>/<notebook>.ipynb` works too), or is a .zip of such folders or of
files named `<student_id>_<anything>.ipynb`, as learning management systems download them (see
autograder.collect). Everything is copied into a grading workspace under OUT, so nothing under
SUBMISSIONS is ever written. OUT receives:

- grades.csv: one row per learner and notebook, points per graded cell, total, max, status
  (graded / needs manual grading / timeout / error: ...), and review (why to look at it by hand);
- feedback/<student_id>/<notebook>.html: nbgrader's feedback for the learner;
- gradebook.db: nbgrader's SQLite gradebook (manual grading goes on from there), unless --db
  names another database;
- autograder.log: what nbgrader printed; nbgrader/: the workspace nbgrader graded in.

Learners are graded in parallel by `jobs` long-lived nbgrader workers (autograder.pool and
autograder.worker: gradebook access serialized by a lock file), each kernel in the sandbox of
autograder.sandbox.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import dataclasses
import importlib
import os
import pwd
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_core.paths import jupyter_config_path
from traitlets.config.loader import PyFileConfigLoader

from autograder.cluster import (
    ClusterAddress,
    batches,
    grade_learners,
    source_bundle,
    task_key,
)
from autograder.collect import DEFAULT_ZIP_PATTERN, unpack_zip
from autograder.course import (
    STUDENT_ID,
    AutograderError,
    Course,
    GradeCell,
    nbgrader_env,
)
from autograder.kernel_guard import GUARD_MIME
from autograder.layout import OutputLayout
from autograder.outcome import Outcome, Status
from autograder.pool import KeptWorkers, Worker, WorkerDied
from autograder.report import ClassSummary, write_report
from autograder.review import review
from autograder.sandbox import (
    POLICY_VARIABLE,
    SandboxPolicy,
    find_bwrap,
    find_pids_cgroups,
    font_cache,
    process_limit,
)
from autograder.similarity import class_similarity, write_similarity_csv
from autograder.worker import EXECUTED_FOLDER, LOCK_VARIABLE, SHOW_HIDDEN_TESTS_VARIABLE

WORKSPACE_CONFIG = """\
# Written by `python -m autograder grade`: the grading workspace, with its gradebook. The
# course's own settings first (its stubs, delimiters, ignored files ...), then the workspace's
# folders, which are nbgrader's defaults whatever the course names its own.
c = get_config()  # noqa: F821
load_subconfig({course_config!r})  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db_url!r}
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
"""
# How long `grade --cluster` waits for the cluster's first worker (queued batch jobs).
CLUSTER_WORKER_WAIT = 300
# nbgrader's own folders in a course root: the gradebook, hand-ins, grading results.
NBGRADER_PRIVATE = ("gradebook.db", "submitted", "autograded", "feedback")
DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"
# What `nbgrader submit` writes beside the notebooks: when it was handed in, and the secret
# that `nbgrader release_feedback` names the learner's feedback file by.
SUBMISSION_RECEIPTS = ("timestamp.txt", "submission_secret.txt")
# What this process imports once the learners are graded (the gradebook's API to read the
# scores; for the class report, copydetect for the similar hand-ins): over a second, taken while
# the workers start.
LATER_IMPORTS = ("nbgrader.api",)
REPORT_IMPORTS = ("copydetect.utils",)


@dataclass
class Submission:
    student_id: str
    notebooks: dict[str, Path] = field(default_factory=dict)  # notebook name -> learner's file
    problem: Outcome | None = None  # why it cannot be graded, if it cannot
    notes: list[str] = field(default_factory=list)  # for the review column (renamed files ...)
    # nbgrader's receipt of a hand-in through its exchange (SUBMISSION_RECEIPTS), kept so that
    # late penalties apply and `nbgrader release_feedback` can return the feedback.
    receipts: dict[str, bytes] = field(default_factory=dict)


@dataclass
class GradeRow:
    student_id: str
    notebook: str
    scores: dict[str, float | None]  # grade_id -> points, None while awaiting manual grading
    outcome: Outcome
    review: list[str] = field(default_factory=list)
    # grade_id -> the first line of the error a failing test cell raised (for the report)
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float | None = None  # how long its grading took, if it was graded in this run

    @property
    def status(self) -> str:
        """The status as grades.csv writes it."""
        return str(self.outcome)


@dataclass
class GradingOptions:
    timeout: int = 120               # seconds a cell may run
    notebook_timeout: int = 900      # seconds one learner's grading may take in all
    jobs: int = 0                    # learners graded at once; 0: one per CPU core
    db_url: str | None = None        # the gradebook; None: SQLite OUT/gradebook.db
    sandbox: bool = True             # False only when the instructor says --no-sandbox
    memory_bytes: int = 4 * 2**30    # per kernel (RLIMIT_DATA)
    zip_pattern: str = DEFAULT_ZIP_PATTERN
    progress: bool = False           # a progress bar on stderr
    regrade: bool = False
    feedback_shows_hidden_tests: bool = False  # nbgrader's feedback, hidden tests and all
    # Kernels forked from a template that imported the lesson's modules (autograder.warm):
    # True (--warm-kernels), False (--cold-kernels), None: warm where it pays (_warm_kernels).
    warm_kernels: bool | None = None
    # Grade every learner as a Dask task on this cluster (autograder.cluster); None: here.
    cluster: ClusterAddress | None = None
    class_report: bool = True        # report.html and similarity.csv (a cluster task needs none)


def grade(course: Course, assignment: str, submissions: Path, out: Path,
          timeout: int = 120, regrade: bool = False, kept_workers: KeptWorkers | None = None,
          **options) -> list[GradeRow]:
    """Grade every submission of `assignment` under `submissions`; write results to `out`.

    A re-run into the same `out` autogrades only what is new or changed (a learner's notebook,
    or the assignment's source), so manual grades entered in between are kept; `regrade=True`
    autogrades everything again. `kept_workers`: grading workers to take (and leave running)
    where they fit this run, instead of starting and closing them. `options`: the other fields
    of GradingOptions.
    """
    started = time.monotonic()
    settings = GradingOptions(timeout=timeout, regrade=regrade, **options)
    source = course.source_dir(assignment)
    notebooks = course.notebooks(assignment)
    submissions, out = submissions.resolve(), out.resolve()
    _check_paths(submissions, out, course)
    # On a cluster the kernels run on its workers, sandboxed there; none runs here.
    policy = _sandbox_policy(dataclasses.replace(settings, sandbox=False) if settings.cluster
                             else settings, course, submissions, out)
    layout = OutputLayout(out)
    _prepare_output(layout)
    if submissions.is_file():
        submissions = unpack_zip(submissions, layout.unzipped, settings.zip_pattern)
    log = layout.log
    db_url = settings.db_url or f"sqlite:///{layout.gradebook}"
    source_changed = _prepare_workspace(layout, source, assignment, db_url, course.config_file)

    found = discover(submissions, assignment, notebooks)
    source_metadata = {name: _grading_metadata(source / name) for name in notebooks}
    to_grade, feedback_only = [], []
    for submission in (s for s in found if s.problem is None):
        changed = _copy_submission(submission, layout, assignment, source_metadata)
        graded_before = layout.autograded(submission.student_id, assignment).is_dir()
        if changed or settings.regrade or source_changed or not graded_before:
            to_grade.append(submission)
        else:  # graded before: only its feedback is rewritten (manual grades may have changed)
            feedback_only.append(submission)

    # No more workers than learners (at least one registers the assignment): each one imports
    # nbgrader, a second of CPU, for nothing if it has no learner to grade.
    jobs = min(settings.jobs or os.cpu_count() or 1, max(1, len(to_grade) + len(feedback_only)))
    if settings.cluster:  # what runs here (scoring executed notebooks, feedback) is quick
        jobs = 1
    policy = dataclasses.replace(policy, warm_kernels=_warm_kernels(settings, policy,
                                                                     len(to_grade), jobs))
    workers = _start_workers(assignment, layout, settings, policy, jobs, kept_workers)
    importing = _import_meanwhile(LATER_IMPORTS + (REPORT_IMPORTS if settings.class_report
                                                   else ()))
    try:
        # The first worker registers the assignment (nbgrader generate_assignment) in the
        # process it grades in; the others import nbgrader meanwhile.
        failure, text = _ask(workers[0], "generate_assignment", "", settings.notebook_timeout)
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"$ nbgrader generate_assignment {assignment} --force --create\n{text}\n")
        # nbgrader can report success after a failure (a config error, say): check that it
        # registered the assignment.
        if failure is not None or not _assignment_registered(db_url, assignment):
            raise AutograderError(f"nbgrader could not register {assignment} in the gradebook "
                                  f"{_shown(db_url)}; see {log}")
        if settings.cluster:
            failed, seconds = _grade_on_cluster(workers[0], to_grade, assignment, layout,
                                                settings, course)
            _autograde_all(workers, [], feedback_only, assignment, layout, settings)
        else:
            failed, seconds = _autograde_all(workers, to_grade, feedback_only, assignment,
                                             layout, settings)
    finally:
        for worker in workers if kept_workers is None else []:
            worker.close()
        importing.join()  # an import still under way while Python ends can abort it

    cells = {name: course.grade_cells(assignment, name) for name in notebooks}
    rows = _collect_rows(assignment, cells, found, failed, db_url)
    _add_reviews(rows, found, layout, assignment)
    for row in rows:
        row.seconds = seconds.get(row.student_id)
    _copy_feedback(layout, assignment)
    write_csv(rows, cells, layout.grades_csv)
    if not settings.class_report:
        return rows
    released = {name: layout.released(assignment, name) for name in notebooks}
    pairs = class_similarity(_graded_files(found, layout, assignment), released)
    write_similarity_csv(pairs, layout.similarity_csv)
    graded_by = ("a Dask cluster" if settings.cluster
                 else f"{jobs} job{'' if jobs == 1 else 's'} on this machine")
    write_report(ClassSummary(assignment, rows, cells, pairs, time.monotonic() - started,
                              graded_by), layout.report)
    return rows


def _import_meanwhile(modules: tuple[str, ...]) -> threading.Thread:
    """Import `modules` in a thread of their own, while this one waits for the workers."""
    def run() -> None:
        for module in modules:
            with contextlib.suppress(Exception):  # the import where it is needed will say why
                importlib.import_module(module)

    thread = threading.Thread(target=run, name="gradclip-later-imports", daemon=True)
    thread.start()
    return thread


def _graded_files(found: list[Submission], layout: OutputLayout,
                  assignment: str) -> dict[str, dict[str, Path]]:
    """{student_id: {notebook: the copy nbgrader graded}}, grading metadata restored."""
    return {submission.student_id: {name: layout.submitted(submission.student_id, assignment)
                                    / name for name in submission.notebooks}
            for submission in found if submission.problem is None}


def _sandbox_policy(settings: GradingOptions, course: Course, submissions: Path,
                    out: Path) -> SandboxPolicy:
    """What the kernels may not see or take; refuses to go on without bubblewrap unless told."""
    bwrap = None
    if settings.sandbox:
        bwrap = find_bwrap()
        if bwrap is None:
            raise AutograderError(
                "bubblewrap (the bwrap command) is not installed, so learner code would run with "
                "your permissions: it could read the hidden tests and the gradebook, or delete "
                "files. Install it (Debian/Ubuntu: apt-get install bubblewrap) or, only for code "
                "you trust, pass --no-sandbox")
        probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-all", "--", "true"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            raise AutograderError(
                f"bubblewrap is installed but cannot create a sandbox here ({probe.stderr.strip()}"
                "); user namespaces may be disabled. Enable them, or pass --no-sandbox for code "
                "you trust")
    # (A .zip is hidden itself, not its folder: that may hold the Python the kernel runs.)
    hidden = [out, submissions, course.solutions, course.root / ".git",
              # where nbgrader keeps a course's grades and hand-ins, when the course root is one
              *(course.root / name for name in NBGRADER_PRIVATE),
              *_nbgrader_exchange_roots(), *_grader_homes()]
    database = _sqlite_path(settings.db_url) if settings.db_url else None
    if database is not None:
        hidden.append(database)
    # RLIMIT_NPROC does not bind root: as root, cap each kernel's processes in a cgroup.
    pids_cgroups = find_pids_cgroups() if os.getuid() == 0 else None
    policy = SandboxPolicy(bwrap=bwrap, hidden=[str(path) for path in hidden],
                           memory_bytes=settings.memory_bytes, max_processes=process_limit(),
                           pids_cgroups=pids_cgroups, warm_kernels=settings.warm_kernels)
    return dataclasses.replace(policy, tmp_files=font_cache(policy))


def _nbgrader_exchange_roots() -> list[Path]:
    """nbgrader's exchange folders on this machine (every learner's hand-in lies there): the one
    the nbgrader configuration in effect names, and nbgrader's default."""
    roots = {Path(DEFAULT_EXCHANGE)}
    folders = [*jupyter_config_path(), os.getcwd()]
    for folder in folders:
        if not os.path.isfile(os.path.join(folder, "nbgrader_config.py")):
            continue
        try:
            config = PyFileConfigLoader("nbgrader_config.py", path=folder).load_config()
        except Exception:  # noqa: BLE001  (a broken config is nbgrader's to report, not ours)
            continue
        if "root" in config.get("Exchange", {}):
            roots.add(Path(os.path.expanduser(str(config.Exchange.root))))
    return sorted(root.resolve() for root in roots if root.exists())


def _grader_homes() -> list[Path]:
    """The home of the account grading (its keys, its other courses): the kernel runs as it."""
    homes = {Path(os.path.expanduser("~")), Path(pwd.getpwuid(os.getuid()).pw_dir)}
    return sorted(home.resolve() for home in homes if home.is_dir() and home != Path("/"))


def _sqlite_path(db_url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(db_url[len(prefix):]).resolve() if db_url.startswith(prefix) else None


def _shown(db_url: str) -> str:
    """A database URL without its password, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", db_url)


def _assignment_registered(db_url: str, assignment: str) -> bool:
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(db_url) as gradebook:
            gradebook.find_assignment(assignment)
    except MissingEntry:
        return False
    except Exception as error:  # an unreachable server, a wrong password, a bad URL
        raise AutograderError(f"cannot open the gradebook {_shown(db_url)}: {error}") from error
    return True


def _warm_kernels(settings: GradingOptions, policy: SandboxPolicy, learners: int,
                  jobs: int) -> bool:
    """Whether kernels are forked from a template (autograder.warm): as the instructor says, or
    else where it pays. A template costs about one kernel's start (Python, ipykernel and the
    lesson's imports) per job, and saves that for each of the job's learners after the first:
    it pays from two learners per job. It exists only inside bubblewrap."""
    if policy.bwrap is None:
        return False
    if settings.warm_kernels is not None:
        return settings.warm_kernels
    return learners >= 2 * jobs


def _start_workers(assignment: str, layout: OutputLayout, settings: GradingOptions,
                   policy: SandboxPolicy, jobs: int,
                   kept: KeptWorkers | None = None) -> list[Worker]:
    """`jobs` started grading workers (autograder.pool): those `kept` where they fit."""
    env = nbgrader_env()
    env[LOCK_VARIABLE] = str(layout.gradebook_lock)
    env[POLICY_VARIABLE] = policy.to_env()
    env[SHOW_HIDDEN_TESTS_VARIABLE] = "1" if settings.feedback_shows_hidden_tests else "0"
    # Kernels running side by side share the cores: each may use its share of threads (PyTorch
    # and NumPy would otherwise each start one per core, and spin against each other for minutes).
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(variable, threads)

    def start() -> Worker:
        worker = Worker(assignment, layout.workspace, env, settings.timeout, layout.workers_log)
        worker.start()
        return worker

    if kept is not None:
        # The process limit is a count of the user's processes at this moment, plus a margin:
        # the kept workers' (counted when they started) is as good.
        policy_as_started = dataclasses.replace(policy, max_processes=0).to_env()
        signature = (assignment, str(layout.workspace), settings.timeout, policy_as_started,
                     sorted((name, value) for name, value in env.items()
                            if name != POLICY_VARIABLE))
        return kept.take(signature, jobs, start)
    return [start() for _ in range(jobs)]


def _autograde_all(workers: list[Worker], to_grade: list[Submission],
                   feedback_only: list[Submission], assignment: str, layout: OutputLayout,
                   settings: GradingOptions) -> tuple[dict[str, Outcome], dict[str, float]]:
    """Autograde (and write feedback for) each learner in `to_grade`, and write feedback for
    those in `feedback_only` (graded before; their manual grades may have changed), one learner
    at a time per worker. Returns the outcome of each learner whose grading failed, and how long
    each learner's autograding took (seconds)."""
    from tqdm import tqdm

    tasks: queue.Queue = queue.Queue()
    for submission in to_grade:
        tasks.put(("autograde", submission.student_id))
    for submission in feedback_only:
        tasks.put(("feedback", submission.student_id))
    lock = threading.Lock()
    failed: dict[str, Outcome] = {}
    seconds: dict[str, float] = {}
    bar = tqdm(total=len(to_grade), desc=f"grading {assignment}", unit="learner",
               disable=not settings.progress or not to_grade, file=sys.stderr)

    def work(worker: Worker) -> None:
        while True:
            try:
                action, student_id = tasks.get_nowait()
            except queue.Empty:
                return
            started = time.monotonic()
            failure, text = _ask(worker, action, student_id, settings.notebook_timeout)
            with lock:
                with layout.log.open("a", encoding="utf-8") as handle:
                    handle.write(f"$ nbgrader {action} {assignment} --student={student_id}\n"
                                 f"{text}\n")
                if action == "autograde":
                    seconds[student_id] = time.monotonic() - started
                    if failure is not None:
                        failed[student_id] = failure
                    bar.set_postfix(failed=len(failed))
                    bar.update()
            if failure is not None and action == "autograde":
                # Nothing half-graded may stay behind: the next run grades this learner again.
                shutil.rmtree(layout.autograded(student_id, assignment), ignore_errors=True)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bar.close()
    return failed, seconds


def _grade_on_cluster(worker: Worker, to_grade: list[Submission], assignment: str,
                      layout: OutputLayout, settings: GradingOptions,
                      course: Course) -> tuple[dict[str, Outcome], dict[str, float]]:
    """The learners in `to_grade` executed as Dask tasks, a batch per task
    (autograder.cluster.grade_learners), then each scored here, in the gradebook's only writer,
    without running it again (`worker`'s "import"), and given feedback. A batch whose task
    fails as a whole is graded again one learner per task. Returns what `_autograde_all` does."""
    from distributed import as_completed
    from tqdm import tqdm

    failed: dict[str, Outcome] = {}
    seconds: dict[str, float] = {}
    if not to_grade:  # a re-run that only rewrites feedback needs no cluster
        return failed, seconds
    options = {"timeout": settings.timeout, "notebook_timeout": settings.notebook_timeout,
               "memory_bytes": settings.memory_bytes, "sandbox": settings.sandbox,
               "warm_kernels": settings.warm_kernels}
    bundle = source_bundle(course.source_dir(assignment), assignment, course.config_file)
    handed_in = _graded_files(to_grade, layout, assignment)
    client = settings.cluster.connect()
    try:
        shared_bundle, threads = _share_bundle(client, bundle, settings.cluster)

        def submit(batch: list[str]):
            learners = {student_id: {name: path.read_bytes()
                                     for name, path in handed_in[student_id].items()}
                        for student_id in batch}
            future = client.submit(grade_learners, shared_bundle, assignment, learners, options,
                                   pure=True, key=task_key(bundle, assignment, learners, options))
            futures[future] = batch
            return future

        futures: dict = {}
        done = as_completed([submit(batch) for batch in
                             batches([submission.student_id for submission in to_grade],
                                     threads)])
        bar = tqdm(total=len(to_grade), desc=f"grading {assignment} on the cluster",
                   unit="learner", disable=not settings.progress, file=sys.stderr)
        for future in done:
            batch = futures[future]
            if future.status != "finished" and len(batch) > 1:
                for student_id in batch:  # only the learner who makes it fail should fail
                    done.add(submit([student_id]))
                continue
            for student_id, outcome, text, took in _import_batch(worker, future, batch,
                                                                 assignment, layout, settings):
                with layout.log.open("a", encoding="utf-8") as handle:
                    handle.write(f"$ grade {assignment} --student={student_id} (on the "
                                 f"cluster)\n{text}\n")
                if outcome is not None:
                    failed[student_id] = outcome
                    shutil.rmtree(layout.autograded(student_id, assignment), ignore_errors=True)
                elif took is not None:
                    seconds[student_id] = took
                bar.set_postfix(failed=len(failed))
                bar.update()
        bar.close()
    finally:
        client.close()
    return failed, seconds


def _share_bundle(client, bundle: bytes, cluster: ClusterAddress):
    """(the bundle scattered to the cluster, its number of worker threads); a cluster without
    workers (Slurm jobs still queued, an adaptive cluster at zero) is reported, not a crash."""
    try:
        client.wait_for_workers(1, timeout=CLUSTER_WORKER_WAIT)
        return client.scatter(bundle, hash=True), sum(client.nthreads().values())
    except (TimeoutError, OSError) as error:
        raise AutograderError(
            f"the Dask cluster at {cluster.scheduler_file or cluster.address} has no workers "
            f"after {CLUSTER_WORKER_WAIT} s ({error}); start some (dask worker ..., "
            "cluster.scale(...)) and grade again: nothing was graded") from error


def _import_batch(worker: Worker, future, batch: list[str], assignment: str,
                  layout: OutputLayout, settings: GradingOptions):
    """(student_id, its outcome if grading failed else None, the log to keep, the seconds its
    grading took on the worker) for each learner of a finished task's `batch`, each scored from
    the notebooks the cluster executed."""
    try:
        results = future.result()
    except Exception as error:  # noqa: BLE001  (the task's own error, raised on the worker)
        outcome = Outcome.error(f"the cluster could not grade it ({type(error).__name__}: "
                                f"{error})")
        for student_id in batch:
            yield student_id, outcome, "", None
        return
    for student_id, result in results.items():
        if result["outcome"] is not None:
            yield student_id, Outcome.parse(result["outcome"]), result["log"], None
            continue
        executed = layout.workspace / EXECUTED_FOLDER / student_id / assignment
        if executed.exists():
            shutil.rmtree(executed)
        shutil.copytree(layout.submitted(student_id, assignment), executed)  # receipts too
        for name, content in result["notebooks"].items():
            (executed / name).write_bytes(content)
        failure, text = _ask(worker, "import", student_id, settings.notebook_timeout)
        yield student_id, failure, result["log"] + text, result["seconds"]


def _ask(worker: Worker, action: str, student_id: str,
         seconds: int) -> tuple[Outcome | None, str]:
    """One request to a worker: (the outcome if it failed, else None; the log to keep)."""
    try:
        reply = worker.ask(action, student_id, seconds)
    except WorkerDied:
        return Outcome.error("the grading process died (killed for memory by the system?); see "
                             "autograder-workers.log"), "the worker process died\n"
    if reply is None:
        return Outcome(Status.TIMEOUT), f"stopped after {seconds} s (--notebook-timeout)\n"
    text = reply["log"] + reply["error"]
    if reply["success"]:
        return None, text
    if "DeadKernelError" in text or "Kernel died" in text:
        return Outcome.error("the kernel died while running the notebook (os._exit, a crash, or "
                             "more memory than the sandbox allows)"), text
    return Outcome.error("nbgrader could not grade it (see autograder.log)"), text


def discover(submissions: Path, assignment: str, notebooks: list[str]) -> list[Submission]:
    """One Submission per learner folder, with a `problem` where it cannot be graded."""
    found = []
    for folder in sorted(submissions.iterdir()):
        if folder.name.startswith(".") or folder.name == "__MACOSX":
            continue  # hidden files and archive debris are not learners
        if not folder.is_dir():
            found.append(Submission(folder.name, problem=Outcome.error(
                f"{folder.name} is a file; expected a folder <student_id>/ holding "
                f"{', '.join(notebooks)}")))
            continue
        submission = Submission(folder.name)
        if not STUDENT_ID.match(folder.name):
            submission.problem = Outcome.error(f"{folder.name!r} is not a usable student id "
                                               "(letters, digits and . _ @ + - only)")
        else:
            _match_notebooks(submission, folder, assignment, notebooks, submissions)
        found.append(submission)
    return found


def _match_notebooks(submission: Submission, folder: Path, assignment: str,
                     notebooks: list[str], submissions: Path) -> None:
    """Find each of the assignment's notebooks in a learner's folder. A notebook handed in under
    another name (an LMS often appends "-1") is graded when it is the only candidate."""
    handed_in = [p for place in (folder, folder / assignment) if place.is_dir()
                 for p in sorted(place.glob("*.ipynb")) if p.is_file() and not p.is_symlink()]
    for name in notebooks:
        path = _find_file(folder, assignment, name)
        if path is None:
            others = [p for p in handed_in if p.name not in notebooks]
            if len(notebooks) == 1 and len(others) == 1:
                path = others[0]
                submission.notes.append(f"graded {path.name} as {name}")
            elif others:
                submission.problem = Outcome.error(
                    f"no {name} in {folder.name}/, and {len(others)} other notebooks "
                    f"({', '.join(p.name for p in others)}): which one?")
                return
            else:
                submission.problem = Outcome.error(f"no {name} in {folder.name}/")
                return
        problem = _unreadable(path, submissions)
        if problem:
            submission.problem = problem
            return
        submission.notebooks[name] = path
    _read_receipts(submission, folder, assignment)
    graded = set(submission.notebooks.values())
    extra = [p.name for p in handed_in if p not in graded]
    if extra:
        submission.notes.append(f"also handed in {', '.join(extra)} (not graded)")


def _read_receipts(submission: Submission, folder: Path, assignment: str) -> None:
    """Keep the exchange's receipts that are what nbgrader wrote (a learner can edit them)."""
    for name in SUBMISSION_RECEIPTS:
        path = _find_file(folder, assignment, name)
        if path is None:
            continue
        content = path.read_bytes()[:1024]
        if name == "timestamp.txt" and not _valid_timestamp(content):
            submission.notes.append("timestamp.txt is not a date: ignored")
            continue
        submission.receipts[name] = content


def _valid_timestamp(content: bytes) -> bool:
    from nbgrader.utils import parse_utc  # the parser nbgrader will use on it

    try:
        parse_utc(content.decode("utf-8").strip())
    except (ValueError, OverflowError, UnicodeDecodeError):
        return False
    return True


def _find_file(folder: Path, assignment: str, name: str) -> Path | None:
    """A regular file `name` in a learner's folder or its `assignment` subfolder."""
    for candidate in (folder / name, folder / assignment / name):
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


def _unreadable(path: Path, submissions: Path) -> Outcome | None:
    """Why `path` is not a notebook nbgrader can grade, or None if it is one."""
    shown = path.relative_to(submissions)
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # JSON errors, wrong encodings, truncated uploads ...
        return Outcome.error(f"{shown} is not a readable notebook "
                             f"({type(error).__name__}: {error})")
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        return Outcome.error(f"{shown} is not a valid notebook ({error.message})")
    return None


def _check_paths(submissions: Path, out: Path, course: Course) -> None:
    if submissions.is_file() and submissions.suffix.lower() != ".zip":
        raise AutograderError(f"submissions {submissions} is a file but not a .zip; expected a "
                              "folder of <student_id>/<notebook>.ipynb or a .zip of them")
    if not submissions.exists():
        raise AutograderError(f"submissions folder {submissions} does not exist")
    if out == submissions or submissions in out.parents:
        raise AutograderError(f"--out {out} is inside the submissions folder {submissions}; "
                              "choose a folder outside it, so that no submission is touched")
    if out in submissions.parents:
        raise AutograderError(f"the submissions folder {submissions} is inside --out {out}")
    protected = (course.solutions, course.released)
    if out in (course.root, *protected) or out in course.root.parents or any(
            folder in out.parents for folder in protected):
        raise AutograderError(f"--out {out} would write into the course's notebooks or above "
                              "them; choose another folder")


def _prepare_output(layout: OutputLayout) -> None:
    """Create OUT, refusing to write into a non-empty folder an earlier run did not create."""
    out = layout.root
    if out.exists() and not out.is_dir():
        raise AutograderError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not layout.marker.exists():
        raise AutograderError(f"--out {out} is not empty and was not written by the autograder; "
                              "refusing to write into it (choose a new folder)")
    out.mkdir(parents=True, exist_ok=True)
    layout.marker.write_text("written by python -m autograder grade\n", encoding="utf-8")


def _prepare_workspace(layout: OutputLayout, source: Path, assignment: str, db_url: str,
                       course_config: Path) -> bool:
    """OUT/nbgrader: an nbgrader course root of its own, so that the instructor can open the
    formgrader there (`cd OUT/nbgrader && jupyter lab`) to grade the written answers by hand.
    Returns it, and whether the assignment's source differs from the last run's."""
    target = layout.source(assignment)
    previous = _digest(target) if target.exists() else None
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    layout.workspace_config.write_text(WORKSPACE_CONFIG.format(
        course_config=str(course_config), root=str(layout.workspace), db_url=db_url),
        encoding="utf-8")
    return previous != _digest(target)


def _digest(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _copy_submission(submission: Submission, layout: OutputLayout, assignment: str,
                     source_metadata: dict[str, dict]) -> bool:
    """Copy the learner's notebooks into the workspace, their nbgrader metadata restored from
    the source (`_grading_metadata` of each notebook); return whether they changed since the
    last run."""
    target = layout.submitted(submission.student_id, assignment)
    incoming = {name: _with_source_metadata(path, source_metadata[name])
                for name, path in submission.notebooks.items()}
    incoming.update(submission.receipts)
    if target.is_dir() and _digest(target) == incoming:
        return False
    if target.exists():
        shutil.rmtree(target)  # a file the learner removed since the last run must not linger
    target.mkdir(parents=True)
    for name, content in incoming.items():
        (target / name).write_bytes(content)
    return True


def _grading_metadata(source_path: Path) -> dict[str, dict]:
    """A source notebook's nbgrader metadata under each of its cells' keys (`_cell_keys`), read
    once per run, not per learner."""
    metadata = {}
    for cell in nbformat.read(source_path, as_version=4).cells:
        if "nbgrader" in cell.get("metadata", {}):
            for key in _cell_keys(cell):
                metadata.setdefault(key, cell.metadata["nbgrader"])
    return metadata


def _cell_keys(cell) -> list[str]:
    """How a learner's cell is matched to its source cell, best first: by id (nbformat 4.5 and
    later; a learner's edits to the metadata leave it alone), then by nbgrader grade_id, what
    plain nbgrader matches by, and all there is in notebooks of nbformat 4.0 to 4.4, which have
    no cell ids (older Jupyter, Colab)."""
    keys = [f"id:{cell['id']}"] if isinstance(cell.get("id"), str) and cell["id"] else []
    grade_id = _nbgrader_metadata(cell).get("grade_id")
    return [*keys, f"grade_id:{grade_id}"] if isinstance(grade_id, str) and grade_id else keys


def _nbgrader_metadata(cell) -> dict:
    """A cell's nbgrader metadata, {} where there is none or it is not a mapping (nbformat's
    schema lets a hand-in hold any JSON there)."""
    metadata = cell.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return nbgrader if isinstance(nbgrader, dict) else {}


def _with_source_metadata(path: Path, source_metadata: dict[str, dict]) -> bytes:
    """The learner's notebook with every cell's nbgrader metadata (grade id, points, locked)
    taken from its source cell (`_cell_keys`), and stripped from cells the
    source does not grade. nbgrader restores locked cells' contents itself, but refuses a
    notebook whose grading metadata was edited; a learner can neither rename a test nor give it
    more points."""
    notebook = nbformat.read(path, as_version=4)
    source_ids = {metadata.get("grade_id") for metadata in source_metadata.values()}
    for cell in notebook.cells:
        original = next((source_metadata[key] for key in _cell_keys(cell)
                         if key in source_metadata), None)
        if original is not None:
            cell.metadata["nbgrader"] = copy.deepcopy(original)
        elif not (isinstance(grade_id := _nbgrader_metadata(cell).get("grade_id"), str)
                  and grade_id in source_ids):
            cell.get("metadata", {}).pop("nbgrader", None)  # not a cell the course grades
    return nbformat.writes(notebook).encode("utf-8")


def _collect_rows(assignment: str, cells: dict[str, list[GradeCell]], found: list[Submission],
                  failed: dict[str, Outcome], db_url: str) -> list[GradeRow]:
    from nbgrader.api import Gradebook, MissingEntry  # slow import, only needed here

    rows = []
    with Gradebook(db_url) as gradebook:
        for submission in found:
            for notebook, graded_cells in cells.items():
                outcome = submission.problem or failed.get(submission.student_id)
                scores: dict[str, float | None] = {cell.grade_id: 0.0 for cell in graded_cells}
                if outcome is None:
                    try:
                        graded = gradebook.find_submission_notebook(
                            notebook.removesuffix(".ipynb"), assignment, submission.student_id)
                    except MissingEntry:
                        outcome = Outcome.error("nbgrader recorded no grades for it")
                    else:
                        scores, outcome = _scores(graded, graded_cells)
                rows.append(GradeRow(submission.student_id, notebook, scores, outcome))
    return rows


def _scores(graded, cells: list[GradeCell]) -> tuple[dict[str, float | None], Outcome]:
    by_id = {grade.name: grade for grade in graded.grades}
    scores: dict[str, float | None] = {}
    pending = False
    for cell in cells:
        grade = by_id.get(cell.grade_id)
        if grade is None:
            scores[cell.grade_id] = 0.0
        elif grade.needs_manual_grade:
            scores[cell.grade_id] = None
            pending = True
        else:
            scores[cell.grade_id] = float(grade.score)
    return scores, Outcome(Status.NEEDS_MANUAL_GRADING if pending else Status.GRADED)


def _add_reviews(rows: list[GradeRow], found: list[Submission], layout: OutputLayout,
                 assignment: str) -> None:
    """Fill in each row's review notes, and mark notebooks in which a cell ran out of time."""
    by_student = {submission.student_id: submission for submission in found}
    for row in rows:
        submission = by_student[row.student_id]
        row.review += submission.notes
        learner_file = submission.notebooks.get(row.notebook)
        if learner_file is not None:
            row.review += review(nbformat.read(learner_file, as_version=4))
        graded = layout.autograded(row.student_id, assignment) / row.notebook
        if not row.outcome.was_run or not graded.is_file():
            continue
        timed_out, guard_lines, row.failures = _scan_outputs(nbformat.read(graded, as_version=4))
        if timed_out:
            row.outcome = Outcome(Status.TIMEOUT)
        row.review += guard_lines


def _scan_outputs(notebook) -> tuple[bool, list[str], dict[str, str]]:
    """(whether a cell hit the per-cell timeout, the kernel guard's reports, {grade_id of a
    failing test cell: the first line of its error})."""
    timed_out, guard_lines, failures = False, [], {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                if output.get("ename") == "CellTimeoutError":
                    timed_out = True
                if meta.get("grade") and not meta.get("solution"):
                    message = f"{output.get('ename')}: {output.get('evalue', '')}"
                    failures.setdefault(meta["grade_id"], message.splitlines()[0][:300])
            if output.get("output_type") == "display_data":
                report = output.get("data", {}).get(GUARD_MIME)
                if report is not None:
                    guard_lines.append(_guard_review(report))
    return timed_out, list(dict.fromkeys(guard_lines)), failures


def _guard_review(report) -> str:
    """The review note for one report of the kernel guard (autograder.kernel_guard)."""
    replaced = report.get("replaced") if isinstance(report, dict) else None
    if not (isinstance(replaced, list) and replaced
            and all(isinstance(item, str) for item in replaced)):
        return "kernel guard: a malformed guard report in the notebook's outputs (forged?)"
    return f"kernel guard: the notebook replaced {', '.join(replaced)}"


def _copy_feedback(layout: OutputLayout, assignment: str) -> None:
    """nbgrader's feedback files, where the instructor hands them back from."""
    for folder in layout.nbgrader_feedback(assignment):
        for html in sorted(folder.glob("*.html")):
            target = layout.feedback_file(folder.parent.name, html.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(html, target)


def write_csv(rows: list[GradeRow], cells: dict[str, list[GradeCell]], path: Path) -> None:
    """grades.csv: student_id, notebook, one column per graded cell, total, max, status, review."""
    columns = [cell.grade_id for graded_cells in cells.values() for cell in graded_cells]
    maxima = {name: sum(cell.points for cell in graded) for name, graded in cells.items()}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "notebook", *columns, "total", "max", "status", "review"])
        for row in rows:
            points = [_number(row.scores.get(column, "")) for column in columns]
            total = sum(score or 0.0 for score in row.scores.values())
            writer.writerow([row.student_id, row.notebook, *points, _number(total),
                             _number(maxima[row.notebook]), row.status, "; ".join(row.review)])


def _number(value) -> str:
    """Points as written in the CSV: 3 rather than 3.0, empty while not yet graded."""
    if value is None or value == "":
        return ""
    return f"{value:g}"
