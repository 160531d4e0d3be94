"""Log output of the webhook process, in the same shape as the operator's.

The format, level and quiet HTTP libraries come from the operator's own set-up
(``calsync_operator.logs``), so one log pipeline parses both roles: with
``CALSYNC_LOG_FORMAT=json`` every line is one JSON object with ``message``, ``timestamp`` and
``severity``. What is the webhook's own is uvicorn: its loggers propagate to that root handler.
Nothing the webhook logs carries a channel token: handlers log channel ids and object names only.
"""

from __future__ import annotations

import logging

from calsync_operator import logs


def configure_logging(log_format: str, level: int | str) -> None:
    logs.configure_logging(log_format, level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.filters[:] = [_drop_color_message]


def _drop_color_message(record: logging.LogRecord) -> bool:
    """uvicorn attaches an ANSI-coloured copy of some messages; JSON lines should not carry it."""
    record.__dict__.pop("color_message", None)
    return True
