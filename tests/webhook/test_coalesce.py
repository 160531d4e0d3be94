"""Leading + trailing edge coalescing: the pure window with a fake clock, then the driver."""

from __future__ import annotations

import asyncio

import pytest

from calsync_webhook.coalesce import Coalescer, Edge, PushAction, TrailingRetryable, Window


def test_first_push_leads_and_opens_a_window() -> None:
    window = Window(length=0.25)
    assert window.on_push(10.0, "t1") is PushAction.LEAD
    assert window.closes_at == pytest.approx(10.25)
    assert window.pending is None


def test_pushes_inside_the_window_fold_into_one_trailing_patch_with_the_latest_stamp() -> None:
    window = Window(length=0.25)
    window.on_push(10.0, "t1")
    assert window.on_push(10.1, "t3") is PushAction.SCHEDULE
    assert window.on_push(10.2, "t2") is PushAction.FOLD  # arrived out of order: max wins
    assert window.on_window_end(10.25) == "t3"
    assert window.closes_at == pytest.approx(10.5)  # the trailing patch opened a new window


def test_the_window_keeps_folding_until_a_quiet_window_then_the_next_push_leads() -> None:
    window = Window(length=0.25)
    window.on_push(0.0, "a")
    window.on_push(0.1, "b")
    assert window.on_window_end(0.25) == "b"
    assert window.on_push(0.3, "c") is PushAction.FOLD  # trailing still scheduled
    assert window.on_window_end(0.5) == "c"
    assert window.on_window_end(0.75) is None  # quiet window: idle again
    assert not window.trailing
    assert window.on_push(0.8, "d") is PushAction.LEAD


def test_a_push_after_an_untouched_window_leads() -> None:
    window = Window(length=0.25)
    window.on_push(0.0, "a")
    assert window.on_push(0.25, "b") is PushAction.LEAD


def test_a_failed_lead_lets_the_retry_lead() -> None:
    window = Window(length=0.25)
    window.on_push(0.0, "a")
    window.on_lead_failed()
    assert window.on_push(0.01, "a") is PushAction.LEAD


def test_a_burst_costs_one_patch_per_window() -> None:
    window, patches, now = Window(length=0.25), 0, 0.0
    trailing_at: float | None = None
    for i in range(1000):  # 1,000 pushes in one second
        now = i / 1000
        if trailing_at is not None and now >= trailing_at:
            patches += window.on_window_end(trailing_at) is not None
            trailing_at = window.closes_at if window.trailing else None
        action = window.on_push(now, f"{i:04d}")
        if action is PushAction.LEAD:
            patches += 1
        elif action is PushAction.SCHEDULE:
            trailing_at = window.closes_at
    while trailing_at is not None:
        last = window.on_window_end(trailing_at)
        patches += last is not None
        trailing_at = window.closes_at if window.trailing else None
    assert patches <= 6


class Recorder:
    def __init__(self, fail_first: int = 0, error: type[Exception] = TrailingRetryable) -> None:
        self.calls: list[tuple[str, str, Edge]] = []
        self.fail_first = fail_first
        self.error = error

    async def __call__(self, key: str, stamp: str, edge: Edge) -> None:
        self.calls.append((key, stamp, edge))
        if self.fail_first > 0:
            self.fail_first -= 1
            raise self.error("api down")


async def wait_for_calls(recorder: Recorder, count: int) -> None:
    for _ in range(1000):
        if len(recorder.calls) >= count:
            return
        await asyncio.sleep(0.005)
    raise TimeoutError(f"{count} flushes expected, got {recorder.calls}")


async def test_driver_patches_leading_then_trailing_with_the_last_stamp() -> None:
    recorder = Recorder()
    coalescer: Coalescer[str] = Coalescer(0.05, recorder)
    assert await coalescer.push("src", "t1") is PushAction.LEAD
    assert recorder.calls == [("src", "t1", Edge.LEADING)]  # sent before push() returned
    assert await coalescer.push("src", "t2") is PushAction.SCHEDULE
    assert await coalescer.push("src", "t3") is PushAction.FOLD
    await wait_for_calls(recorder, 2)
    assert recorder.calls[1] == ("src", "t3", Edge.TRAILING)
    await coalescer.aclose()


async def test_driver_keeps_sources_apart() -> None:
    recorder = Recorder()
    coalescer: Coalescer[str] = Coalescer(10.0, recorder)
    assert await coalescer.push("a", "t1") is PushAction.LEAD
    assert await coalescer.push("b", "t1") is PushAction.LEAD
    await coalescer.aclose()


async def test_driver_reraises_a_failed_lead_and_the_retry_leads_again() -> None:
    recorder = Recorder(fail_first=1)
    coalescer: Coalescer[str] = Coalescer(10.0, recorder)
    with pytest.raises(TrailingRetryable):
        await coalescer.push("src", "t1")
    assert await coalescer.push("src", "t1") is PushAction.LEAD
    assert len(recorder.calls) == 2
    await coalescer.aclose()


async def test_driver_retries_a_failed_trailing_patch() -> None:
    recorder = Recorder()
    coalescer: Coalescer[str] = Coalescer(0.02, recorder)
    await coalescer.push("src", "t1")
    recorder.fail_first = 1
    await coalescer.push("src", "t2")
    await wait_for_calls(recorder, 3)
    assert recorder.calls[1:] == [("src", "t2", Edge.TRAILING)] * 2
    await coalescer.aclose()


async def test_folded_pushes_wait_for_the_leading_patch() -> None:
    release = asyncio.Event()
    order: list[str] = []

    async def slow_flush(key: str, stamp: str, edge: Edge) -> None:
        if edge is Edge.LEADING:
            await release.wait()
            order.append("lead patched")

    coalescer: Coalescer[str] = Coalescer(10.0, slow_flush)
    lead = asyncio.create_task(coalescer.push("src", "t1"))
    await asyncio.sleep(0)
    folded = asyncio.create_task(coalescer.push("src", "t2"))
    folded.add_done_callback(lambda _: order.append("fold answered"))
    await asyncio.sleep(0.01)
    assert order == []
    release.set()
    await asyncio.gather(lead, folded)
    assert order == ["lead patched", "fold answered"]
    await coalescer.aclose()


async def test_shutdown_sends_what_the_open_windows_held() -> None:
    recorder = Recorder()
    coalescer: Coalescer[str] = Coalescer(10.0, recorder)
    await coalescer.push("src", "t1")
    await coalescer.push("src", "t2")
    await coalescer.aclose()
    assert recorder.calls == [("src", "t1", Edge.LEADING), ("src", "t2", Edge.TRAILING)]


async def test_idle_sources_are_forgotten_so_the_table_stays_bounded() -> None:
    now = 0.0
    coalescer: Coalescer[int] = Coalescer(0.25, Recorder(), clock=lambda: now)
    for source in range(5000):  # each source pushes once, far apart: every window closes
        now += 1.0
        assert await coalescer.push(source, "t") is PushAction.LEAD
    assert len(coalescer) <= 2048
    await coalescer.aclose()


async def test_a_busy_source_survives_the_sweep() -> None:
    now = 0.0
    recorder = Recorder()
    coalescer: Coalescer[int] = Coalescer(1000.0, recorder, clock=lambda: now)
    await coalescer.push(-1, "t1")  # its window stays open for the whole test
    for source in range(3000):
        now += 0.001
        await coalescer.push(source, "t")
    assert await coalescer.push(-1, "t2") is PushAction.SCHEDULE  # still folded, not a new lead
    await coalescer.aclose()
    assert recorder.calls[-1] == (-1, "t2", Edge.TRAILING)  # flushed at shutdown
