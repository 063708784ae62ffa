"""`grade --cluster` on a real Dask cluster on loopback: a `dask scheduler` and two `dask worker`
processes, each worker in an empty working folder of its own (as if on another machine).

A synthetic class of lesson 03 (the solution, an alternative, two wrong learners, the release
unchanged, and one whose notebook kills its kernel) is graded locally and on the cluster: the
grades must agree cell by cell. Then one worker is killed (SIGKILL, with everything it started)
while the class is graded: the class still completes, every learner once.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from helpers import (
    IMPLEMENTATIONS,
    filled_notebook,
    implementation_code,
    read_grades,
    run_autograder,
    solution_code,
)
from loopback_dask import LoopbackCluster

pytestmark = pytest.mark.slow

LESSON = "03_the_cliff"
NOTEBOOK = "the_cliff.ipynb"


def _class() -> dict[str, nbformat.NotebookNode]:
    solution = solution_code(LESSON)
    wrong = sorted((IMPLEMENTATIONS / LESSON).glob("wrong_*.py"))[:2]
    learners = {"solution": filled_notebook(LESSON, solution), "blank": filled_notebook(LESSON, {})}
    for path in [*sorted((IMPLEMENTATIONS / LESSON).glob("alternative*.py")), *wrong]:
        learners[path.stem] = filled_notebook(LESSON, {**solution, **implementation_code(path)})
    (first_answer, _), *_ = solution.items()
    learners["kills_its_kernel"] = filled_notebook(
        LESSON, {**solution, first_answer: "import os\nos._exit(1)"})
    return learners


def _write_class(folder: Path) -> Path:
    for learner, notebook in _class().items():
        (folder / learner).mkdir(parents=True)
        nbformat.write(notebook, folder / learner / NOTEBOOK)
    return folder


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    loopback = LoopbackCluster(tmp_path_factory.mktemp("dask"))
    yield loopback
    loopback.close()


@pytest.fixture(scope="module")
def local_grades(tmp_path_factory):
    base = tmp_path_factory.mktemp("local")
    submissions = _write_class(base / "submissions")
    result = run_autograder("grade", LESSON, str(submissions), "--out", str(base / "out"))
    assert result.returncode == 0, result.stderr
    return read_grades(base / "out" / "grades.csv")


def test_the_cluster_grades_as_the_local_pool_does(cluster, local_grades, tmp_path):
    submissions = _write_class(tmp_path / "submissions")
    out = tmp_path / "out"
    result = run_autograder("grade", LESSON, str(submissions), "--out", str(out),
                            "--scheduler-file", str(cluster.scheduler_file))
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    grades = read_grades(out / "grades.csv")
    assert grades == local_grades, "the cluster's grades differ from the local run's"
    assert grades["kills_its_kernel"]["status"].startswith("error: the kernel died"), grades
    assert float(grades["solution"]["total"]) > 0 and float(grades["blank"]["total"]) == 0
    assert (out / "feedback" / "solution" / "the_cliff.html").is_file()
    # The workers' folders stay empty of the instructor's files: tasks carry their inputs.
    for name in ("worker-1", "worker-2"):
        leftovers = [path.name for path in (cluster.base / name).rglob("*.ipynb")]
        assert not leftovers, f"{name} kept {leftovers}"


def test_a_worker_killed_mid_run_loses_no_learner(cluster, local_grades, tmp_path):
    """Run last in this module: it leaves the cluster one worker short."""
    submissions = _write_class(tmp_path / "submissions")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder", "grade", LESSON, str(submissions), "--out",
               str(out), "--scheduler-file", str(cluster.scheduler_file)]
    grading = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = out / "autograder.log"
    deadline = time.monotonic() + 600
    # Once the first learner is back, both workers hold a task (six learners, one thread each).
    while "(on the cluster)" not in (log.read_text() if log.is_file() else ""):
        assert grading.poll() is None, grading.communicate()
        assert time.monotonic() < deadline, "no learner was graded on the cluster"
        time.sleep(0.2)
    cluster.kill(cluster.workers[0])
    stdout, stderr = grading.communicate(timeout=600)
    assert grading.returncode == 0, f"{stdout}\n{stderr}"
    with (out / "grades.csv").open(encoding="utf-8") as handle:
        learners = [line.split(",")[0] for line in handle.read().splitlines()[1:]]
    assert sorted(learners) == sorted(_class()), "every learner appears once"
    assert read_grades(out / "grades.csv") == local_grades


def test_batches_cover_every_learner_once_and_stay_small():
    from autograder.cluster import MAX_BATCH, batches

    for count, threads in [(1, 4), (6, 2), (20, 1), (20, 2), (1000, 8)]:
        learners = [f"s{index}" for index in range(count)]
        cut = batches(learners, threads)
        assert [learner for batch in cut for learner in batch] == learners
        assert all(1 <= len(batch) <= MAX_BATCH for batch in cut)
        assert len(cut) >= min(count, 2 * threads), (count, threads, len(cut))


def test_a_task_is_keyed_by_its_inputs():
    from autograder.cluster import task_key

    learners = {"ada": {"a.ipynb": b"{}"}}
    key = task_key(b"bundle", LESSON, learners, {"timeout": 120})
    assert key == task_key(b"bundle", LESSON, {"ada": {"a.ipynb": b"{}"}}, {"timeout": 120})
    for other in [task_key(b"bundle2", LESSON, learners, {"timeout": 120}),
                  task_key(b"bundle", LESSON, {"ada": {"a.ipynb": b"{ }"}}, {"timeout": 120}),
                  task_key(b"bundle", LESSON, {"bob": {"a.ipynb": b"{}"}}, {"timeout": 120}),
                  task_key(b"bundle", LESSON, learners, {"timeout": 60})]:
        assert other != key


def test_the_source_bundle_follows_links_as_the_local_copy_does(tmp_path):
    """A source folder may link to shared data; the workers get the files, as a local run's
    copy of the source (shutil.copytree) does, not links they could not resolve."""
    import io
    import tarfile

    from autograder.cluster import source_bundle

    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "table.csv").write_text("1,2\n")
    source = tmp_path / "source" / LESSON
    (source / ".ipynb_checkpoints").mkdir(parents=True)
    (source / ".ipynb_checkpoints" / "old.ipynb").write_text("{}")
    (source / "lesson.ipynb").write_text("{}")
    (source / "data").symlink_to(shared, target_is_directory=True)
    (source / "same.csv").symlink_to(shared / "table.csv")
    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()  # noqa: F821\n")
    with tarfile.open(fileobj=io.BytesIO(source_bundle(source, LESSON, config))) as archive:
        members = {member.name: member for member in archive.getmembers()}
        assert sorted(members) == ["nbgrader_config.py", f"source/{LESSON}/data/table.csv",
                                   f"source/{LESSON}/lesson.ipynb", f"source/{LESSON}/same.csv"]
        assert all(member.isfile() for member in members.values())
        settings = archive.extractfile("nbgrader_config.py").read().decode()
    assert 'source_directory = "source"' in settings


def test_a_dask_workers_tasks_share_one_nbgrader_worker_and_keep_no_notebook():
    """Two tasks of one assignment, in one process as on one Dask worker: the second is graded
    by the nbgrader worker (and its warm-kernel template) the first started, each task's
    learners get their own results, and none of their notebooks stays in the session."""
    from autograder import cluster as dask_tasks
    from autograder.cluster import source_bundle
    from autograder.course import Course

    course = Course(Path(__file__).resolve().parent.parent)
    bundle = source_bundle(course.source_dir(LESSON), LESSON, course.config_file)
    options = {"timeout": 120, "notebook_timeout": 900, "memory_bytes": 4 * 2**30,
               "sandbox": True, "warm_kernels": None}
    learners = {name: {NOTEBOOK: nbformat.writes(notebook).encode()}
                for name, notebook in _class().items() if name in ("solution", "blank")}
    try:
        first = dask_tasks.grade_learners(bundle, LESSON, {"solution": learners["solution"]},
                                          options)
        ((session,),) = dask_tasks._idle_sessions.values()
        (worker,) = session.workers.workers
        pid = worker.process.pid
        second = dask_tasks.grade_learners(bundle, LESSON, {"blank": learners["blank"]}, options)
        assert dask_tasks._idle_sessions[next(iter(dask_tasks._idle_sessions))] == [session]
        assert worker.process is not None and worker.process.pid == pid, "a new nbgrader worker"
        assert set(first) == {"solution"} and set(second) == {"blank"}
        for results in (first, second):
            ((_, result),) = results.items()
            assert result["outcome"] is None and NOTEBOOK in result["notebooks"], result
        # Each its own: the solution's tests pass, the blank's fail.
        executed = {"solution": first["solution"]["notebooks"][NOTEBOOK],
                    "blank": second["blank"]["notebooks"][NOTEBOOK]}
        errors = {name: sum(output.output_type == "error"
                            for cell in nbformat.reads(notebook, 4).cells
                            for output in cell.get("outputs", []))
                  for name, notebook in executed.items()}
        assert errors["solution"] == 0 < errors["blank"], errors
        kept = [path.relative_to(session.base) for path in session.base.rglob("*.ipynb")
                if not {"source", "release"} & set(path.relative_to(session.base).parts)]
        assert not kept, f"the session kept learners' notebooks: {kept}"
        assert not (session.out / "grades.csv").exists()
        assert (session.out / "autograder-workers.log").stat().st_size == 0
    finally:
        dask_tasks.close_sessions()
    assert not session.base.exists() and worker.process is None


def test_idle_sessions_are_kept_per_key_and_the_least_recently_used_closed(monkeypatch):
    from autograder import cluster as dask_tasks

    class FakeSession:
        def __init__(self, bundle: bytes) -> None:
            self.name, self.closed = bundle.decode(), False

        def close(self) -> None:
            self.closed = True

    monkeypatch.setattr(dask_tasks, "_Session", FakeSession)
    monkeypatch.setattr(dask_tasks, "MAX_IDLE_SESSIONS", 2)
    monkeypatch.setattr(dask_tasks, "_idle_sessions", type(dask_tasks._idle_sessions)())
    a = dask_tasks._take_session("A", b"a")
    dask_tasks._return_session("A", a)
    assert dask_tasks._take_session("A", b"a") is a  # kept, and taken again: none idle for A
    b, c, d = (dask_tasks._take_session(key, key.lower().encode()) for key in "BCD")
    for key, session in (("B", b), ("C", c), ("D", d)):  # a task of A is still running
        dask_tasks._return_session(key, session)
    assert [b.closed, c.closed, d.closed] == [True, False, False], "B was the least recent"
    dask_tasks._return_session("A", a)
    assert c.closed and not d.closed and not a.closed
    assert {key: [s.name for s in idle] for key, idle in dask_tasks._idle_sessions.items()} == {
        "D": ["d"], "A": ["a"]}
