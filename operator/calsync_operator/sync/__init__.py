"""One source calendar into one target calendar: the sync itself, pure apart from one port.

Filters, rendering, the in-memory index of existing copies, the planner (changes + copies + spec
→ a plan; sweep; delete guard), the executor that applies a plan in phases, the per-source engine
(the sync-token state machine) and the push-channel decisions. Everything that reaches Google
goes through ``port.CalendarClient``, handed in by the caller: the operator passes the real
adapter (``calsync_operator.google``), tests and the demo the emulator's. No I/O library, no
Kubernetes, no clock reads: the moment is passed in.
"""
