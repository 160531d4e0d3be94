"""kopf wiring of the shards: which CalendarSyncs this replica's handlers see at all.

The decision is ``rules.shard`` (pure); this module hands it to kopf in the three places kopf
asks. Every CalendarSync handler, the daemon included, gets ``when=owned``: a replica runs no
handler, no daemon, no pass, no status write and no Google call for another shard's
CalendarSyncs.

Filters alone are not enough, because of how kopf treats finalizers: a kopf operator that has
handlers for a resource but none matching an object *removes* its finalizer from that object
("no handlers requiring it"), so N-1 replicas would strip the finalizer that the owner keeps
adding — a patch war, and worse, an object released before its owner cleaned up. Hence:

- ``standby_delete``: an on-delete handler for the objects this replica does not own that
  already carry the finalizer. It keeps the finalizer required in this replica without ever
  acting: on deletion it raises ``TemporaryError`` until the owner has cleaned up and released
  the object (then it is gone). Objects without the finalizer match nothing, so a non-owner
  never adds it.
- ``ShardProgressStorage`` and ``SignalBlindDiffBase`` (``runner``): kopf's bookkeeping
  annotations are read and written only for owned objects, so a non-owner neither stores a
  diff base (that would swallow the owner's create or spec-change cause) nor purges the
  owner's handler progress.

When the key → shard mapping changes (the number of shards, or a new target Secret), the new
owner's filters match and its resume (or spec-update) handler runs a pass from the status; the
old owner's daemon stops (kopf stops daemons whose filters stop matching). One finalizer name
for every shard means a CalendarSync is always cleaned up by whichever replica owns it when it
is deleted. See docs/operator.md ("Shards").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import kopf

from calsync_operator.api.names import FINALIZER
from calsync_operator.controller.rules.shard import Shard, shard_key, shard_of

STANDBY_DELAY = 30.0  # how often a non-owner looks again while the owner cleans up


def owns_body(shard: Shard, body: Mapping[str, Any]) -> bool:
    metadata = body.get("metadata") or {}
    spec = body.get("spec")
    return shard.owns(
        str(metadata.get("namespace") or ""),
        str(metadata.get("name") or ""),
        spec if isinstance(spec, Mapping) else {},
    )


def owned_filter(shard: Shard) -> Callable[..., bool]:
    """kopf ``when=``: this replica serves the object."""

    def owned(*, body: kopf.Body, **_: Any) -> bool:
        return owns_body(shard, body)

    return owned


def standby_filter(shard: Shard) -> Callable[..., bool]:
    """kopf ``when=``: another replica serves the object and has put the finalizer on it."""

    def standby(*, body: kopf.Body, **_: Any) -> bool:
        return FINALIZER in (body.get("metadata", {}).get("finalizers") or ()) and not owns_body(shard, body)

    return standby


def standby_delete(shard: Shard) -> Callable[..., Any]:
    async def standby_delete(*, spec: kopf.Spec, name: str, namespace: str | None, **_: Any) -> None:
        """Never done: the owner cleans up and removes the finalizer (see the module docstring)."""
        owner = shard_of(shard_key(namespace or "", name, spec), shard.count)
        message = f"shard {owner}/{shard.count} cleans this CalendarSync up"
        raise kopf.TemporaryError(message, delay=STANDBY_DELAY)

    return standby_delete


class ShardProgressStorage(kopf.AnnotationsProgressStorage):
    """kopf's progress annotations, invisible and untouched for objects of other shards."""

    def __init__(self, shard: Shard, *, prefix: str) -> None:
        super().__init__(prefix=prefix)
        self.shard = shard

    def fetch(self, *, key: Any, body: kopf.Body) -> Any:
        return super().fetch(key=key, body=body) if owns_body(self.shard, body) else None

    def store(self, *, key: Any, record: Any, body: kopf.Body, patch: kopf.Patch) -> None:
        if owns_body(self.shard, body):
            super().store(key=key, record=record, body=body, patch=patch)

    def purge(self, *, key: Any, body: kopf.Body, patch: kopf.Patch) -> None:
        if owns_body(self.shard, body):
            super().purge(key=key, body=body, patch=patch)

    def touch(self, *, body: kopf.Body, patch: kopf.Patch, value: str | None) -> None:
        if owns_body(self.shard, body):
            super().touch(body=body, patch=patch, value=value)
