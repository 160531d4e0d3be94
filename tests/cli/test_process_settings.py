"""``calsync operator`` caps glibc's malloc arenas, freezes what the imports left alive and gives
free heap pages back to the system every 10 s."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import subprocess
import sys

import pytest

from calsync_operator import process


def test_the_arena_cap_is_applied_where_glibc_runs() -> None:
    # This machine and the image run glibc; elsewhere the call reports False and changes nothing.
    script = "from calsync_operator import process; print(process.limit_malloc_arenas())"
    answer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert answer.stdout.strip() == "True"


def test_freezing_moves_the_live_objects_out_of_the_collector() -> None:
    before = gc.get_freeze_count()
    try:
        process.freeze_imports()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_free_heap_pages_are_given_back_again_and_again(monkeypatch: pytest.MonkeyPatch) -> None:
    assert process.trim_malloc() is True  # glibc here and in the image
    trims: list[int] = []
    three = asyncio.Event()

    def counted() -> bool:
        trims.append(1)
        if len(trims) == 3:
            three.set()
        return True

    monkeypatch.setattr(process, "trim_malloc", counted)

    async def run() -> None:
        task = asyncio.create_task(process.return_free_memory(interval=0.001))
        await asyncio.wait_for(three.wait(), timeout=30)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert len(trims) >= 3
