"""Project hygiene: pinned requirements shared with conda, and ruff-clean code."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from helpers import ROOT

REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)==[0-9][^\s;]*$")


def _requirements(name: str) -> list[str]:
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines
            if line.strip() and not line.startswith("#") and not line.startswith(("-r", "-c"))]


def test_every_requirement_is_pinned_exactly():
    for name in ("requirements.txt", "requirements-dev.txt", "constraints.txt"):
        for line in _requirements(name):
            assert REQUIREMENT.match(line), f"{name}: '{line}' is not pinned with =="


def test_torch_is_the_cpu_version_the_course_is_built_for():
    assert "torch==2.13.0" in _requirements("requirements.txt")


def test_constraints_agree_with_requirements():
    constraints = dict(line.split("==") for line in _requirements("constraints.txt"))
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in _requirements(name):
            package, version = line.split("==")
            key = next((k for k in constraints if k.lower().replace("_", "-")
                        == package.lower().replace("_", "-")), None)
            assert key, f"{package} from {name} is missing from constraints.txt (run make lock)"
            assert constraints[key] == version, f"{package}: {name} says {version}, " \
                                                f"constraints.txt says {constraints[key]}"


def test_conda_environment_uses_the_same_pins():
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s*- python=3\.11\s*$", text, re.M), "environment.yml must pin python=3.11"
    assert "-r requirements.txt" in text, "environment.yml's pip section must read requirements.txt"


def test_the_hubs_proxy_is_pinned_and_locked():
    """JupyterHub's proxy comes from npm: an exact version, and the lock file `npm ci` needs."""
    folder = ROOT / "deploy" / "jupyterhub"
    wanted = json.loads((folder / "package.json").read_text(encoding="utf-8"))["dependencies"]
    lock = json.loads((folder / "package-lock.json").read_text(encoding="utf-8"))
    for package, version in wanted.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"package.json: {package} {version!r}"
        locked = lock["packages"][f"node_modules/{package}"]["version"]
        assert locked == version, f"package-lock.json has {package} {locked}, not {version}"


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
