"""A Google Calendar v3 emulator that google-api-python-client talks to over real HTTP.

Google ships no emulator for Calendar; tests, the demo and the benchmarks need one that
behaves like the real service where clients depend on it (sync tokens, 410s, cancelled ids,
batches, push channels, OAuth refresh). See ``docs/emulator.md``.
"""

from __future__ import annotations

from calsync_operator.emulator.counters import CounterSnapshot
from calsync_operator.emulator.server import EmulatorServer, PortInUse

__all__ = ["CounterSnapshot", "EmulatorServer", "PortInUse"]
