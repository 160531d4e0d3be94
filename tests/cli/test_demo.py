"""``calsync demo``: the real console script in a subprocess (every part in one process), plus
its pure parts — the story's expectations and the rendered view."""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from calsync_operator.api.names import TAG_EVENT
from calsync_operator.cli import main as cli
from calsync_operator.demo.story import CENTRAL, PERSONAL, Kind, arrived, demo_story
from calsync_operator.demo.view import (
    CURSOR_HOME,
    ChangeProgress,
    Outcome,
    Screen,
    render_screen,
    summary,
)

ROOT = Path(__file__).parents[2]
DEMO = [sys.executable, "-m", "calsync_operator.cli", "demo"]


def test_demo_runs_the_whole_system_and_every_change_arrives(tmp_path: Path) -> None:
    log_file = tmp_path / "demo.log"

    done = subprocess.run(
        [*DEMO, "--duration", "20", "--no-tty", "--log-file", str(log_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""  # kopf, uvicorn and the emulator log into the file, not the console
    lines = done.stdout.splitlines()
    labels = [change.label for change in demo_story(date.today()).changes]
    for index, label in enumerate(labels, 1):
        assert any(f"{index}/5 {label}: arrived in " in line for line in lines), done.stdout
    assert "5/5 changes arrived in the target" in done.stdout
    assert any("csync/personal-to-central: Ready=True (Synced) sources=2 synced=6" in line for line in lines)
    story_end = next(line for line in lines if line.endswith("story finished"))
    assert float(story_end[1:6]) < 15.0  # the scripted story, start-up included
    log = log_file.read_text()
    assert "kopf" in log
    assert "rt-demo" not in log  # the refresh tokens in the Secrets never reach a log


def test_demo_without_its_extra_says_how_to_install_it(tmp_path: Path) -> None:
    # A production install (`pip install calsync`) has no kmock: None in sys.modules makes its
    # import fail exactly as a missing package does.
    script = (
        "import sys; sys.modules['kmock'] = None\n"
        "from calsync_operator.cli.main import main\n"
        f"sys.exit(main(['demo', '--duration', '1', '--log-file', {str(tmp_path / 'demo.log')!r}]))"
    )

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode != 0
    assert done.stderr.splitlines() == [
        "calsync: error: calsync demo needs the demo extra (kmock is missing): pip install 'calsync[demo]'"
    ]


def test_demo_on_a_cluster_needs_no_demo_extra(tmp_path: Path) -> None:
    # `calsync demo --kubeconfig` runs on a real cluster: the production install (no kmock) gets
    # past the import and fails on the kubeconfig given (missing here), not on the extra.
    script = (
        "import sys; sys.modules['kmock'] = None\n"
        "from calsync_operator.cli.main import main\n"
        f"sys.exit(main(['demo', '--duration', '1', '--log-file', {str(tmp_path / 'demo.log')!r},"
        f" '--kubeconfig', {str(tmp_path / 'missing-kubeconfig')!r}]))"
    )

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("calsync: error: "), done.stderr
    assert "demo extra" not in done.stderr
    assert "Traceback" not in done.stderr


def read_until(fd: int, proc: subprocess.Popen[bytes], marker: bytes | None, within: float) -> bytes:
    """What the program writes to its terminal, until ``marker`` appears (None: until it exits)."""
    data = b""
    deadline = time.monotonic() + within
    while (marker is None or marker not in data) and time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.1)[0]:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the program closed the terminal (it exited)
            break
        if not chunk:
            break
        data += chunk
    return data


def test_on_a_terminal_the_screen_is_redrawn_in_place_until_ctrl_c(tmp_path: Path) -> None:
    """The README's first command as a person runs it: ``calsync demo`` on a terminal, no
    options, stopped with Ctrl-C once the story is over."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [*DEMO, "--log-file", str(tmp_path / "demo.log")],
        stdin=terminal,
        stdout=terminal,
        stderr=subprocess.PIPE,
    )
    os.close(terminal)
    try:
        shown = read_until(controller, proc, b"story finished; Ctrl-C to stop", within=45)
        proc.send_signal(signal.SIGINT)
        shown += read_until(controller, proc, None, within=30)
        proc.wait(30)
    finally:
        proc.kill()
        os.close(controller)
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()

    text = shown.decode().replace("\r\n", "\n")
    assert proc.returncode == 0, text + stderr
    assert stderr == ""
    frames = [frame for frame in text.split(CURSOR_HOME) if frame.startswith("calsync demo")]
    assert len(frames) >= 5  # redrawn in place, not scrolled: one cursor-home per frame
    assert "[  0.0s]" not in text  # no plain log lines on a terminal
    first, last = frames[0], frames[-1]
    assert "  (empty)" in first  # the target calendar before the first sync
    assert "$ kubectl get csync -w" in last
    assert "personal-to-central   True    Synced   2" in last
    assert "Dentist (bring X-rays)" in last
    for index in range(1, 6):
        assert f"  + {index}/5 " in last
    assert "5/5 changes arrived in the target" in last  # the summary, below the last frame


def test_a_busy_emulator_port_is_one_line_and_a_hint(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*DEMO, "--no-tty", "--emulator-port", str(port), "--log-file", str(tmp_path / "demo.log")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"calsync: error: the Google emulator cannot listen on 127.0.0.1:{port}: Address already in use",
        "hint: pick another --emulator-port (0 picks a free one)",
    ]


def test_no_writable_temporary_directory_is_one_line_and_a_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read-only root filesystem without a tmpfs: what tempfile raises there, said in one line
    (the image check in bench/image.py runs the real thing: docker run --read-only)."""

    def no_usable_directory() -> str:
        raise FileNotFoundError(2, "No usable temporary directory found in ['/tmp', '/var/tmp']")

    monkeypatch.setattr(tempfile, "gettempdir", no_usable_directory)
    assert cli.main(["demo", "--no-tty"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "calsync: error: no writable temporary directory for the demo's log file (TMPDIR, /tmp, /var/tmp)",
        "hint: give it one (docker run --tmpfs /tmp, or TMPDIR=DIR) or pass --log-file PATH",
    ]


def test_the_shipped_example_is_the_one_in_examples() -> None:
    shipped = ROOT / "operator" / "calsync_operator" / "demo" / "calendarsync.yaml"
    assert shipped.read_text() == (ROOT / "examples" / "calendarsync.yaml").read_text(), (
        "the demo ships a copy of examples/calendarsync.yaml: copy the file over it"
    )


def copy(event_id: str, title: str, start: str, status: str = "confirmed") -> dict[str, Any]:
    return {
        "summary": title,
        "status": status,
        "start": {"dateTime": start},
        "extendedProperties": {"private": {TAG_EVENT: event_id}},
    }


def test_a_change_arrives_only_when_the_target_shows_its_outcome() -> None:
    story = demo_story(date(2026, 11, 25))
    create, _, edit, move, delete = story.changes
    assert [c.kind for c in story.changes] == [Kind.CREATE, Kind.CREATE, Kind.EDIT, Kind.MOVE, Kind.DELETE]

    assert not arrived(create, [])
    assert arrived(create, [copy(create.event_id, "[home] Dentist", "2026-11-27T09:00:00Z")])
    assert arrived(create, [copy(create.event_id, "[home] Dentist", "2026-11-27T10:00:00+01:00")])
    assert not arrived(edit, [copy(edit.event_id, "[home] Dentist", "2026-11-27T09:00:00Z")])
    assert not arrived(move, [copy(move.event_id, "[work] Standup", "2026-11-26T09:30:00Z")])
    assert arrived(move, [copy(move.event_id, "[work] Standup", "2026-11-26T11:00:00Z")])
    assert not arrived(delete, [copy(delete.event_id, "[home] Yoga", "2026-11-26T07:00:00Z")])
    assert arrived(delete, [copy(delete.event_id, "[home] Yoga", "2026-11-26T07:00:00Z", status="cancelled")])
    assert delete.calendar_id == PERSONAL


def test_the_screen_shows_the_status_table_the_target_and_the_changes() -> None:
    story = demo_story(date(2026, 11, 25))
    progress = [ChangeProgress(c) for c in story.changes]
    progress[0].outcome, progress[0].latency, progress[0].push_to_copy = Outcome.ARRIVED, 0.31, 0.25
    progress[1].outcome = Outcome.WAITING
    csync = {
        "metadata": {"name": "personal-to-central", "creationTimestamp": "2026-11-25T08:59:50Z"},
        "spec": {"target": {"calendarId": CENTRAL}},
        "status": {
            "sourceCount": 2,
            "eventsSynced": 3,
            "lastSyncTime": "2026-11-25T08:59:58Z",
            "conditions": [{"type": "Ready", "status": "True", "reason": "Synced"}],
        },
    }
    screen = Screen(
        4.2,
        "1/5 create ...",
        {"webhook": "http://127.0.0.1:1/push"},
        [csync],
        CENTRAL,
        [copy("demo0003", "[home] Dentist", "2026-11-27T09:00:00Z")],
        progress,
    )

    text = render_screen(screen, datetime(2026, 11, 25, 9, 0, tzinfo=UTC))

    assert "NAME                  READY   REASON   SOURCES   TARGET" in text
    assert "personal-to-central   True    Synced   2         alice.central@example.com   3        2s" in text
    assert "  Fri 27 Nov 09:00  [home] Dentist" in text
    assert '  + 1/5 create "Dentist" (personal): arrived in 0.31 s (push -> copy 0.25 s)' in text
    assert '  > 2/5 create "Standup" (work): waiting' in text
    assert (
        summary(progress)
        == "1/5 changes arrived in the target; change -> copy latency median 0.31 s, max 0.31 s"
    )
