"""Warm kernels (autograder.warm): forked from one template per worker, each learner's kernel
still starts clean. One worker grades a learner who pollutes everything a kernel can reach, then
one who looks for it; and the same class graded cold gets the same grades."""

from __future__ import annotations

import copy
import json
import textwrap

import nbformat
import pytest
from helpers import filled_notebook, read_grades, run_autograder, solution_code

pytestmark = pytest.mark.slow

LESSON = "04_clipping_numpy"
NOTEBOOK = "clipping_numpy.ipynb"

POLLUTE = textwrap.dedent("""\
    import os, subprocess, sys
    import numpy
    os.environ["POLLUTED"] = "yes"
    sys.modules["polluted_module"] = sys
    numpy.polluted = True
    sys.path.insert(0, "/tmp/polluted_path")
    open("/tmp/polluted", "w").write("x")
    open("/dev/shm/polluted", "w").write("x")
    sleeper = subprocess.Popen(["sleep", "300"], start_new_session=True)
    for target in ("planted.py", "/dev/planted"):
        try:
            open(target, "w").write("x = 1")
            print("polluter wrote", target)
        except OSError as error:
            print("polluter could not write", target, type(error).__name__)
    """)

LOOK = textwrap.dedent("""\
    import os, sys
    import numpy
    def _sleeping():
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if open(f"/proc/{entry}/cmdline").read().startswith("sleep"):
                        return True
                except OSError:
                    pass
        return False
    seen = {"environment": "POLLUTED" in os.environ, "modules": "polluted_module" in sys.modules,
            "numpy": hasattr(numpy, "polluted"), "path": "/tmp/polluted_path" in sys.path,
            "tmp": os.path.exists("/tmp/polluted"), "shm": os.path.exists("/dev/shm/polluted"),
            "cwd": os.path.exists("planted.py"), "dev": os.path.exists("/dev/planted"),
            "process": _sleeping()}
    print("seen:", sorted(name for name, found in seen.items() if found))
    status = dict(line.split(":\\t") for line in open("/proc/self/status").read().splitlines()
                  if line.startswith(("CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs")))
    print("status:", status)
    print("pid:", os.getpid())
    """)


def _with_first_cell(notebook, source: str) -> nbformat.NotebookNode:
    notebook = copy.deepcopy(notebook)
    index = next(i for i, cell in enumerate(notebook.cells) if cell.get("id") == "imports")
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return notebook


def _printed(out, learner: str) -> str:
    path = out / "nbgrader" / "autograded" / learner / LESSON / NOTEBOOK
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(output.get("text", "")) for cell in notebook["cells"]
                     for output in cell.get("outputs", []))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("warm")
    solution = filled_notebook(LESSON, solution_code(LESSON))
    # One worker (--jobs 1) grades them in this order, from one template.
    learners = {"a_polluter": _with_first_cell(solution, POLLUTE),
                "b_observer": _with_first_cell(solution, LOOK)}
    for learner, notebook in learners.items():
        (base / "submissions" / learner).mkdir(parents=True)
        nbformat.write(notebook, base / "submissions" / learner / NOTEBOOK)
    runs = {}
    for mode in ("warm", "cold"):
        options = ["--warm-kernels"] if mode == "warm" else ["--cold-kernels"]
        result = run_autograder("grade", LESSON, str(base / "submissions"), "--out",
                                str(base / mode), "--jobs", "1", "--no-progress", *options)
        assert result.returncode == 0, f"{mode}: {result.stdout}\n{result.stderr}"
        runs[mode] = base / mode
    return runs


def test_a_learner_leaves_nothing_for_the_next(graded):
    polluter = _printed(graded["warm"], "a_polluter")
    assert "polluter could not write planted.py" in polluter, polluter
    assert "polluter could not write /dev/planted" in polluter, polluter
    observer = _printed(graded["warm"], "b_observer")
    assert "seen: []" in observer, observer


def test_the_kernel_was_forked_and_holds_no_capability(graded):
    observer = _printed(graded["warm"], "b_observer")
    # PID 1 of a namespace of its own: forked by the template (a cold kernel's PID 1 is bwrap).
    assert "pid: 1\n" in observer, observer
    status = eval(observer.split("status:")[1].splitlines()[0])  # noqa: S307  (a dict we printed)
    assert status == {"CapEff": "0" * 16, "CapPrm": "0" * 16, "CapBnd": "0" * 16,
                      "CapAmb": "0" * 16, "NoNewPrivs": "1"}, observer


def _output_kinds(out, learner: str) -> list[list[str]]:
    """For each code cell of the autograded notebook: its outputs' types and MIME types."""
    path = out / "nbgrader" / "autograded" / learner / LESSON / NOTEBOOK
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [[output["output_type"] + ":" + ",".join(sorted(output.get("data", {})))
             for output in cell.get("outputs", [])]
            for cell in notebook["cells"] if cell["cell_type"] == "code"]


def test_warm_kernels_show_plots_as_cold_ones_do(graded):
    # The inline backend hooks into IPython when it is imported; imported in the template,
    # before any shell existed, it showed each figure as "<Figure size ...>" text only.
    warm, cold = (_output_kinds(graded[mode], "b_observer") for mode in ("warm", "cold"))
    assert any("display_data:image/png,text/plain" in cell for cell in cold), cold
    assert warm == cold


def test_cold_kernels_give_the_same_grades(graded):
    warm, cold = (read_grades(graded[mode] / "grades.csv") for mode in ("warm", "cold"))
    assert warm == cold
    assert all(row["total"] == row["max"] for row in warm.values()), warm
    assert "pid: 1\n" not in _printed(graded["cold"], "b_observer")


@pytest.mark.parametrize(("asked", "learners", "jobs", "warm"), [
    (None, 4, 2, True),     # two learners per job: the template pays for itself
    (None, 3, 2, False),    # one job would grade a single learner
    (None, 1, 1, False),    # a late hand-in graded on a re-run
    (True, 1, 1, True),     # --warm-kernels
    (False, 40, 2, False),  # --cold-kernels
])
def test_kernels_are_warm_by_default_when_each_job_has_two_learners(asked, learners, jobs, warm):
    from autograder.grade import GradingOptions, _warm_kernels
    from autograder.sandbox import SandboxPolicy

    options = GradingOptions(warm_kernels=asked)
    assert _warm_kernels(options, SandboxPolicy(bwrap="/usr/bin/bwrap"), learners, jobs) is warm
    # Without bubblewrap there is no template to fork from.
    assert _warm_kernels(options, SandboxPolicy(bwrap=None), learners, jobs) is False
