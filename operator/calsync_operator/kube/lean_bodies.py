"""Watch events lighter before kopf keeps them: no ``managedFields``, shared strings.

kopf keeps the last body of every CalendarSync it serves for as long as the object lives (the
daemon's live body, the object's queue). Two things make that body heavy in memory:

- the API server's ``metadata.managedFields`` are over half of it (~19 KB of ~34 KB: every
  owned field is a nested dict). Neither kopf nor calsync reads them — kopf's diff base and
  calsync's status writer ignore them — so they are dropped from each watch event (the initial
  listing included) before kopf sees it;
- the JSON decoder makes a new string for every key and value of every body, and a
  CalendarSync's body is mostly the same keys (``calendarId``, ``lastTransitionTime``…) and
  the same short values (``True``, ``token.json``…) as every other one. Each key and each short
  value is replaced by the process-wide interned string (``sys.intern``: one copy, freed
  with its last user): a CalendarSync's body goes from ~15.5 to ~7.5 KB.

At 1,000 CalendarSyncs that is ~50 MB less of the 200 MB the chart allows.

kopf has no setting for this, so its watch stream (``kopf._cogs.clients.watching.infinite_watch``,
which the reactor looks up on the module at each watch) is wrapped once per process by
``install``. The one kopf internal is named here and checked at the pinned kopf version by
``tests/kube/test_lean_bodies.py``.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from typing import Any

from kopf._cogs.clients import watching

KOPF_INTERNAL = "kopf._cogs.clients.watching.infinite_watch"
_original = watching.infinite_watch

# Values up to this length are shared: names, enums, conditions, times, ids. Longer ones (the
# last-handled configuration, tokens' hashes) are per object anyway.
SHARED_VALUE_MAX = 64


def strip_managed_fields(event: Any) -> None:
    """Drop ``object.metadata.managedFields`` of a raw watch event, in place (bookmarks pass)."""
    if isinstance(event, dict):
        obj = event.get("object")
        metadata = obj.get("metadata") if isinstance(obj, dict) else None
        if isinstance(metadata, dict):
            metadata.pop("managedFields", None)


def shared_strings(value: Any) -> Any:
    """``value`` (decoded JSON) with every key and every short string value interned; equal
    to ``value``, built anew (dicts and lists), everything else passed through."""
    if isinstance(value, dict):
        return {sys.intern(key): shared_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shared_strings(item) for item in value]
    if isinstance(value, str) and len(value) <= SHARED_VALUE_MAX:
        return sys.intern(value)
    return value


def lean_event(event: Any) -> Any:
    """A raw watch event as kopf should keep it (bookmarks and errors pass untouched)."""
    strip_managed_fields(event)
    if isinstance(event, dict) and isinstance(event.get("object"), dict):
        return {**event, "object": shared_strings(event["object"])}
    return event


async def lean_infinite_watch(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
    """kopf's ``infinite_watch``, each event lean."""
    async for event in _original(*args, **kwargs):
        yield lean_event(event)


def install() -> None:
    """Wrap kopf's watch stream (idempotent; every operator of the process gets it)."""
    watching.infinite_watch = lean_infinite_watch
