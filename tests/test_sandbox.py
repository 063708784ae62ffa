"""The sandbox, the static review and the .zip collector, each on its own (fast, no nbgrader).

The zoo (tests/test_zoo.py) checks the same properties end to end, through a grading run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest
from helpers import ROOT

from autograder import sandbox
from autograder.collect import unpack_zip
from autograder.course import AutograderError
from autograder.review import review, review_source
from autograder.sandbox import (
    SandboxPolicy,
    create_pids_cgroup,
    find_bwrap,
    find_pids_cgroups,
    font_cache,
    kernel_needs,
    process_limit,
    remove_pids_cgroup,
    sandbox_command,
)


def _run_sandboxed(code: str, tmp_path: Path, hidden=(), memory=2**30, processes=64,
                   cwd: Path | None = None, visible=None, tmp_files=()):
    """Run `python -c code` under the grader's sandbox policy; (exit code, output)."""
    assert find_bwrap(), "bubblewrap is not installed: `make test` and .ci/run install it"
    policy = SandboxPolicy(bwrap=find_bwrap(), hidden=[str(p) for p in hidden],
                           visible=[*kernel_needs(), *(str(p) for p in visible or ())],
                           memory_bytes=memory, max_processes=process_limit(),
                           pids_cgroups=find_pids_cgroups() if os.getuid() == 0 else None,
                           kernel_processes=processes, tmp_files=list(tmp_files))
    cgroup = (create_pids_cgroup(policy.pids_cgroups, policy.kernel_processes)
              if policy.pids_cgroups else None)
    runtime = tmp_path / "runtime"
    runtime.mkdir(exist_ok=True)
    command = sandbox_command([sys.executable, "-c", textwrap.dedent(code)], str(cwd or tmp_path),
                              str(runtime), policy, cgroup)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        if cgroup:
            remove_pids_cgroup(cgroup)
    return result.returncode, result.stdout + result.stderr


def test_hidden_paths_are_empty_and_the_filesystem_read_only(tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "hidden_tests.txt").write_text("the answers")
    code, output = _run_sandboxed(f"""
        import os
        print("hidden:", os.listdir({str(secret)!r}))
        for path in [{str(tmp_path / "planted.txt")!r}, "/usr/planted.txt",
                     {str(secret / "planted.txt")!r}]:
            try:
                open(path, "w")
                print("wrote", path)
            except OSError as error:
                print("refused", type(error).__name__)
        open("/tmp/scratch", "w").write("ok")
        print("scratch ok")
        """, tmp_path, hidden=[secret])
    assert code == 0, output
    assert "hidden: []" in output and "wrote" not in output and "scratch ok" in output, output
    assert output.count("refused") == 3, "the notebook's folder, the system and hidden folders"


def test_a_hidden_home_keeps_what_the_kernel_needs_inside_it(tmp_path):
    """The grader's home is hidden, though its course, grading run and Python may all lie in it:
    the notebook's folder and the kernel's folders come back read-only, the rest stays hidden,
    also what is hidden inside them."""
    home = tmp_path / "home"
    needed, run = home / "course" / "venv", home / "grading" / "autograded" / "alice"
    gradebook = home / "grading" / "gradebook.db"
    for folder in (needed / "secret", run, home / ".ssh"):
        folder.mkdir(parents=True)
    (needed / "module.txt").write_text("needed")
    (needed / "secret" / "key").write_text("answers")
    (home / ".ssh" / "id_ed25519").write_text("private key")
    gradebook.write_text("everyone's grades")
    (run / "notebook.txt").write_text("the learner's notebook")
    code, output = _run_sandboxed(f"""
        import os
        print("home:", sorted(os.listdir({str(home)!r})))
        print("needed:", open({str(needed / "module.txt")!r}).read())
        print("cwd:", open("notebook.txt").read())
        print("inside needed:", os.listdir({str(needed / "secret")!r}))
        for path in [{str(gradebook)!r}, {str(home / ".ssh" / "id_ed25519")!r}]:
            print("exists" if os.path.exists(path) else "gone", path)
        """, tmp_path, hidden=[home, gradebook, needed / "secret", run.parent.parent],
        cwd=run, visible=[needed])
    assert code == 0, output
    assert "needed: needed" in output and "cwd: the learner's notebook" in output, output
    assert "inside needed: []" in output and "exists" not in output, output
    assert "id_ed25519" not in output.replace(str(home / ".ssh" / "id_ed25519"), ""), output


def test_no_network_not_even_to_the_graders_loopback(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    code, output = _run_sandboxed(f"""
        import socket
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=3)
            print("connected")
        except OSError as error:
            print("refused", type(error).__name__)
        """, tmp_path)
    server.close()
    assert code == 0 and "refused" in output and "connected" not in output, output


def test_memory_is_capped(tmp_path):
    code, output = _run_sandboxed("""
        try:
            block = bytearray(3 * 2**30)
            print("allocated")
        except MemoryError:
            print("MemoryError")
        """, tmp_path, memory=2**30)
    assert code == 0 and "MemoryError" in output, output


def test_a_fork_bomb_is_stopped(tmp_path):
    code, output = _run_sandboxed("""
        import os, time
        forks = 0
        try:
            while forks < 5000:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                forks += 1
        except OSError:
            pass
        print("forks:", forks)
        """, tmp_path, processes=64)
    forks = int(output.split("forks:")[1].split()[0])
    # As root the cgroup caps the processes at 64; otherwise RLIMIT_NPROC at the user's count
    # plus 1024.
    assert forks < (64 if os.getuid() == 0 and find_pids_cgroups() else 1100), output


def test_grading_refuses_to_run_without_bubblewrap(tmp_path):
    (tmp_path / "submissions" / "alice").mkdir(parents=True)
    bin_without_bwrap = tmp_path / "bin"
    bin_without_bwrap.mkdir()
    env = {**os.environ, "PATH": str(bin_without_bwrap)}
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", "04_clipping_numpy",
                             str(tmp_path / "submissions"), "--out", str(tmp_path / "out")],
                            cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "bubblewrap" in result.stderr and "--no-sandbox" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists(), "nothing may be written before refusing"


@pytest.mark.parametrize(("source", "expected"), [
    ("import numpy as np\nnp.allclose = lambda *a: True", "assigns to numpy.allclose"),
    ("from numpy import testing as t\nt.assert_allclose = print",
     "assigns to numpy.testing.assert_allclose"),
    ("import torch\ntorch.nn.utils.clip_grad_norm_ = None",
     "assigns to torch.nn.utils.clip_grad_norm_"),
    ("import builtins\nbuiltins.all = any", "assigns to builtins.all"),
    ("get_ipython().showtraceback = print", "IPython's shell"),
    ("setattr(__import__('numpy'), 'allclose', None)", "setattr"),
    ("exec('x = 1')", "exec"),
    ("import sys\nsys.modules['numpy'] = None", "sys.modules"),
])
def test_review_flags_code_that_could_fool_the_tests(source, expected):
    assert any(expected in finding for finding in review_source(source)), review_source(source)


@pytest.mark.parametrize("source", [
    "import numpy as np\ndef clip(v, lo, hi):\n    out = v.copy()\n    out[out < lo] = lo\n"
    "    return np.minimum(out, hi)",
    "x = [1, 2]\nx[0] = 3\nresult = sum(x)",
    "%timeit sum(range(10))\nimport math\nvalue = math.sqrt(2)",
    "def f(:",  # a syntax error costs points, it is not suspicious
])
def test_review_leaves_ordinary_answers_alone(source):
    assert review_source(source) == []


def test_review_reads_only_the_learners_cells():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("exec('given by the course')",
                                  metadata={"nbgrader": {"locked": True, "grade_id": "given"}}),
        nbformat.v4.new_code_cell("import numpy as np\nnp.isclose = None",
                                  metadata={"nbgrader": {"solution": True, "grade_id": "answer"}}),
    ])
    assert review(notebook) == ["assigns to numpy.isclose (replacing a library function)"]


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, text in members.items():
            bundle.writestr(name, text)
    return path


def test_zip_of_lms_file_names_and_folders(tmp_path):
    archive = _zip(tmp_path / "download.zip", {
        "smithjane_12345_67890_clipping_numpy.ipynb": "jane",
        "doejohn_LATE_222_333_clipping_numpy-1.ipynb": "john",
        "alice/clipping_numpy.ipynb": "alice",
        "__MACOSX/alice/._clipping_numpy.ipynb": "debris",
        "../escape.ipynb": "evil",
        "README.txt": "not a learner",
    })
    target = unpack_zip(archive, tmp_path / "unzipped")
    found = {str(p.relative_to(target)): p.read_text() for p in target.rglob("*") if p.is_file()}
    assert found == {"smithjane/clipping_numpy.ipynb": "jane",
                     "doejohn/clipping_numpy-1.ipynb": "john",
                     "alice/clipping_numpy.ipynb": "alice"}


def test_zip_pattern_is_configurable(tmp_path):
    archive = _zip(tmp_path / "moodle.zip", {
        "Jane Smith_4711_assignsubmission_file_/clipping_numpy.ipynb": "jane"})
    target = unpack_zip(archive, tmp_path / "unzipped", r"_(?P<student_id>\d+)_assignsubmission")
    assert (target / "4711" / "clipping_numpy.ipynb").read_text() == "jane"


@pytest.mark.parametrize(("content", "pattern", "message"), [
    (b"not a zip", None, "is not a readable .zip"),
    (None, "(unclosed", "is not a regular expression"),
    (None, "no_group_", "has no (?P<student_id>...) group"),
])
def test_bad_zip_input_gets_a_clear_message(tmp_path, content, pattern, message):
    archive = tmp_path / "class.zip"
    if content is None:
        _zip(archive, {"a_x.ipynb": "{}"})
    else:
        archive.write_bytes(content)
    with pytest.raises(AutograderError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("?", r"\?").replace(".", r"\.")):
        unpack_zip(archive, tmp_path / "unzipped", pattern or r"^(?P<student_id>\w+?)_")


def test_what_the_kernel_needs_stays_visible_under_tmp(tmp_path):
    # A course cloned under /tmp (its venv with it) must still run: /tmp is replaced in the
    # sandbox, except for the folders the kernel needs.
    tool = tmp_path / "venv-like"
    tool.mkdir()
    (tool / "hello.py").write_text("print('hello from', __file__)")
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for visible, expected in (([*kernel_needs(), str(tool)], "hello from"),
                              (kernel_needs(), "No such file")):
        policy = SandboxPolicy(bwrap=find_bwrap(), visible=visible)
        command = sandbox_command([sys.executable, str(tool / "hello.py")], str(runtime),
                                  str(runtime), policy)
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert expected in result.stdout + result.stderr, (visible, result)


MATPLOTLIB_LOG = """
    import logging
    logging.basicConfig(level=logging.DEBUG)
    import matplotlib.font_manager
    """


def test_matplotlib_finds_its_font_list_built_once_read_only_in_each_kernel(tmp_path,
                                                                            monkeypatch):
    """Each kernel's /tmp (its MPLCONFIGDIR) starts empty: without the grader's font list,
    matplotlib scans the system's fonts again in every kernel."""
    cache, policy = tmp_path / "cache", SandboxPolicy(bwrap=find_bwrap())
    files = font_cache(policy, cache_root=str(cache))
    assert [Path(file).parent.parent for file in files] == [cache], files
    assert [path.name for path in cache.iterdir()] == [Path(files[0]).parent.name], \
        "the folder it was built in is gone"

    def build_again(*arguments):
        raise AssertionError("the font list was built a second time")

    monkeypatch.setattr(sandbox, "_build_font_cache", build_again)
    assert font_cache(policy, cache_root=str(cache)) == files
    name = Path(files[0]).name
    code, output = _run_sandboxed(MATPLOTLIB_LOG + f"""
    import os
    for change in (lambda: open("/tmp/{name}", "a"), lambda: os.remove("/tmp/{name}")):
        try:
            change()
            print("changed")
        except OSError as error:
            print("refused", type(error).__name__)
    """, tmp_path, tmp_files=files)
    assert code == 0, output
    assert f"Using fontManager instance from /tmp/{name}" in output, output
    assert "generated new fontManager" not in output and "changed" not in output, output
    code, output = _run_sandboxed(MATPLOTLIB_LOG, tmp_path)
    assert code == 0 and "generated new fontManager" in output, output
