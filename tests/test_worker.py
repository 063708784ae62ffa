"""The grading worker's changes to how nbgrader keeps its gradebook (autograder.worker).

Each runs in a Python of its own, as the worker does, so that nbgrader stays unchanged in the
test process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from helpers import ROOT

from autograder.course import nbgrader_env

NEW_GRADEBOOK = """
import sqlite3, subprocess, sys
from nbgrader import api
expected = api.get_alembic_version()  # nbgrader's own way: `alembic heads` in a subprocess
from autograder import worker
worker.read_schema_version_in_process()

def no_subprocess(*args, **kwargs):
    raise AssertionError(f"a subprocess was started: {args}")

subprocess.check_output = subprocess.run = subprocess.Popen = no_subprocess
path = sys.argv[1]
api.Gradebook(f"sqlite:///{path}").close()
stamped = sqlite3.connect(path).execute("SELECT version_num FROM alembic_version").fetchall()
assert stamped == [(expected,)], f"expected the gradebook stamped {expected!r}, found {stamped}"
print("stamped", expected)
"""


def python(code: str, *args: str) -> subprocess.CompletedProcess:
    # The grader's environment for nbgrader, which finds `alembic` on its PATH.
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                          env=nbgrader_env(), capture_output=True, text=True, timeout=120)


def test_a_new_gradebook_is_stamped_with_nbgraders_version_without_a_subprocess(tmp_path):
    result = python(NEW_GRADEBOOK, str(tmp_path / "gradebook.db"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("stamped "), result.stdout


SHARED_ENGINES = """
import gc, os, sys
from nbgrader import api
from autograder import worker
worker.reuse_engines()
first, other = (f"sqlite:///{path}" for path in sys.argv[1:3])

def engine_of(url, student=None):
    with api.Gradebook(url) as gradebook:
        if student:
            gradebook.add_student(student)
        return gradebook.engine, [s.id for s in gradebook.students]

def open_files(path):
    return [fd for fd in os.listdir("/proc/self/fd")
            if os.path.realpath(f"/proc/self/fd/{fd}") == os.path.realpath(path)]

engine, students = engine_of(first, "ada")
assert engine_of(first)[0] is engine, "a second Gradebook of the database made a new engine"
assert engine_of(other)[0] is not engine, "another database shares the first one's engine"
assert not open_files(sys.argv[1]), "the gradebook stays open after close"
os.replace(sys.argv[2], sys.argv[1])  # another gradebook file in its place
again, students = engine_of(first)
assert again is engine and students == [], f"the replaced file's students were read: {students}"

with api.Gradebook(first) as outer:  # one opened inside another, as nbgrader may
    with api.Gradebook(first) as inner:
        inner.add_student("bo")
    outer.add_student("cy")
assert not open_files(sys.argv[1]), "a nested gradebook stays open after both closed"

def failing_check(self, course_id):  # the opening fails after it has queried the database
    self.db.execute(api.text("SELECT 1"))
    raise RuntimeError("database is locked")

check_course, api.Gradebook.check_course = api.Gradebook.check_course, failing_check
try:
    api.Gradebook(first)
except RuntimeError:
    pass
api.Gradebook.check_course = check_course
os.replace(sys.argv[1], sys.argv[1] + ".moved")
assert engine_of(first)[1] == [], "the failed opening's connection to the moved file was reused"
gc.collect()  # the failed Gradebook's own session goes with it; no pool may keep its connection
assert not open_files(sys.argv[1] + ".moved"), "a failed opening's connection is kept"

server = "postgresql+psycopg://grader@localhost/gradebook"  # not connected to: no query runs
assert api.create_engine(server) is not api.create_engine(server), "a server's engine is shared"
print("shared")
"""


def test_gradebooks_of_one_database_share_an_engine_and_hold_no_file_open(tmp_path):
    result = python(SHARED_ENGINES, str(tmp_path / "one.db"), str(tmp_path / "other.db"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "shared", result.stdout
