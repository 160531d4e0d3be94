"""Log output of both calsync processes (operator and webhook), docs/design.md §7.

One implementation so one log pipeline parses both roles. kopf's formatters do the work:
``CALSYNC_LOG_FORMAT=json`` gives one JSON object per line with ``timestamp``, ``severity``,
``message`` and, for kopf's per-object loggers, the object reference under ``object``; ``text``
(the default) is kopf's usual ``[time] logger [LEVEL] message`` line, prefixed with
``[namespace/name]`` for per-object loggers (as ``kopf run`` does: without the prefix a line
such as "Handler ... succeeded" would not say which CalendarSync it is about).

The libraries that describe HTTP traffic at DEBUG are held at WARNING whatever the level:
the kubernetes client prints response bodies (a Secret read would print the token JSON) and
google-auth puts request headers (``Authorization: Bearer ...``) in the record's ``extra``,
which the JSON formatter would emit as fields.

Kept free of heavy imports: the webhook imports it too.
"""

from __future__ import annotations

import logging

import kopf

LOG_FORMATS = ("text", "json")
QUIET_LOGGERS = (
    "kubernetes",
    "urllib3",
    "googleapiclient",
    "google",
    "google_auth_httplib2",
    "httplib2",
    "python_http_client",
    "httpx",
    "httpcore",
)


# kopf logs "<handler> succeeded." at INFO; for the handler that only wakes the per-object
# worker on every watch event (2-3 per push) that was half of all INFO lines: DEBUG instead.
ROUTINE_HANDLER_LINES = frozenset({"Handler 'wake' succeeded."})


class RoutineAtDebug(logging.Filter):
    """Demotes kopf's routine success lines to DEBUG (shown only when DEBUG is on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.getMessage() in ROUTINE_HANDLER_LINES:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


def configure_logging(log_format: str, level: int | str) -> None:
    """Install the root handler; ``log_format`` and ``level`` come from validated settings."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r}: use one of {', '.join(LOG_FORMATS)}")
    kopf_format = kopf.LogFormat.JSON if log_format == "json" else kopf.LogFormat.FULL
    # log_prefix=None: kopf's own default (prefix text lines, keep JSON's "object" field instead).
    kopf.configure(log_format=kopf_format, log_prefix=None)
    root = logging.getLogger()
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    objects = logging.getLogger("kopf.objects")
    if not any(isinstance(f, RoutineAtDebug) for f in objects.filters):
        objects.addFilter(RoutineAtDebug())
