"""The controller's pure rules: plain functions on plain data, no I/O, no clock reads.

When a pass is due (``triggers``), what a trigger hands to a pass (``pass_request``), which
conditions a pass's findings set (``readiness``), which Events and alert mails a condition change
produces (``notices``), the desired status with the smallest patch to reach it (``status``),
and which replica serves which CalendarSync (``shard``).
The import contracts in pyproject.toml keep every module of this package free of I/O.
"""
