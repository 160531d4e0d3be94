"""A Google Calendar v3 emulator that google-api-python-client talks to over real HTTP.

Google ships no emulator for Calendar; tests, the demo and the benchmarks need one that
behaves like the real service where clients depend on it (sync tokens, 410s, cancelled ids,
batches, push channels, OAuth refresh). See ``docs/emulator.md``.

The names below load on first use: ``calsync emulator --help`` imports this package for its
subcommand module, and must not pay for uvicorn and Starlette to print a usage text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from calsync_operator.lazyexports import lazy_exports

if TYPE_CHECKING:
    from calsync_operator.emulator.counters import CounterSnapshot
    from calsync_operator.emulator.server import EmulatorServer, PortInUse

__all__ = ["CounterSnapshot", "EmulatorServer", "PortInUse"]

if not TYPE_CHECKING:  # type checkers see the imports above, so a misspelt name is an error
    __getattr__ = lazy_exports(
        __name__,
        {
            "CounterSnapshot": "calsync_operator.emulator.counters",
            "EmulatorServer": "calsync_operator.emulator.server",
            "PortInUse": "calsync_operator.emulator.server",
        },
    )
