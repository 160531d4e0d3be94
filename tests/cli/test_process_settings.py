"""``calsync operator`` caps glibc's malloc arenas and freezes what the imports left alive."""

from __future__ import annotations

import gc
import subprocess
import sys

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
