"""Packaging: pinned dependencies, one console script, no module named `operator`, and a
Dockerfile that builds the image the chart expects. Its contract is read from the file here;
bench/image.py builds the image for real (with a base image made by mmdebstrap) and runs every
role in it."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from calsync_operator import __version__

REPO = Path(__file__).resolve().parents[2]
PYPROJECT: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[a-z0-9,-]+\])?==[0-9][0-9A-Za-z.+-]*$")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


@pytest.mark.parametrize("group", ["dependencies", "demo", "test"])
def test_every_dependency_is_pinned_exactly(group: str) -> None:
    project = PYPROJECT["project"]
    requirements = (
        project["dependencies"] if group == "dependencies" else project["optional-dependencies"][group]
    )
    # `calsync[demo]` inside another extra is this distribution's own extra, pinned where it is defined.
    loose = [
        req
        for req in requirements
        if not PIN.match(req.split(";")[0].strip()) and not req.startswith("calsync[")
    ]
    assert loose == [], "pin with ==, so CI, the image and a newcomer install the same versions"


def test_the_in_memory_kubernetes_api_is_an_extra_that_the_tests_include() -> None:
    project = PYPROJECT["project"]
    names = {req.split("==")[0] for req in project["dependencies"]}
    assert names.isdisjoint({"kmock", "attrs", "jsonpatch"}), "kubeemu's needs belong to the demo extra"
    assert {req.split("==")[0] for req in project["optional-dependencies"]["demo"]} == {
        "kmock",
        "attrs",
        "jsonpatch",
    }
    assert "calsync[demo]" in project["optional-dependencies"]["test"]


def test_one_distribution_one_console_script_no_operator_module() -> None:
    assert PYPROJECT["project"]["name"] == "calsync"
    assert PYPROJECT["project"]["scripts"] == {"calsync": "calsync_operator.cli.main:main"}
    roots = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["where"]
    packages = sorted(
        path.name for root in roots for path in (REPO / root).iterdir() if (path / "__init__.py").exists()
    )
    assert packages == ["calsync_operator", "calsync_webhook"]
    # pytest, mypy and the editable install all resolve the same source roots.
    assert PYPROJECT["tool"]["pytest"]["ini_options"]["pythonpath"] == roots
    assert PYPROJECT["tool"]["mypy"]["mypy_path"] == roots


def test_image_runs_calsync_as_uid_10001_with_operator_as_default_command() -> None:
    steps = instructions()
    assert steps[0][0] == "FROM"
    assert re.fullmatch(r"python:3\.1[1-9][.0-9]*-slim(-\w+)?", steps[0][1])
    assert ("USER", "10001:10001") in steps
    assert steps[-2:] == [("ENTRYPOINT", '["calsync"]'), ("CMD", '["operator"]')]
    # USER comes after every RUN: nothing the image runs at start-up runs as root.
    user_at = steps.index(("USER", "10001:10001"))
    assert all(keyword != "RUN" for keyword, _ in steps[user_at:])


def test_image_installs_the_package_with_its_pins_and_no_editable_or_unpinned_extras() -> None:
    runs = [args for keyword, args in instructions() if keyword == "RUN"]
    installs = [shlex.split(cmd) for run in runs for cmd in run.split("&&") if "pip install" in cmd]
    # No extras by default: the production image has no kmock. `--build-arg CALSYNC_EXTRAS=demo`
    # builds the demo variant (bench/image.py builds and runs both).
    assert installs == [["pip", "install", "--no-cache-dir", ".${CALSYNC_EXTRAS:+[$CALSYNC_EXTRAS]}"]]
    steps = instructions()
    arg_at = steps.index(("ARG", 'CALSYNC_EXTRAS=""'))
    # Declared after the user is made and before the sources are copied: both variants share the
    # layers above the install.
    assert arg_at < next(i for i, (keyword, _) in enumerate(steps) if keyword == "COPY")


def test_image_is_pruned_in_the_install_layer_with_a_writable_home() -> None:
    """Pruning in a later layer would not shrink the image; HOME must be writable under
    `readOnlyRootFilesystem` (the chart mounts an emptyDir on /tmp)."""
    (install,) = [args for keyword, args in instructions() if keyword == "RUN" and "pip install" in args]
    assert "discovery_cache/documents" in install
    assert "! -name calendar.v3.json -delete" in install
    assert 'rm -rf "$site/kubernetes/aio"' in install
    assert "pip uninstall --yes --quiet werkzeug markupsafe" in install
    assert "/app/*.egg-info" in install
    env = " ".join(args for keyword, args in instructions() if keyword == "ENV")
    assert "HOME=/tmp" in env


def test_image_copies_what_the_install_needs_and_dockerignore_keeps_secrets_out() -> None:
    # COPY SRC... DEST: every word but the last is a source.
    copied = [
        src.rstrip("/") for keyword, args in instructions() if keyword == "COPY" for src in args.split()[:-1]
    ]
    for source in copied:
        assert (REPO / source).exists(), source
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert {"**/*token*.json", "**/client*.json", "**/.env", ".venv", ".git"} <= set(ignored)
    # the readme is part of the package metadata (project.readme): it must reach the build.
    assert PYPROJECT["project"]["readme"] == "README.md"
    assert "README.md" in copied
    assert not any(item in ignored for item in copied)


def test_one_version_everywhere() -> None:
    """`calsync --version`, the distribution and the chart's appVersion (the default image tag)."""
    chart = yaml.safe_load((REPO / "helm" / "calsync" / "Chart.yaml").read_text(encoding="utf-8"))
    assert PYPROJECT["project"]["version"] == __version__ == chart["appVersion"]
