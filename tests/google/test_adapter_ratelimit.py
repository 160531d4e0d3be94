"""The token bucket keeps every 60 s window within the configured rate (on a fake clock)."""

from __future__ import annotations

import threading

import pytest

from calsync_operator.google.ratelimit import TokenBucket, shared_bucket


class FakeClock:
    """Time that only moves when someone sleeps: a minute of traffic runs in microseconds."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def busiest_window(times: list[float], seconds: float) -> int:
    best, left = 0, 0
    for right, moment in enumerate(times):
        while moment - times[left] >= seconds:
            left += 1
        best = max(best, right - left + 1)
    return best


@pytest.mark.parametrize(
    ("rate", "burst", "sizes"), [(120, None, [1]), (500, None, [1, 3, 50]), (120, 60, [7, 1])]
)
def test_no_60s_window_exceeds_the_rate(rate: int, burst: int | None, sizes: list[int]) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate, burst=burst, clock=clock, sleep=clock.sleep)
    call_times: list[float] = []
    for i in range(rate * 5):  # five minutes of saturated demand
        n = sizes[i % len(sizes)]
        bucket.acquire(n)
        call_times.extend([clock.now] * n)  # a batch's parts all land at once

    assert busiest_window(call_times, 60.0) <= rate
    # ...and the limiter does not starve callers: sustained throughput is rate - burst per minute.
    minutes = (call_times[-1] - call_times[0]) / 60.0
    assert len(call_times) / minutes >= (rate - bucket.capacity) * 0.99


def test_idle_time_refills_only_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(120, burst=10, clock=clock, sleep=clock.sleep)
    clock.now += 3600  # an idle hour

    waits = [bucket.acquire() for _ in range(11)]

    assert waits[:10] == [0.0] * 10
    assert waits[10] == pytest.approx(60.0 / 110)


def test_concurrent_takers_each_get_their_own_token() -> None:
    """With time frozen, every taker reserves a distinct slot: a lost update would repeat a wait."""
    clock = FakeClock()
    waits: list[float] = []
    lock = threading.Lock()
    bucket = TokenBucket(600, burst=10, clock=clock, sleep=lambda s: None)

    def take() -> None:
        for _ in range(50):
            wait = bucket.acquire()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    per_token = 60.0 / (600 - 10)
    expected = sorted([0.0] * 10 + [k * per_token for k in range(1, 8 * 50 - 10 + 1)])
    assert sorted(waits) == pytest.approx(expected)


def test_a_take_larger_than_the_burst_is_refused() -> None:
    bucket = TokenBucket(120, burst=12)
    with pytest.raises(ValueError, match=r"1\.\.12"):
        bucket.acquire(13)


def test_clients_of_one_credential_share_a_bucket() -> None:
    assert shared_bucket("client:rt-1", 500) is shared_bucket("client:rt-1", 500)
    assert shared_bucket("client:rt-1", 500) is not shared_bucket("client:rt-2", 500)
