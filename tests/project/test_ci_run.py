"""`.ci/run` and the README's first commands: what a newcomer types is what CI runs.

The script is run for real (bash) in a scratch copy of the repository layout whose README holds
a stand-in test command and whose `.venv` puts recording `ruff`/`mypy` stand-ins on PATH, so
each exit-code rule is observed rather than read off the script. The real command itself runs
in CI on a clean clone; here only its extraction is checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from calsync_operator.cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]
CI_RUN = REPO / ".ci" / "run"
TEST_COMMAND = "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest"
DEMO_COMMAND = "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[demo]' && calsync demo"


def readme_commands() -> list[str]:
    """The commands of the README's first code block (comment lines dropped)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_the_demo_and_the_test_command() -> None:
    assert readme_commands()[:2] == [DEMO_COMMAND, TEST_COMMAND]
    assert build_parser().parse_args(["demo"]).command == "demo"


def test_ci_runs_the_readme_test_command() -> None:
    """The same extraction `.ci/run` performs, on the real README."""
    extracted = subprocess.run(
        ["bash", "-c", "grep -A1 '^# run the tests' README.md | sed -n 2p"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert extracted == TEST_COMMAND


def scratch_repo(tmp_path: Path, test_command: str | None, lint_status: int = 0) -> Path:
    """A directory shaped like the repository for `.ci/run`: README, .ci/run, and a .venv whose
    activate script puts stand-ins for ruff and mypy (which log their arguments) on PATH."""
    (tmp_path / ".ci").mkdir()
    shutil.copy(CI_RUN, tmp_path / ".ci" / "run")
    marker = f"# run the tests:\n{test_command}\n" if test_command is not None else ""
    (tmp_path / "README.md").write_text(f"# demo\n\n```sh\n{marker}```\n")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "activate").write_text(f'PATH="{bin_dir}:$PATH"\n')
    for tool in ("ruff", "mypy"):
        stand_in = bin_dir / tool
        stand_in.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{tmp_path}/linted"\nexit {lint_status}\n')
        stand_in.chmod(0o755)
    return tmp_path


def run_ci(repo: Path) -> tuple[int, list[str], str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBEBUILDER_ASSETS"}  # as on a clean machine
    done = subprocess.run(
        ["bash", str(repo / ".ci" / "run")], capture_output=True, text=True, cwd="/", env=env
    )
    linted = repo / "linted"
    return done.returncode, linted.read_text().splitlines() if linted.exists() else [], done.stderr


@pytest.mark.parametrize(("pytest_status", "ci_status"), [(0, 0), (5, 0)], ids=["passed", "no-tests"])
def test_tests_passing_or_none_collected_go_on_to_the_linters(
    tmp_path: Path, pytest_status: int, ci_status: int
) -> None:
    status, linted, _ = run_ci(scratch_repo(tmp_path, f"exit {pytest_status}"))
    assert (status, linted) == (ci_status, ["ruff check .", "ruff format --check .", "mypy "])


@pytest.mark.parametrize("failure", [1, 2, 4])
def test_a_failing_test_command_fails_ci_with_its_status(tmp_path: Path, failure: int) -> None:
    status, linted, _ = run_ci(scratch_repo(tmp_path, f"true && exit {failure}"))
    assert (status, linted) == (failure, [])


def test_a_failure_inside_the_chain_is_not_hidden(tmp_path: Path) -> None:
    """`pip install` failing before pytest must fail CI, not skip to the linters."""
    status, linted, _ = run_ci(scratch_repo(tmp_path, "false && exit 0"))
    assert (status, linted) == (1, [])


def test_a_linter_finding_fails_ci(tmp_path: Path) -> None:
    status, linted, _ = run_ci(scratch_repo(tmp_path, "exit 0", lint_status=1))
    assert status == 1
    assert linted == ["ruff check ."]  # stops at the first failing linter


def test_a_readme_without_the_marker_fails_ci_with_a_reason(tmp_path: Path) -> None:
    status, linted, stderr = run_ci(scratch_repo(tmp_path, None))
    assert (status, linted) == (2, [])
    assert "README.md has no '# run the tests' line" in stderr


def test_ci_uses_the_shared_control_plane_binaries_when_they_are_there(tmp_path: Path) -> None:
    """The unpack script beside the clone prints the folder of the control-plane binaries: CI
    exports it as KUBEBUILDER_ASSETS, so the README's pytest runs the cluster tests for real."""
    unpack = tmp_path / "shared" / "envtest" / "unpack"
    unpack.parent.mkdir(parents=True)
    unpack.write_text("#!/bin/sh\necho /opt/envtest-binaries\n")
    unpack.chmod(0o755)
    (tmp_path / "repo").mkdir()
    repo = scratch_repo(tmp_path / "repo", 'echo "$KUBEBUILDER_ASSETS" > seen')
    status, linted, _ = run_ci(repo)
    assert (status, len(linted)) == (0, 3)
    assert (repo / "seen").read_text().strip() == "/opt/envtest-binaries"


def test_ci_without_the_binaries_leaves_the_cluster_tests_to_skip(tmp_path: Path) -> None:
    repo = scratch_repo(tmp_path, 'echo "[${KUBEBUILDER_ASSETS:-}]" > seen')
    assert run_ci(repo)[0] == 0
    assert (repo / "seen").read_text().strip() == "[]"


def test_a_control_plane_folder_left_behind_fails_ci(tmp_path: Path) -> None:
    status, linted, stderr = run_ci(scratch_repo(tmp_path, 'mkdir "$TMPDIR/calsync-envtest-left"'))
    assert (status, linted) == (3, [])
    assert "left behind" in stderr
    assert "calsync-envtest-left" in stderr


def test_a_process_left_behind_fails_ci_and_is_killed(tmp_path: Path) -> None:
    command = """python3 -c 'import time; time.sleep(120)' "$TMPDIR/calsync-envtest-x" >/dev/null 2>&1 &"""
    status, _, stderr = run_ci(scratch_repo(tmp_path, command))
    assert status == 3
    pid = int(stderr.split("processes [", 1)[1].split("]", 1)[0])
    deadline = time.monotonic() + 30  # a SIGKILLed process takes a moment to go: wait, not race
    while not _gone(pid):
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    """Exited (or a zombie nobody reaped yet)."""
    try:
        return "zombie" in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True


def test_the_summary_says_when_cluster_tests_skipped() -> None:
    """Without a cluster the cluster tests skip, and the last lines say so (not only `-ra`)."""
    env = {k: v for k, v in os.environ.items() if k not in ("KUBEBUILDER_ASSETS", "CALSYNC_TEST_KUBECONFIG")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/cli/test_demo_cluster.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert "cluster tests: 1 skipped (cluster: none)" in done.stdout
