"""Plays the demo's story against the running world and keeps the view up to date.

One thread does it all, in order: seed two events, create the token Secrets, apply the example,
wait for the first sync and the push channels, then make each change through the Google API
and wait until the target shows it. While waiting it polls the emulator's state (in-process,
microseconds) every 10 ms, so a latency is the real path's to within that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from calsync_operator.api.conditions import is_true
from calsync_operator.api.names import push_annotation
from calsync_operator.api.times import try_parse_time
from calsync_operator.demo.cluster import ClusterChoice, cluster_world
from calsync_operator.demo.story import (
    CENTRAL,
    SOURCE_TOKENS,
    TOKENS,
    Change,
    Kind,
    Story,
    arrived,
    demo_story,
)
from calsync_operator.demo.view import (
    CLEAR_SCREEN,
    CURSOR_HOME,
    ChangeProgress,
    Outcome,
    Screen,
    as_frame,
    event_line,
    progress_line,
    render_screen,
    sorted_events,
    status_line,
    summary,
)
from calsync_operator.demo.world import World, running_world
from calsync_operator.sync.port import WriteKind, WriteOp

NAME = "personal-to-central"
POLL_SECONDS = 0.01
FRAME_SECONDS = 0.2
FIRST_SYNC_TIMEOUT = 20.0
CHANGE_TIMEOUT = 10.0
PAUSE_SECONDS = {True: 1.0, False: 0.3}  # between changes: time to read them on a terminal
_WRITE_KINDS = {
    Kind.CREATE: WriteKind.INSERT,
    Kind.EDIT: WriteKind.PATCH,
    Kind.MOVE: WriteKind.PATCH,
    Kind.DELETE: WriteKind.DELETE,
}


class Display:
    """A terminal frame redrawn in place, or plain log lines."""

    def __init__(self, out: TextIO, tty: bool) -> None:
        self.out = out
        self.tty = tty
        self.started = time.monotonic()
        self.phase = "starting"
        self.endpoints: dict[str, str] = {}
        self._last_frame = 0.0
        self._last_status: tuple[str, ...] | None = None
        self._last_frame_text = ""
        if tty:
            out.write(CURSOR_HOME + CLEAR_SCREEN)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def log(self, message: str) -> None:
        self.phase = message
        if not self.tty:
            self.out.write(f"[{self.elapsed:5.1f}s] {message}\n")
            self.out.flush()

    def refresh(self, world: World, progress: list[ChangeProgress], *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_frame < FRAME_SECONDS:
            return
        self._last_frame = now
        csyncs = world.kube.list("CalendarSync", namespace=world.namespace)
        wall = datetime.now(UTC)
        if self.tty:
            screen = Screen(
                self.elapsed,
                self.phase,
                self.endpoints,
                csyncs,
                CENTRAL,
                world.emulator.events(CENTRAL),
                progress,
            )
            frame = render_screen(screen, wall)
            if frame != self._last_frame_text:  # ages tick once a second: so does the screen
                self._last_frame_text = frame
                self.out.write(as_frame(frame))
                self.out.flush()
            return
        for obj in csyncs:  # a log line whenever the kubectl row changes (ages aside)
            line = status_line(obj, wall)
            key = tuple(part for part in line.split() if not part.startswith("lastSync="))
            if key != self._last_status:
                self._last_status = key
                self.log(line)


class Player:
    def __init__(self, world: World, story: Story, display: Display, deadline: float | None) -> None:
        self.world = world
        self.story = story
        self.display = display
        self.deadline = deadline
        self.progress = [ChangeProgress(change) for change in story.changes]
        self._clients = {cal: world.calendar_client(token) for cal, token in SOURCE_TOKENS.items()}

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def play(self) -> bool:
        """The whole story; True when every change arrived."""
        display, world = self.display, self.world
        for change in self.story.seed:
            self._perform(change)
        display.log(
            "3 calendars in the Google emulator: alice.personal and alice@work (sources, one event "
            "each), alice.central (target, empty)"
        )
        world.put_token_secrets(TOKENS)
        display.log(f"created Secrets {', '.join(TOKENS)} (token JSON pointing at the emulator)")
        world.apply_example()
        display.log(f"applied examples/calendarsync.yaml: CalendarSync {NAME}")
        started = time.monotonic()
        if not self._wait(self._first_sync_done, FIRST_SYNC_TIMEOUT):
            display.log("the first sync did not finish: see the log file")
            return False
        copies = len(world.emulator.events(CENTRAL))
        display.log(
            f"first sync done in {time.monotonic() - started:.2f} s: {copies} copies, push channels live"
        )
        for item in self.progress:
            self._wait(lambda: False, PAUSE_SECONDS[display.tty])  # a pause; the view keeps refreshing
            if self._past_deadline():
                break
            self._play_change(item)
        for item in self.progress:
            if item.outcome is not Outcome.ARRIVED:
                item.outcome = Outcome.MISSING
        display.refresh(world, self.progress, force=True)
        if not display.tty:
            events = sorted_events(world.emulator.events(CENTRAL))
            display.log(f"target calendar {CENTRAL} now holds {len(events)} events (times in UTC):")
            for event in events:
                display.log("  " + event_line(event))
        return all(item.outcome is Outcome.ARRIVED for item in self.progress)

    def linger(self) -> None:
        """Keep the view alive until the deadline (or Ctrl-C without one)."""
        self.display.log("story finished" + ("; Ctrl-C to stop" if self.deadline is None else ""))
        while not self._past_deadline():
            self.display.refresh(self.world, self.progress)
            time.sleep(FRAME_SECONDS / 2)

    def _play_change(self, item: ChangeProgress) -> None:
        index = self.progress.index(item) + 1
        item.outcome = Outcome.WAITING
        self.display.log(f"{index}/{len(self.progress)} {item.change.label} ...")
        written_at = time.time()
        started = time.monotonic()
        self._perform(item.change)
        if self._wait(lambda: arrived(item.change, self.world.emulator.events(CENTRAL)), CHANGE_TIMEOUT):
            item.latency = time.monotonic() - started
            item.push_to_copy = self._push_to_copy(item.change, written_at)
            item.outcome = Outcome.ARRIVED
        else:
            item.outcome = Outcome.MISSING
        self.display.log(progress_line(index, len(self.progress), item))

    def _perform(self, change: Change) -> None:
        op = WriteOp(_WRITE_KINDS[change.kind], change.calendar_id, change.event_id, change.body)
        [result] = self._clients[change.calendar_id].write([op])
        if not result.ok:
            raise RuntimeError(f"the emulator refused {change.label}: {result.error}")

    def _push_to_copy(self, change: Change, written_at: float) -> float | None:
        """From the webhook's receipt of the push (the annotation's value) to now."""
        obj = self.world.kube.find("CalendarSync", NAME, namespace=self.world.namespace) or {}
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        received = try_parse_time(annotations.get(push_annotation(change.calendar_id)))
        if received is None or received.timestamp() < written_at - 0.01:
            return None  # this change's push was not what woke the operator (e.g. the poll)
        return max(0.0, time.time() - received.timestamp())

    def _first_sync_done(self) -> bool:
        obj = self.world.kube.find("CalendarSync", NAME, namespace=self.world.namespace)
        conditions = ((obj or {}).get("status") or {}).get("conditions")
        if not (is_true(conditions, "Ready") and is_true(conditions, "PushActive")):
            return False
        events = self.world.emulator.events(CENTRAL)
        channels = [
            ((s or {}).get("channel") or {}).get("id") for s in (obj or {})["status"].get("sources", [])
        ]
        # A push for a channel the webhook does not know yet would be dropped: wait for its index.
        return all(arrived(seed, events) for seed in self.story.seed) and all(
            channel and self.world.webhook_knows(channel) for channel in channels
        )

    def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if condition():
                return True
            self.display.refresh(self.world, self.progress)
            if time.monotonic() > deadline or self._past_deadline():
                return False
            time.sleep(POLL_SECONDS)

    def _past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


def run_demo(
    *,
    duration: float | None,
    tty: bool,
    out: TextIO,
    emulator_port: int = 0,
    cluster: ClusterChoice | None = None,
) -> int:
    """Run the demo; 0 when every scripted change arrived in the target. ``cluster``: on that
    real cluster (``calsync demo --kubeconfig``) instead of the in-memory Kubernetes API."""
    display = Display(out, tty)
    deadline = None if duration is None else display.started + duration
    if cluster is None:
        display.log(
            "starting the in-memory Kubernetes API, the Google emulator, the webhook and the operator"
        )
        world_context = running_world(emulator_port)
    else:
        display.log("connecting to the cluster; starting the Google emulator, the webhook and the operator")
        world_context = cluster_world(cluster, emulator_port, say=display.log)
    player: Player | None = None
    complete = False
    try:
        with world_context as world:
            display.endpoints = _endpoints(world)
            if not tty:
                for name, url in display.endpoints.items():
                    display.log(f"{name}: {url}")
            player = Player(world, demo_story(datetime.now(UTC).date()), display, deadline)
            try:
                complete = player.play()
                player.linger()
            except KeyboardInterrupt:
                pass
            finally:
                player.close()
    except KeyboardInterrupt:
        pass  # stopping the parts took a second Ctrl-C: they are daemon threads, leave
    progress = player.progress if player is not None else []
    out.write(("\n" if tty else "") + summary(progress) + "\n")
    out.flush()
    return 0 if complete else 1


def _endpoints(world: World) -> dict[str, str]:
    return {
        "Kubernetes API": world.kube.url,
        "Google emulator": world.emulator.root_url,
        "webhook": world.webhook_url + "/push",
    }
