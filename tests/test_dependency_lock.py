"""The Python lock files stay current with pyproject.toml (`make lock` writes them): every
dependency is pinned to a version its range allows, every pin carries hashes (pip installs with
--require-hashes), the runtime lock is the development lock less the test tools, and what is
installed here is what the lock says."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_DIR = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)((?:\s*\\\s*--hash=sha256:[0-9a-f]{64})+)", re.M)


def _pins(name: str) -> dict[str, str]:
    text = (REPO_DIR / name).read_text()
    pins = {canonicalize_name(found[0]): found[1] for found in PIN.findall(text)}
    assert len(pins) == len(re.findall(r"^[A-Za-z0-9_.-]+==", text, re.M)), f"{name}: a pin without hashes"
    return pins


def _declared() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((REPO_DIR / "pyproject.toml").read_text())["project"]
    return ([Requirement(line) for line in project["dependencies"]],
            [Requirement(line) for line in project["optional-dependencies"]["test"]])


@pytest.mark.parametrize("lock, with_tests", [("requirements.lock", False), ("requirements-dev.lock", True)])
def test_every_declared_dependency_is_pinned_within_its_range(lock, with_tests):
    runtime, tests = _declared()
    pins = _pins(lock)
    for requirement in runtime + (tests if with_tests else []):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in {lock}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"{lock} pins {name}=={pins[name]}, outside {requirement}: run `make lock`"


def test_the_runtime_lock_is_the_development_lock_less_the_test_tools():
    runtime, development = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: development.get(name) for name in runtime} == runtime


def test_what_is_installed_is_what_the_lock_says():
    for name, version in _pins("requirements-dev.lock").items():
        installed = metadata.version(name)
        assert installed.split("+")[0] == version.split("+")[0], f"{name} {installed} installed, {version} locked"
