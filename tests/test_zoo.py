"""The bad-submission zoo: everything learners hand in, graded as one class of lesson 04.

Each learner below is one kind of bad (or hostile) submission. The whole class is graded once,
sandboxed and two at a time; the batch must finish, every learner must get the status and marks
their submission deserves, and nothing may leak out of a kernel: no network, no writes outside
its scratch space, no reading the hidden tests, the gradebook or the other submissions.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import socket
import textwrap
import threading
from pathlib import Path

import nbformat
import pytest
from helpers import (
    ROOT,
    filled_notebook,
    hidden_test_lines,
    implementation_code,
    read_grades,
    run_autograder,
    solution_code,
)

pytestmark = pytest.mark.slow

LESSON = "04_clipping_numpy"
NOTEBOOK = "clipping_numpy.ipynb"
WRONG_CLIP_BY_NORM = ROOT / "tests/implementations" / LESSON / "wrong_clip_norm_blog_normalize.py"
MAX = 12  # the lesson's points
CLIP_BY_NORM_POINTS = 3
CELL_TIMEOUT = 10


def _solution() -> nbformat.NotebookNode:
    return filled_notebook(LESSON, solution_code(LESSON))


def _wrong_clip_by_norm() -> nbformat.NotebookNode:
    return filled_notebook(LESSON, {**solution_code(LESSON),
                                    **implementation_code(WRONG_CLIP_BY_NORM)})


def _with_cell(notebook, source: str, after: str = "imports") -> nbformat.NotebookNode:
    """The notebook with a cell of the learner's own (no nbgrader metadata) after `after`."""
    notebook = copy.deepcopy(notebook)
    index = next(i for i, cell in enumerate(notebook.cells) if cell.get("id") == after)
    cell = nbformat.v4.new_code_cell(source)
    notebook.cells.insert(index + 1, cell)
    return notebook


def _cell(notebook, cell_id: str):
    return next(cell for cell in notebook.cells if cell.get("id") == cell_id)


def _probe(label: str, action: str) -> str:
    """Learner code that tries `action` and prints '<label>: DONE' or '<label>: BLOCKED (...)'."""
    body = "\n".join("    " + line for line in action.strip().splitlines())
    return (f"try:\n{body}\n    print({label + ': DONE'!r})\n"
            f"except BaseException as error:\n"
            f"    print({label + ': BLOCKED'!r}, type(error).__name__)\n")


def _snoop(lines: list[str]) -> str:
    """Learner code that reads every file it can (but the system's and Python's own software)
    and prints where it found any of `lines`. They travel base64-encoded, so that the hand-in
    itself, wherever it lies, does not hold them."""
    import base64

    encoded = [base64.b64encode(line.encode()).decode() for line in lines]
    return textwrap.dedent("""\
        import base64, os, stat, sys, time
        wanted = [base64.b64decode(text) for text in %r]
        PACKED = (".whl", ".zip", ".gz", ".tgz", ".xz", ".bz2", ".zst", ".deb", ".pack")
        software = {"/proc", "/sys", "/dev", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
                    "/libx32", "/boot"}
        software |= {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}
        found, scanned, complete, started = [], 0, True, time.monotonic()
        for root, folders, files in os.walk("/"):
            folders[:] = [f for f in folders
                          if os.path.join(root, f) not in software and f != "node_modules"]
            if time.monotonic() - started > 6:
                complete = False
                break
            for name in files:
                if name.endswith(PACKED):  # compressed: no line of text can be found in it
                    continue
                path = os.path.join(root, name)
                try:
                    info = os.stat(path)  # a pipe would block a read: regular files only
                    if not stat.S_ISREG(info.st_mode) or info.st_size > 8 * 2**20:
                        continue
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                scanned += 1
                if any(line in data for line in wanted):
                    found.append(path)
        print("snoop: scanned", scanned, "files; complete:", complete,
              "; hidden tests found in:", found)
        """) % (encoded,)


class _Listener:
    """A TCP server on loopback standing for the grader's own ports: counts who connects."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


def _zoo(base: Path, listener: _Listener) -> dict[str, dict[str, object]]:
    """{learner: {file name: notebook or raw text}} for every kind of bad submission."""
    out, submissions = base / "out", base / "submissions"
    source_copy = out / "nbgrader" / "source" / LESSON / NOTEBOOK
    hidden_tests = ROOT / "solutions" / LESSON / NOTEBOOK
    wrong = _wrong_clip_by_norm()

    deleted = copy.deepcopy(wrong)
    deleted.cells = [c for c in deleted.cells if c.get("id") != "test_clip_by_norm"]
    edited = copy.deepcopy(wrong)
    _cell(edited, "test_clip_by_norm").source = "pass"
    relabelled = copy.deepcopy(wrong)
    _cell(relabelled, "test_clip_by_norm").metadata["nbgrader"]["points"] = 100
    _cell(relabelled, "test_vector_norm").metadata["nbgrader"]["grade_id"] = "free_points"
    looping = filled_notebook(LESSON, {**solution_code(LESSON), "clip_by_value": (
        "def clip_by_value(values, min_value, max_value):\n    while True:\n        pass")})

    vandal = "\n".join([
        "import os, shutil",
        _probe("write the gradebook", f"open({str(out / 'gradebook.db')!r}, 'w').write('x')"),
        _probe("write the gradebook by a relative path",
               "open('../../../../gradebook.db', 'w').write('x')"),
        _probe("delete another submission", f"shutil.rmtree({str(submissions / 'correct')!r})"),
        _probe("delete the workspace's copies", f"shutil.rmtree({str(out / 'nbgrader')!r})"),
        _probe("read the hidden tests", f"open({str(hidden_tests)!r}).read()"),
        _probe("read the grader's copy of the source", f"open({str(source_copy)!r}).read()"),
        _probe("write next to the notebook", "open('planted.py', 'w').write('x = 1')"),
        _probe("write to the scratch space", "open('/tmp/scratch.txt', 'w').write('ok')"),
    ])
    network = "\n".join([
        "import socket, urllib.request",
        _probe("reach an outside address",
               "urllib.request.urlopen('http://93.184.216.34/', timeout=3)"),
        _probe("reach the grader's port",
               f"socket.create_connection(('127.0.0.1', {listener.port}), timeout=3)"),
    ])
    fork_bomb = textwrap.dedent("""\
        import os, time
        forks = 0
        try:
            while forks < 100000:
                if os.fork() == 0:
                    time.sleep(120)
                    os._exit(0)
                forks += 1
        except OSError as error:
            print('fork bomb stopped after', forks, 'processes:', type(error).__name__)
        """)
    snoop = _snoop(sorted(line for line in hidden_test_lines(LESSON)
                          if line.isascii() and '"' not in line and "\\" not in line)[:5])
    monkeypatch = ("import numpy as np\nnp.allclose = lambda *args, **kwargs: True\n"
                   "np.testing.assert_allclose = lambda *args, **kwargs: None\n"
                   "import builtins\nbuiltins.all = lambda *args: True")
    guard_off = ("ip = get_ipython()\n"
                 "for callback in list(ip.events.callbacks['post_run_cell']):\n"
                 "    ip.events.unregister('post_run_cell', callback)\n"
                 "import numpy as np\nnp.allclose = lambda *args, **kwargs: True\n"
                 "np.testing.assert_allclose = lambda *args, **kwargs: None")
    solution = _solution()
    return {
        "correct": {NOTEBOOK: solution},
        "malformed_json": {NOTEBOOK: '{"cells": [1,'},
        "empty_file": {NOTEBOOK: ""},
        "notebook_missing": {"notes.txt": "I forgot to attach it"},
        "renamed": {"clipping_numpy (1).ipynb": solution},
        "extra_files": {NOTEBOOK: solution, "helper.py": "x = 1\n", "data.csv": "1,2\n"},
        "two_notebooks": {NOTEBOOK: solution, "Untitled.ipynb": filled_notebook(LESSON, {})},
        "two_wrong_names": {"a.ipynb": solution, "b.ipynb": solution},
        "deleted_test_cell": {NOTEBOOK: deleted},
        "edited_test_cell": {NOTEBOOK: edited},
        "changed_metadata": {NOTEBOOK: relabelled},
        "infinite_loop": {NOTEBOOK: looping},
        "kernel_exit": {NOTEBOOK: _with_cell(solution, "import os\nos._exit(1)")},
        "memory_hog": {NOTEBOOK: _with_cell(solution, _probe(
            "allocate 50 GB", "import numpy as np\nhog = np.ones(50 * 2**30 // 8)"))},
        "print_flood": {NOTEBOOK: _with_cell(solution,
                                             "import sys\nsys.stdout.write('x' * 100 * 2**20)")},
        "network": {NOTEBOOK: _with_cell(solution, network)},
        "vandal": {NOTEBOOK: _with_cell(solution, vandal)},
        "sys_exit": {NOTEBOOK: _with_cell(solution, "import sys\nsys.exit()")},
        "fork_bomb": {NOTEBOOK: _with_cell(solution, fork_bomb)},
        "monkeypatch": {NOTEBOOK: _with_cell(wrong, monkeypatch)},
        "guard_switched_off": {NOTEBOOK: _with_cell(wrong, guard_off)},
        "snoop": {NOTEBOOK: _with_cell(solution, snoop)},
    }


def _digest(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    base = tmp_path_factory.mktemp("zoo")
    listener = _Listener()
    submissions, out = base / "submissions", base / "out"
    learners = _zoo(base, listener)
    for learner, files in learners.items():
        (submissions / learner).mkdir(parents=True)
        for name, content in files.items():
            if isinstance(content, str):
                (submissions / learner / name).write_text(content, encoding="utf-8")
            else:
                nbformat.write(content, submissions / learner / name)
    before = _digest(submissions)
    result = run_autograder("grade", LESSON, str(submissions), "--out", str(out), "--jobs", "2",
                            "--timeout", str(CELL_TIMEOUT), "--notebook-timeout", "300",
                            "--memory", "2G", "--no-progress")
    assert result.returncode == 0, f"autograder failed:\n{result.stdout}\n{result.stderr}"
    listener.server.close()
    return {"grades": read_grades(out / "grades.csv"), "out": out, "submissions": submissions,
            "before": before, "listener": listener, "learners": set(learners)}


def _outputs(zoo, learner: str) -> str:
    """Everything the learner's graded notebook printed."""
    path = zoo["out"] / "nbgrader" / "autograded" / learner / LESSON / NOTEBOOK
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(output.get("text", "")) for cell in notebook["cells"]
                     for output in cell.get("outputs", []))


def read_grades_text(text: str) -> dict[str, dict[str, str]]:
    return {row["student_id"]: row for row in csv.DictReader(io.StringIO(text))}


def _total(row) -> float:
    return float(row["total"])


def test_every_learner_has_a_row_and_the_correct_one_full_marks(zoo):
    grades = zoo["grades"]
    assert set(grades) == zoo["learners"]
    assert grades["correct"]["status"] == "graded"
    assert _total(grades["correct"]) == MAX
    assert grades["correct"]["review"] == ""


@pytest.mark.parametrize(("learner", "message"), [
    ("malformed_json", "is not a readable notebook"),
    ("empty_file", "is not a readable notebook"),
    ("notebook_missing", f"no {NOTEBOOK} in notebook_missing/"),
    ("two_wrong_names", "which one?"),
])
def test_unreadable_or_missing_notebooks_are_errors_with_reasons(zoo, learner, message):
    row = zoo["grades"][learner]
    assert row["status"].startswith("error: ") and message in row["status"], row["status"]
    assert _total(row) == 0


@pytest.mark.parametrize(("learner", "note"), [
    ("renamed", f"graded clipping_numpy (1).ipynb as {NOTEBOOK}"),
    ("extra_files", None),
    ("two_notebooks", "also handed in Untitled.ipynb (not graded)"),
])
def test_renamed_and_extra_files_are_graded_and_noted(zoo, learner, note):
    row = zoo["grades"][learner]
    assert row["status"] == "graded" and _total(row) == MAX, row
    assert (note or "") in row["review"] and (note is not None or row["review"] == ""), row


@pytest.mark.parametrize("learner", ["edited_test_cell", "changed_metadata"])
def test_tampered_test_cells_are_restored_from_the_source(zoo, learner):
    row = zoo["grades"][learner]
    assert row["status"] == "graded", row
    assert float(row["test_clip_by_norm"]) == 0, "the wrong clip_by_norm must still lose its points"
    assert float(row["max"]) == MAX and _total(row) == MAX - CLIP_BY_NORM_POINTS, row
    assert "free_points" not in row


def test_a_deleted_test_cell_earns_nothing_and_awaits_the_instructor(zoo):
    # nbgrader puts a deleted graded cell back unexecuted and asks for a manual grade.
    row = zoo["grades"]["deleted_test_cell"]
    assert row["status"] == "needs manual grading", row
    assert row["test_clip_by_norm"] in ("", "0"), row
    assert _total(row) == MAX - CLIP_BY_NORM_POINTS, row


def test_an_infinite_loop_times_out_only_its_cells(zoo):
    row = zoo["grades"]["infinite_loop"]
    assert row["status"] == "timeout"
    assert float(row["test_clip_by_value"]) == 0
    assert _total(row) == MAX - float(zoo["grades"]["correct"]["test_clip_by_value"])


def test_a_kernel_that_exits_is_an_error_not_a_crash(zoo):
    row = zoo["grades"]["kernel_exit"]
    assert row["status"].startswith("error: the kernel died"), row["status"]
    assert _total(row) == 0


@pytest.mark.parametrize("learner", ["memory_hog", "print_flood", "sys_exit", "network",
                                     "vandal"])
def test_hostile_cells_fail_inside_the_sandbox_and_the_rest_is_graded(zoo, learner):
    row = zoo["grades"][learner]
    assert row["status"] == "graded" and _total(row) == MAX, row


def test_the_memory_cap_stops_a_50_gb_allocation(zoo):
    assert "allocate 50 GB: BLOCKED MemoryError" in _outputs(zoo, "memory_hog")


def test_a_100_mb_print_is_cut_short_in_what_is_kept(zoo):
    kept = zoo["out"] / "nbgrader" / "autograded" / "print_flood" / LESSON / NOTEBOOK
    feedback = zoo["out"] / "feedback" / "print_flood" / NOTEBOOK.replace(".ipynb", ".html")
    assert kept.stat().st_size < 5 * 2**20 and feedback.stat().st_size < 5 * 2**20


def test_a_hand_in_finds_no_hidden_test_in_any_file_it_can_read(zoo):
    """The notebook being graded holds the hidden tests (nbgrader restores them): it is not in
    the kernel's working folder, and no other copy is readable either."""
    printed = _outputs(zoo, "snoop")
    match = re.search(r"snoop: scanned (\d+) files; complete: (\w+) ; hidden tests found in: "
                      r"(.*)", printed)
    assert match, f"the snoop printed no report: {printed[-2000:]}"
    assert int(match[1]) > 0 and match[2] == "True", match[0]
    assert match[3] == "[]", f"a learner's code can read hidden tests: {match[3]}"
    assert _total(zoo["grades"]["snoop"]) == MAX


def test_a_fork_bomb_ends_that_learners_grading_only(zoo):
    # The process cap stops it (tests/test_sandbox.py counts); a kernel that cannot start a thread
    # any more may garble its messages, so this learner may end graded or as an error; on a loaded
    # machine the cell's time limit may stop the forking first (status "timeout"). Whichever, the
    # other learners are graded (test_every_learner_has_a_row_and_the_correct_one_full_marks).
    row = zoo["grades"]["fork_bomb"]
    assert _fork_bomb_ended(row), row


def _fork_bomb_ended(row) -> bool:
    return row["status"] in ("graded", "timeout") or row["status"].startswith("error: ")


def test_there_is_no_network(zoo):
    printed = _outputs(zoo, "network")
    assert "reach an outside address: BLOCKED" in printed, printed
    assert "reach the grader's port: BLOCKED" in printed, printed
    assert zoo["listener"].connections == 0


@pytest.mark.parametrize("attempt", [
    "write the gradebook", "write the gradebook by a relative path", "delete another submission",
    "delete the workspace's copies", "read the hidden tests",
    "read the grader's copy of the source", "write next to the notebook"])
def test_the_kernel_cannot_touch_grader_files(zoo, attempt):
    printed = _outputs(zoo, "vandal")
    assert f"{attempt}: BLOCKED" in printed, printed


def test_the_kernel_has_a_scratch_space(zoo):
    assert "write to the scratch space: DONE" in _outputs(zoo, "vandal")


def test_submissions_and_the_gradebook_survive(zoo):
    assert _digest(zoo["submissions"]) == zoo["before"], "a submission was modified"
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{zoo['out'] / 'gradebook.db'}") as gradebook:
        assert {s.id for s in gradebook.students} >= {"correct", "vandal"}


def test_monkeypatching_the_test_helpers_earns_nothing_and_is_flagged(zoo):
    row = zoo["grades"]["monkeypatch"]
    assert float(row["test_clip_by_norm"]) == 0, "patched asserts must not pass a wrong answer"
    assert "numpy.allclose" in row["review"] and "builtins.all" in row["review"], row["review"]


def test_switching_the_guard_off_is_flagged_for_review(zoo):
    # Code in the kernel can disable the in-kernel guard; the static review outside still sees it.
    review = zoo["grades"]["guard_switched_off"]["review"]
    assert "IPython's shell" in review and "numpy.allclose" in review, review


def test_rerunning_grades_nothing_again_and_changes_nothing(zoo):
    out = zoo["out"]
    grades_before = (out / "grades.csv").read_text(encoding="utf-8")
    result = run_autograder("grade", LESSON, str(zoo["submissions"]), "--out", str(out),
                            "--timeout", str(CELL_TIMEOUT), "--no-progress")
    assert result.returncode == 0, result.stderr
    before, after = read_grades_text(grades_before), read_grades(out / "grades.csv")
    assert set(after) == set(before)
    for learner, row in before.items():
        if learner == "fork_bomb":
            # Stopped by the process cap or the cell's time limit, whichever comes first under
            # the machine's load: graded, timeout or error, on either run.
            assert _fork_bomb_ended(after[learner]), after[learner]
        elif row["status"].startswith("error"):
            # Retried (nothing half-graded is kept); a fork bomb may fail in another way.
            assert after[learner]["status"].startswith("error"), after[learner]
        else:
            assert after[learner] == row, f"{learner} changed on a re-run"
