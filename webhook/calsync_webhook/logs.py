"""Log output of the webhook process, in the same shape as the operator's.

The operator logs through kopf's formatters (``kopf.configure``); the webhook uses the very
same ones, so one log pipeline parses both roles: with ``CALSYNC_LOG_FORMAT=json`` every line
is one JSON object with ``message``, ``timestamp`` and ``severity``. uvicorn's loggers propagate
to it too. Nothing the webhook logs carries a channel token: handlers log channel ids and
object names only.
"""

from __future__ import annotations

import logging

import kopf


def configure_logging(log_format: str, level: str) -> None:
    kopf.configure(log_format=kopf.LogFormat.JSON if log_format == "json" else kopf.LogFormat.FULL)
    root = logging.getLogger()
    root.setLevel(level)
    # The kubernetes client and urllib3 describe every request at DEBUG: keep them at INFO.
    for name in ("kubernetes", "urllib3"):
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.filters[:] = [_drop_color_message]


def _drop_color_message(record: logging.LogRecord) -> bool:
    """uvicorn attaches an ANSI-coloured copy of some messages; JSON lines should not carry it."""
    record.__dict__.pop("color_message", None)
    return True
