"""A class on JupyterHub, end to end on loopback: deploy/jupyterhub as `make hub` runs it.

The module's fixture sets up a classroom (an instructor and two learners, as new local
accounts with random names), starts the hub on free loopback ports, and then plays a whole
assignment through the hub's REST API and each user's own server, as each user:

1. the instructor generates and releases lesson 04 with the formgrader's API;
2. each learner fetches it (nbgrader's Assignments API), fills it in through the Jupyter
   contents API (one with the solution, one with the blog post's clipping rule) and submits;
3. the instructor collects (formgrader API), grades with `python -m autograder grade` and returns
   the feedback with `python -m autograder return-feedback`, in their account as in a terminal,
   and opens the grading run in the formgrader of a server named grade-03;
4. each learner fetches their feedback.

The tests then check the grades, the feedback in each learner's home, the file permissions
between accounts, and which nbgrader tools each role sees. The hub is stopped and the accounts
removed at the end, also when a step fails. It needs root (useradd); without it the tests skip,
except under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from helpers import (
    IMPLEMENTATIONS,
    ROOT,
    chromium,
    free_port,
    implementation_code,
    read_grades,
    solution_code,
)

sys.path.insert(0, str(ROOT / "deploy" / "jupyterhub"))
import classroom  # noqa: E402

pytestmark = pytest.mark.slow

ASSIGNMENT = "04_clipping_numpy"
NOTEBOOK = "clipping_numpy.ipynb"
COURSE_ID = classroom.COURSE_ID
PROXY = ROOT / "deploy" / "jupyterhub" / "node_modules" / ".bin" / "configurable-http-proxy"
WRONG = IMPLEMENTATIONS / ASSIGNMENT / "wrong_clip_norm_blog_normalize.py"
ARTIFACTS = ROOT / "test-artifacts" / "hub"


def _require_root_and_proxy() -> None:
    problem = None
    if os.geteuid() != 0:
        problem = "the classroom test creates local accounts, so it runs as root (CI does)"
    elif not PROXY.exists():
        problem = f"no {PROXY}: run `make hub-proxy` (make test does)"
    if problem and os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the classroom test, but {problem}")
    if problem:
        pytest.skip(problem)


class Hub:
    """A running hub, and requests to it as its service or as one of its users."""

    def __init__(self, state: Path, names: dict[str, str]):
        self.state = state
        self.names = names  # role -> user name: instructor, good, bad
        self.ports = {name: free_port() for name in ("PORT", "API_PORT")}
        self.proxy_api_port = free_port()
        self.url = f"http://127.0.0.1:{self.ports['PORT']}"
        self.process: subprocess.Popen | None = None
        self.tokens: dict[str, str] = {}
        self.log = state / "hub.log"

    @property
    def classroom(self) -> dict:
        return classroom.load(self.state)

    def start(self) -> None:
        env = {**os.environ, "GRADCLIP_HUB_STATE": str(self.state),
               "GRADCLIP_HUB_PORT": str(self.ports["PORT"]),
               "GRADCLIP_HUB_API_PORT": str(self.ports["API_PORT"]),
               "GRADCLIP_PROXY_API_PORT": str(self.proxy_api_port),
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "jupyterhub"), "-f",
                 str(ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py")],
                cwd=self.state, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        self._wait(lambda: requests.get(f"{self.url}/hub/api", timeout=2).ok, 60, "the hub")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # the hub stops its proxy and servers
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def _wait(self, ready, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the hub exited while waiting for {what}:\n{self.tail()}")
            try:
                if ready():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError(f"{what} not ready after {seconds} s:\n{self.tail()}")

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])

    def service(self, method: str, path: str, **kwargs) -> requests.Response:
        token = (self.state / classroom.PRIVATE / "service-token").read_text().strip()
        response = requests.request(method, f"{self.url}/hub/api{path}", timeout=60,
                                    headers={"Authorization": f"token {token}"}, **kwargs)
        assert response.ok, f"{method} /hub/api{path}: {response.status_code} {response.text}"
        return response

    def start_server(self, user: str, name: str = "") -> None:
        """Start `user`'s JupyterLab (as the hub's spawn button does) and get a token for them."""
        self.service("POST", f"/users/{user}/servers/{name}" if name else f"/users/{user}/server")
        self._wait(lambda: self.service("GET", f"/users/{user}").json()["servers"]
                   .get(name, {}).get("ready"), 120, f"{user}'s server {name!r}")
        if user not in self.tokens:
            self.tokens[user] = self.service(
                "POST", f"/users/{user}/tokens",
                json={"note": "classroom test", "expires_in": 3600}).json()["token"]

    def as_user(self, user: str, method: str, path: str, check: bool = True,
                **kwargs) -> requests.Response:
        """A request to `user`'s own server, through the proxy, with `user`'s token. Each server
        has a host of its own, USER.localhost, which browsers resolve to loopback and Python
        does not: the request goes to 127.0.0.1 and names the host in its header."""
        headers = {"Authorization": f"token {self.tokens[user]}",
                   "Host": f"{user}.localhost:{self.ports['PORT']}"}
        response = requests.request(method, f"{self.url}/user/{user}{path}", timeout=300,
                                    headers=headers, **kwargs)
        if check:
            assert response.ok, f"{user}: {method} {path}: {response.status_code} {response.text}"
        return response

    def run(self, user: str, *command: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """A command in `user`'s account, with their server's environment (their terminal)."""
        return classroom.run_as(user, list(command), self.classroom, timeout=timeout)


def _fill(notebook: dict, code: dict[str, str]) -> dict:
    """The fetched notebook with the answer cells named in `code` replaced."""
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in code:
            cell["source"] = code[grade_id]
    return notebook


def _classroom(*args: str) -> subprocess.CompletedProcess:
    """deploy/jupyterhub/classroom.py with these arguments, as `make hub` runs it."""
    return subprocess.run([sys.executable, str(ROOT / "deploy" / "jupyterhub" / "classroom.py"),
                           *args], capture_output=True, text=True, cwd="/")


@pytest.fixture(scope="module")
def hub():
    _require_root_and_proxy()
    tag = secrets.token_hex(3)
    names = {"instructor": f"gc{tag}i", "good": f"gc{tag}a", "bad": f"gc{tag}b"}
    state = Path(f"/tmp/gradclip-hub-{tag}")
    setup = _classroom("--state", str(state), "setup", "--instructor", names["instructor"],
                       "--learners", f"{names['good']},{names['bad']}", "--open-path")
    running = Hub(state, names)
    try:
        assert setup.returncode == 0, f"classroom setup failed:\n{setup.stdout}{setup.stderr}"
        running.start()
        yield running
    finally:
        running.stop()
        _classroom("--state", str(state), "teardown")


@pytest.fixture(scope="module")
def graded(hub):
    """The whole assignment, released, handed in, graded and returned; what the tests check."""
    instructor, good, bad = (hub.names[role] for role in ("instructor", "good", "bad"))
    for user in (instructor, good, bad):
        hub.start_server(user)

    for step in ("assign", "release"):  # the formgrader's Generate and Release buttons
        result = hub.as_user(instructor, "POST", f"/formgrader/api/assignment/{ASSIGNMENT}/{step}")
        assert result.json().get("success"), f"formgrader {step}: {result.text}"

    solution = solution_code(ASSIGNMENT)
    answers = {good: solution, bad: {**solution, **implementation_code(WRONG)}}
    listed = {}
    for learner, code in answers.items():
        listed[learner] = hub.as_user(learner, "GET", "/assignments",
                                      params={"course_id": COURSE_ID}).json()
        form = {"course_id": COURSE_ID, "assignment_id": ASSIGNMENT}
        hub.as_user(learner, "POST", "/assignments/fetch", data=form)
        path = f"/api/contents/{ASSIGNMENT}/{NOTEBOOK}"
        notebook = hub.as_user(learner, "GET", path).json()["content"]
        hub.as_user(learner, "PUT", path,
                    json={"type": "notebook", "format": "json", "content": _fill(notebook, code)})
        submitted = hub.as_user(learner, "POST", "/assignments/submit", data=form).json()
        assert not (isinstance(submitted, dict) and submitted.get("success") is False), submitted

    collected = hub.as_user(instructor, "POST", f"/formgrader/api/assignment/{ASSIGNMENT}/collect")
    assert collected.json().get("success"), f"formgrader collect: {collected.text}"
    course_root = Path(hub.classroom["instructors"][instructor])
    out = classroom.grading_folder(course_root, ASSIGNMENT)
    python = str(classroom.PYTHON)
    grading = hub.run(instructor, python, "-m", "autograder", "--course-root", str(course_root),
                      "grade", ASSIGNMENT, str(course_root / "submitted"), "--out", str(out),
                      "--jobs", "2")
    assert grading.returncode == 0, f"grading failed:\n{grading.stdout}{grading.stderr}"
    returned = hub.run(instructor, python, "-m", "autograder", "return-feedback", ASSIGNMENT,
                       "--out", str(out))
    assert returned.returncode == 0, (f"return-feedback failed:\n{returned.stdout}{returned.stderr}"
                                     f"\nafter grading:\n{grading.stdout}{grading.stderr}")

    # Grading by hand: a second server, named after the assignment, opens the run's formgrader.
    server = f"{classroom.GRADING_SERVER}{ASSIGNMENT[:2]}"
    hub.start_server(instructor, server)
    in_formgrader = hub.as_user(instructor, "GET",
                                f"/{server}/formgrader/api/submissions/{ASSIGNMENT}").json()

    feedback = {}
    for learner in answers:
        form = {"course_id": COURSE_ID, "assignment_id": ASSIGNMENT}
        hub.as_user(learner, "POST", "/assignments/fetch_feedback", data=form)
        found = hub.as_user(learner, "GET", f"/api/contents/{ASSIGNMENT}/feedback").json()
        feedback[learner] = [
            hub.as_user(learner, "GET", f"/api/contents/{entry['path']}/{NOTEBOOK[:-6]}.html",
                        check=False)
            for entry in found["content"] if entry["type"] == "directory"]
    return {"grades": read_grades(out / "grades.csv"), "feedback": feedback, "out": out,
            "listed": listed, "returned": returned.stdout, "course_root": course_root,
            "in_formgrader": in_formgrader}


def test_learners_see_the_released_assignment(hub, graded):
    for learner in (hub.names["good"], hub.names["bad"]):
        names = [item["assignment_id"] for item in graded["listed"][learner]["value"]]
        assert ASSIGNMENT in names, f"{learner}'s Assignments tab lists {names}"


def test_correct_learner_gets_full_marks_and_wrong_one_partial(hub, graded):
    good, bad = graded["grades"][hub.names["good"]], graded["grades"][hub.names["bad"]]
    assert good["status"] == "graded" and bad["status"] == "graded", (good, bad)
    assert float(good["total"]) == float(good["max"]) > 0, good
    assert 0 < float(bad["total"]) < float(bad["max"]), bad
    assert float(bad["test_clip_by_norm"]) == 0, "the blog post's rule must lose its test's points"


def test_feedback_is_returned_to_each_learner(hub, graded):
    assert hub.names["good"] in graded["returned"] and hub.names["bad"] in graded["returned"]
    for role in ("good", "bad"):
        learner = hub.names[role]
        pages = graded["feedback"][learner]
        assert len(pages) == 1 and pages[0].ok, f"{learner} fetched no feedback: {pages}"
        html = pages[0].json()["content"]
        # nbgrader's feedback heads the page with "<h4>clipping_numpy (Score: X / Y)</h4>"
        shown = re.search(rf"<h4>{NOTEBOOK[:-6]} \(Score: ([\d.]+) / ([\d.]+)\)</h4>", html)
        assert shown, f"no total score in {learner}'s feedback"
        row = graded["grades"][learner]
        assert (float(shown.group(1)), float(shown.group(2))) == \
            (float(row["total"]), float(row["max"])), (learner, shown.group(0), row)


def test_the_grading_run_opens_in_the_instructors_formgrader(hub, graded):
    scores = {item["student"]: item for item in graded["in_formgrader"]}
    assert set(scores) == {hub.names["good"], hub.names["bad"]}, scores
    for student, item in scores.items():
        row = graded["grades"][student]
        assert item["autograded"] and float(item["score"]) == float(row["total"]), (item, row)


def _denied(hub, user: str, *command: str) -> bool:
    result = hub.run(user, *command, timeout=30)
    return result.returncode != 0 and "Permission denied" in result.stderr


def test_learners_cannot_read_each_other_or_the_instructor(hub, graded):
    good, bad, instructor = (hub.names[role] for role in ("good", "bad", "instructor"))
    exchange = Path(hub.classroom["exchange"]) / COURSE_ID
    inbound = exchange / "inbound"
    handed_in = next(p for p in inbound.iterdir() if p.name.startswith(f"{good}+"))
    course_root = graded["course_root"]
    for path in (f"~{good}", f"~{good}/{ASSIGNMENT}/{NOTEBOOK}", str(inbound),
                 str(exchange / "feedback"),  # returned feedback: unlistable, secret names
                 str(course_root), str(course_root / "solutions" / ASSIGNMENT / NOTEBOOK),
                 str(graded["out"] / "grades.csv"), str(ROOT / "solutions" / ASSIGNMENT / NOTEBOOK),
                 str(ROOT / ".git" / "HEAD"), str(ROOT / "tests" / "helpers.py"),
                 str(hub.state), str(hub.state / classroom.PRIVATE / "jupyterhub.sqlite")):
        path = os.path.expanduser(path)
        command = ("ls", path) if os.path.isdir(path) else ("cat", path)
        assert _denied(hub, bad, *command), f"{bad} can read {path}"
    # nbgrader names every hand-in with 72 random bits: with inbound/ unlistable, another
    # learner cannot find it.
    assert len(handed_in.name.rsplit("+", 1)[-1]) >= 12, handed_in.name
    # ... while everyone reaches what they need: the released notebook, the course's Python.
    released = exchange / "outbound" / ASSIGNMENT / NOTEBOOK
    assert hub.run(bad, "cat", str(released)).returncode == 0, f"{bad} cannot read {released}"


def test_only_the_instructor_has_the_formgrader(hub, graded):
    instructor, learner = hub.names["instructor"], hub.names["bad"]
    assert hub.as_user(instructor, "GET", "/formgrader", check=False).status_code == 200
    assert hub.as_user(learner, "GET", "/formgrader", check=False).status_code == 404
    # The formgrader shows in a JupyterLab tab (an iframe): each server has a host of its own,
    # so the instructor's may frame itself; everything else keeps JupyterHub's 'none'.
    framing = {user: hub.as_user(user, "GET", "/lab").headers["Content-Security-Policy"]
               for user in (instructor, learner)}
    assert framing == {instructor: "frame-ancestors 'self'", learner: "frame-ancestors 'none'"}
    for user, hidden in ((learner, True), (instructor, False)):
        disabled = _page_config(hub.as_user(user, "GET", "/lab").text)["disabledExtensions"]
        for plugin in ("formgrader", "course-list", "create-assignment"):
            assert (f"@jupyter/nbgrader:{plugin}" in disabled) == hidden, (user, disabled)


def _page_config(page: str) -> dict:
    """The configuration JupyterLab's page embeds for its front end."""
    match = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                      page, re.DOTALL)
    assert match, "no jupyter-config-data in JupyterLab's page"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


def test_a_class_in_the_browser(hub, graded, browser):
    """Lesson 01 clicked through by the instructor and a learner (tests/hub_walkthrough.py),
    a written answer graded by hand included; screenshots in test-artifacts/hub/."""
    import hub_walkthrough as walkthrough

    instructor, learner = hub.names["instructor"], hub.names["good"]
    passwords = dict(line.split() for line in
                     (hub.state / classroom.PRIVATE / "passwords.txt").read_text().splitlines())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    walk = walkthrough.Walk(browser, f"http://localhost:{hub.ports['PORT']}", passwords,
                            ARTIFACTS)
    solution = solution_code(walkthrough.ASSIGNMENT)
    answered = {"elementwise_product": 3, "repeated_product": 3}  # grade id -> its test's points
    course_root = graded["course_root"]
    walkthrough.instructor_releases(walk, instructor)
    walkthrough.learner_hands_in(
        walk, learner, {f"def {name}(": solution[name] for name in answered},
        "resultant = vector1 aliases the input, so the loop overwrites vector1 ...")
    walkthrough.instructor_grades(walk, instructor, learner, course_root)
    walkthrough.learner_reads_feedback(walk, learner)

    row = read_grades(classroom.grading_folder(course_root, walkthrough.ASSIGNMENT)
                      / "grades.csv")[learner]
    expected = sum(answered.values()) + float(walkthrough.MANUAL_POINTS)
    assert row["status"] == "graded" and float(row["total"]) == expected, row
    assert float(row[walkthrough.WRITTEN]) == float(walkthrough.MANUAL_POINTS), row
    feedback = list(Path(os.path.expanduser(f"~{learner}"), walkthrough.ASSIGNMENT, "feedback")
                    .glob("*/vector_products.html"))
    assert len(feedback) == 1, feedback
    assert f"(Score: {expected} / " in feedback[0].read_text(), "the returned feedback's total"
    assert len(walk.seen) >= 10, walk.seen


def test_the_hub_stops_every_server(hub, graded):
    users = [hub.names[role] for role in ("instructor", "good", "bad")]
    hub.stop()
    leftover = subprocess.run(["pgrep", "-u", ",".join(users), "-f", "jupyterhub-singleuser"],
                              capture_output=True, text=True)
    assert leftover.stdout.strip() == "", f"servers left running: {leftover.stdout}"


def test_setup_needs_root_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    state = tmp_path / "state"
    code = classroom.main(["--state", str(state), "setup", "--instructor", "i", "--learners", "a"])
    assert code == 2 and "sudo make hub" in capsys.readouterr().err
    assert not state.exists()


@pytest.mark.parametrize("learners", ["", "gcx_teacher", " , "])
def test_setup_refuses_a_class_without_distinct_learners(tmp_path, learners):
    _require_root_and_proxy()
    state = tmp_path / "state"
    result = _classroom("--state", str(state), "setup", "--instructor", "gcx_teacher",
                        "--learners", learners)
    assert result.returncode == 2 and "at least one learner" in result.stderr, result.stderr
    assert not state.exists(), "nothing is created for a refused class"
