"""The grading worker's changes to how nbgrader keeps its gradebook (autograder.worker).

Each runs in a Python of its own, as the worker does, so that nbgrader stays unchanged in the
test process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from helpers import ROOT

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
    # nbgrader finds `alembic` on the PATH, as in the grader's environment.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                          env={**os.environ, "PATH": path}, capture_output=True, text=True,
                          timeout=120)


def test_a_new_gradebook_is_stamped_with_nbgraders_version_without_a_subprocess(tmp_path):
    result = python(NEW_GRADEBOOK, str(tmp_path / "gradebook.db"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("stamped "), result.stdout
