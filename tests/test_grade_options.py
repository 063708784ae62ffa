"""`python -m autograder grade` options, end to end: a .zip as input, --db, --jobs."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest
from helpers import filled_notebook, read_grades, run_autograder, solution_code

pytestmark = pytest.mark.slow

LESSON, NOTEBOOK = "04_clipping_numpy", "clipping_numpy.ipynb"


def _class_zip(path: Path) -> Path:
    solution = nbformat.writes(filled_notebook(LESSON, solution_code(LESSON)))
    blank = nbformat.writes(filled_notebook(LESSON, {}))
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr(f"ada_1_{NOTEBOOK}", solution)
        bundle.writestr(f"bob_LATE_2_{NOTEBOOK}", blank)
        bundle.writestr(f"cyd/{NOTEBOOK}", solution)
    return path


def test_a_zip_from_an_lms_is_graded_into_another_database(tmp_path):
    archive = _class_zip(tmp_path / "class.zip")
    database = tmp_path / "db" / "course.db"
    database.parent.mkdir()
    out = tmp_path / "out"
    result = run_autograder("grade", LESSON, str(archive), "--out", str(out), "--jobs", "2",
                            "--db", f"sqlite:///{database}", "--no-progress")
    assert result.returncode == 0, result.stderr
    grades = read_grades(out / "grades.csv")
    assert {learner: grades[learner]["total"] for learner in grades} == {
        "ada": "12", "bob": "0", "cyd": "12"}
    assert database.is_file() and not (out / "gradebook.db").exists()
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{database}") as gradebook:
        assert sorted(s.id for s in gradebook.students) == ["ada", "bob", "cyd"]
    assert archive.stat().st_size > 0 and zipfile.is_zipfile(archive), "the zip is only read"


def test_a_database_that_cannot_be_opened_is_a_clear_error(tmp_path):
    archive = _class_zip(tmp_path / "class.zip")
    result = run_autograder("grade", LESSON, str(archive), "--out", str(tmp_path / "out"),
                            "--db", "postgresql://grader:secret@127.0.0.1:9/none",
                            "--no-progress")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "gradebook" in result.stderr and "secret" not in result.stderr, result.stderr


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL server on a Unix socket (no TCP): yields its SQLAlchemy URL."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert binaries, "PostgreSQL's server is not installed (.ci/run installs it: postgresql)"
    bin_dir = Path(binaries[-1]).parent
    # Straight under /tmp: pytest's own folders are private to this user, and the server's user
    # must reach its files.
    folder = Path(tempfile.mkdtemp(prefix="gradclip-pg-"))
    # PostgreSQL refuses to run as root: run it as its own user then.
    as_user = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    if as_user:
        shutil.chown(folder, "postgres")
    data = folder / "data"

    def pg(*command):
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    pg(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "grader")
    pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"),
       "-o", f"-k {folder} -c listen_addresses=''", "start")
    try:
        pg(str(bin_dir / "createdb"), "-h", str(folder), "-U", "grader", "gradclip")
        yield f"postgresql://grader@/gradclip?host={folder}"
    finally:
        pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_a_postgresql_gradebook_with_parallel_grading(tmp_path, postgres):
    archive = _class_zip(tmp_path / "class.zip")
    out = tmp_path / "out"
    for _ in range(2):  # the second run: idempotent, no duplicate rows
        result = run_autograder("grade", LESSON, str(archive), "--out", str(out), "--jobs", "3",
                                "--db", postgres, "--no-progress")
        assert result.returncode == 0, result.stderr
    grades = read_grades(out / "grades.csv")
    assert {learner: grades[learner]["total"] for learner in grades} == {
        "ada": "12", "bob": "0", "cyd": "12"}
    from nbgrader.api import Gradebook

    with Gradebook(postgres) as gradebook:
        assert sorted(s.id for s in gradebook.students) == ["ada", "bob", "cyd"]
        assert len(gradebook.assignment_submissions(LESSON)) == 3
    assert not (out / "gradebook.db").exists()
