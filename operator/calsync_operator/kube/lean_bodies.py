"""Watch events without ``metadata.managedFields``: what kopf keeps of every object, lighter.

kopf keeps the last body of every CalendarSync it serves for as long as the object lives (the
daemon's live body, the object's queue), and in a CalendarSync with status the API server's
``managedFields`` are over half of that body in memory (~19 KB of ~34 KB: every owned field is
a nested dict). Neither kopf nor calsync reads them — kopf's diff base and calsync's status
writer ignore them — so they are dropped from each watch event (the initial listing included)
before kopf sees it. At 1,000 CalendarSyncs that is ~40 MB less of the 200 MB the chart allows.

kopf has no setting for this, so its watch stream (``kopf._cogs.clients.watching.infinite_watch``,
which the reactor looks up on the module at each watch) is wrapped once per process by
``install``. The one kopf internal is named here and checked at the pinned kopf version by
``tests/kube/test_lean_bodies.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from kopf._cogs.clients import watching

KOPF_INTERNAL = "kopf._cogs.clients.watching.infinite_watch"
_original = watching.infinite_watch


def strip_managed_fields(event: Any) -> None:
    """Drop ``object.metadata.managedFields`` of a raw watch event, in place (bookmarks pass)."""
    if isinstance(event, dict):
        obj = event.get("object")
        metadata = obj.get("metadata") if isinstance(obj, dict) else None
        if isinstance(metadata, dict):
            metadata.pop("managedFields", None)


async def lean_infinite_watch(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
    """kopf's ``infinite_watch``, each event without managedFields."""
    async for event in _original(*args, **kwargs):
        strip_managed_fields(event)
        yield event


def install() -> None:
    """Wrap kopf's watch stream (idempotent; every operator of the process gets it)."""
    watching.infinite_watch = lean_infinite_watch
