"""The push webhook: receives Google Calendar push notifications and signals the operator.

Pure parts — ``verify`` (headers, token), ``index`` (channel id → source, from status) and
``coalesce`` (per-source leading + trailing edge) — are plain code tested without servers; the
adapters at the edges are ``watcher`` (list + watch CalendarSyncs), ``patcher`` (the annotation
merge patch), ``app`` (Starlette), ``metrics`` and ``cli`` (``calsync webhook``). See
docs/webhook.md.
"""
