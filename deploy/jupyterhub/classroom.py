"""Prepare (and take down) one class of the gradclip course on this machine's JupyterHub.

    python deploy/jupyterhub/classroom.py setup --instructor NAME --learners A,B [--state DIR]
    python deploy/jupyterhub/classroom.py teardown [--state DIR]

`setup` runs as root (`make hub` calls it) and is safe to run again: it never overwrites an
instructor's course folder or an existing account's password. It

- creates the local accounts that do not exist yet (home folders private, mode 700) and gives
  each new one a random password, written to STATE/hub/passwords.txt (STATE/hub is root's
  alone: the hub's database, secrets and tokens; learners may only pass through STATE);
- makes nbgrader's exchange, STATE/exchange, where learners can hand in but not read others';
- copies the course (solutions/ and nbgrader_config.py) into the instructor's home, as their
  nbgrader course folder (~/gradclip), and, with --release, releases those assignments;
- closes the repository's answers (solutions/, tests/, .git, ...) to other accounts: learners'
  servers run from this repository's .venv, so the repository must be open to them, but not
  the answers in it;
- writes STATE/hub/classroom.json, which deploy/jupyterhub/jupyterhub_config.py reads.

`teardown` removes the accounts setup created, reopens what it closed and deletes STATE.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from autograder.layout import OutputLayout

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv"
PYTHON = VENV / "bin" / "python"  # every server's, and what setup runs nbgrader with
COURSE_ID = "gradclip"
DEFAULT_STATE = Path("/srv/gradclip-hub")
PRIVATE = "hub"            # STATE/hub: the hub's own files, root only
COURSE_FOLDER = "gradclip"  # the instructor's nbgrader course root, in their home
GRADING_SERVER = "grade-"   # an instructor's named server for grading one assignment by hand
# What learners' servers need from the repository; everything else in it is closed to them.
OPEN_TO_LEARNERS = {".venv", "autograder", "course", "deploy", "README.md", "pyproject.toml",
                    "requirements.txt", "constraints.txt", "environment.yml", "Makefile"}


class SetupError(Exception):
    """Something the person running setup must fix; printed without a traceback."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="classroom.py", description=__doc__.split("\n")[0])
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE,
                        help=f"the hub's state folder (default {DEFAULT_STATE})")
    commands = parser.add_subparsers(dest="command", required=True)
    setup_parser = commands.add_parser("setup", help="accounts, exchange, course (as root)")
    setup_parser.add_argument("--instructor", required=True, help="the instructor's user name")
    setup_parser.add_argument("--learners", required=True, help="comma-separated user names")
    setup_parser.add_argument("--release", default="",
                              help="assignments to release at once: 'all', or comma-separated")
    setup_parser.add_argument("--open-path", action="store_true",
                              help="let other accounts through the folders above the repository "
                                   "(chmod o+x; teardown restores them)")
    commands.add_parser("teardown", help="undo setup (as root)")
    args = parser.parse_args(argv)
    try:
        if os.geteuid() != 0:
            raise SetupError("this creates local accounts and starts servers as them, so it "
                             "runs as root: sudo make hub")
        if args.command == "setup":
            learners = [name.strip() for name in args.learners.split(",") if name.strip()]
            setup(args.state, args.instructor, learners, args.release, args.open_path)
        else:
            teardown(args.state)
    except SetupError as error:
        print(f"classroom: error: {error}", file=sys.stderr)
        return 2
    return 0


def setup(state: Path, instructor: str, learners: list[str], release: str,
          open_path: bool) -> dict:
    if not learners or instructor in learners:
        raise SetupError("give one instructor and at least one learner, all different names")
    state = state.resolve()
    classroom = {"course_id": COURSE_ID, "instructors": {}, "learners": learners,
                 "exchange": str(state / "exchange"), "created_users": [], "opened": {},
                 "closed": {}, **_read_classroom(state)}
    (state / PRIVATE).mkdir(parents=True, exist_ok=True)
    state.chmod(0o711)  # learners pass through to the exchange, and see nothing else here
    (state / PRIVATE).chmod(0o700)
    try:  # what is done is recorded even when a step fails, so that teardown can undo it
        _prepare(state, classroom, instructor, learners, open_path)
    finally:
        (state / PRIVATE / "classroom.json").write_text(json.dumps(classroom, indent=2),
                                                        encoding="utf-8")
    if release:
        _release(classroom, instructor, release)
    return classroom


def _prepare(state: Path, classroom: dict, instructor: str, learners: list[str],
             open_path: bool) -> None:
    passwords = {}
    for name in [instructor, *learners]:
        if _ensure_account(name):
            classroom["created_users"].append(name)
            passwords[name] = secrets.token_urlsafe(12)
    _set_passwords(passwords)
    _append_passwords(state / PRIVATE / "passwords.txt", passwords)
    for name in ("proxy-token", "service-token"):
        _write_secret(state / PRIVATE / name)

    exchange = Path(classroom["exchange"])
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o1777)  # anyone may create their folder there, nobody may remove others'

    # The servers run the venv's Python, which may be a link into a base installation elsewhere.
    needed = [VENV, Path(os.path.realpath(PYTHON)).parent]
    if open_path:
        for folder in needed:
            for path, mode in _open_path(folder).items():
                classroom["opened"].setdefault(path, mode)  # keep the mode from before setup
    _check_reachable(PYTHON, needed, learners[0])
    for path, mode in _close_answers().items():
        classroom["closed"].setdefault(path, mode)
    classroom["instructors"] = {instructor: str(_instructor_course(instructor))}
    classroom["learners"] = learners


def teardown(state: Path) -> None:
    state = state.resolve()
    classroom = _read_classroom(state)
    for name in classroom.get("created_users", []):
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        subprocess.run(["userdel", "--remove", name], capture_output=True)
    for path, mode in {**classroom.get("closed", {}), **classroom.get("opened", {})}.items():
        if os.path.lexists(path):
            os.chmod(path, mode)
    shutil.rmtree(state, ignore_errors=True)


def load(state: Path) -> dict:
    """The classroom that setup prepared in `state` (for the hub's configuration and tests)."""
    classroom = _read_classroom(state)
    if not classroom:
        raise SetupError(f"{state / PRIVATE / 'classroom.json'} is missing: run `make hub` (or, "
                         f"as root, `python deploy/jupyterhub/classroom.py setup --state {state} "
                         "...`) first")
    return classroom


def _read_classroom(state: Path) -> dict:
    """What setup recorded in `state`; empty before the first setup."""
    path = state / PRIVATE / "classroom.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise SetupError(f"{path} is not valid JSON ({error}); move it away and run again") \
            from error


def _ensure_account(name: str) -> bool:
    """Create a local account with a private home; False if it existed already."""
    if subprocess.run(["id", "-u", name], capture_output=True).returncode == 0:
        return False
    result = subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash",
                             name], capture_output=True, text=True)
    if result.returncode != 0:
        raise SetupError(f"could not create the account {name!r}: {result.stderr.strip()}")
    home = Path(os.path.expanduser(f"~{name}"))
    home.chmod(0o700)  # learners must not read each other's work
    return True


def _set_passwords(passwords: dict[str, str]) -> None:
    if passwords:
        lines = "".join(f"{name}:{password}\n" for name, password in passwords.items())
        subprocess.run(["chpasswd"], input=lines, text=True, check=True)


def _append_passwords(path: Path, passwords: dict[str, str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.writelines(f"{name} {password}\n" for name, password in passwords.items())


def _write_secret(path: Path) -> None:
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(32))


def _open_path(target: Path) -> dict[str, int]:
    """chmod o+x every folder above `target` that lacks it; returns their old modes."""
    opened = {}
    for folder in reversed(target.parents):
        mode = stat.S_IMODE(folder.stat().st_mode)
        if not mode & stat.S_IXOTH:
            opened[str(folder)] = mode
            folder.chmod(mode | stat.S_IXOTH)
    return opened


def _check_reachable(python: Path, needed: list[Path], user: str) -> None:
    """Learners' servers run the course's Python as the learner: check that they can."""
    if not python.exists():
        raise SetupError(f"{python} is missing: run `make install` (make hub does) first")
    result = subprocess.run(["runuser", "-u", user, "--", str(python), "-c", "import jupyterhub"],
                            capture_output=True, text=True, cwd="/")
    if result.returncode != 0:
        closed = [str(folder) for target in needed for folder in reversed(target.parents)
                  if not folder.stat().st_mode & stat.S_IXOTH]
        raise SetupError(
            f"the account {user!r} cannot run {python} ({result.stderr.strip()[-200:]}): "
            f"{', '.join(dict.fromkeys(closed)) or 'a folder it needs'} is closed to other "
            "accounts. Clone the course (and install its Python) where everyone can reach it, "
            "e.g. under /opt; or open those folders (chmod o+x), or let setup open them and "
            "teardown close them again: make hub HUB_OPEN_PATH=1 (classroom.py --open-path)")


def _close_answers() -> dict[str, int]:
    """chmod o-rwx everything in the repository but what the learners' servers need; returns
    the old modes (teardown restores them)."""
    closed = {}
    for entry in sorted(REPO.iterdir()):
        if entry.name in OPEN_TO_LEARNERS or entry.name.endswith(".egg-info"):
            continue
        mode = stat.S_IMODE(entry.lstat().st_mode)
        if entry.is_symlink() or not mode & 0o007:
            continue
        closed[str(entry)] = mode
        entry.chmod(mode & ~0o007)
    return closed


def _instructor_course(instructor: str) -> Path:
    """The instructor's nbgrader course folder: a copy of the course's source notebooks, kept
    as it is when it exists (it holds their gradebook and everything collected)."""
    home = Path(os.path.expanduser(f"~{instructor}"))
    root = home / COURSE_FOLDER
    if not root.exists():
        root.mkdir(mode=0o700)
        shutil.copytree(REPO / "solutions", root / "solutions",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        shutil.copy2(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
        subprocess.run(["chown", "-R", f"{instructor}:", str(root)], check=True)
    return root


def server_environment(classroom: dict, user: str, server_name: str = "") -> dict[str, str]:
    """What a user's server (and anything the user runs there) needs in its environment: the
    configuration for their role, nbgrader's exchange, the course's Python first on PATH.

    An instructor's server named `grade-NN` (JupyterHub's server names allow no underscore)
    opens its formgrader on the grading run of lesson NN in ~/grading/NN_name (`python -m
    autograder grade NN_name ... --out ~/grading/NN_name`), for grading the written answers by
    hand; their default server opens it on the course."""
    role = "instructor" if user in classroom["instructors"] else "learner"
    config = REPO / "deploy" / "jupyterhub" / "jupyter-config"
    course_root = classroom["instructors"].get(user, "")
    if course_root and server_name.startswith(GRADING_SERVER):
        course_root = str(grading_run(Path(course_root), server_name[len(GRADING_SERVER):]))
    return {
        "JUPYTER_CONFIG_PATH": os.pathsep.join(str(config / name) for name in (role, "common")),
        "GRADCLIP_COURSE_ID": classroom["course_id"],
        "GRADCLIP_EXCHANGE": classroom["exchange"],
        "GRADCLIP_COURSE_ROOT": course_root,
        # nbgrader runs `alembic` by name, and the instructor's terminal runs the autograder.
        "PATH": os.pathsep.join([str(VENV / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "JUPYTER_PLATFORM_DIRS": "1",
    }


def grading_folder(course_root: Path, assignment: str) -> Path:
    """Where the instructor grades `assignment` into (`grade --out`): ~/grading/NN_name."""
    return course_root.parent / "grading" / assignment


def grading_run(course_root: Path, lesson: str) -> Path:
    """The nbgrader workspace of lesson `lesson`'s grading run, ~/grading/NN_name/nbgrader."""
    names = sorted(p.name for p in (course_root / "solutions").glob(f"{lesson}_*"))
    return OutputLayout(grading_folder(course_root, names[0] if names else lesson)).workspace


def run_as(user: str, command: list[str], classroom: dict, cwd: Path | None = None,
           timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run `command` as `user`, in the environment their server on the hub has."""
    home = os.path.expanduser(f"~{user}")
    env = {"HOME": home, "USER": user, "LANG": "C.UTF-8",
           **server_environment(classroom, user)}
    return subprocess.run(["runuser", "-u", user, "--", "env", "-i",
                           *(f"{key}={value}" for key, value in env.items()), *command],
                          cwd=cwd or home, capture_output=True, text=True, timeout=timeout)


def _release(classroom: dict, instructor: str, which: str) -> None:
    """Generate and release assignments as the instructor, as the formgrader's buttons would."""
    course_root = Path(classroom["instructors"][instructor])
    available = sorted(p.name for p in (course_root / "solutions").iterdir() if p.is_dir())
    wanted = available if which == "all" else [name.strip() for name in which.split(",")]
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        raise SetupError(f"no assignment {', '.join(unknown)}; the course has "
                         f"{', '.join(available)}")
    for assignment in wanted:
        for step in (["generate_assignment", assignment, "--force"],
                     ["release_assignment", assignment, "--force"]):
            result = run_as(instructor, [str(PYTHON), "-m", "nbgrader", *step],
                            classroom, cwd=course_root)
            if result.returncode != 0:
                raise SetupError(f"nbgrader {' '.join(step)} failed as {instructor}:\n"
                                 f"{result.stdout}{result.stderr}")
        print(f"released {assignment}")


if __name__ == "__main__":
    sys.exit(main())
