"""Which operator replica serves a CalendarSync (pure): the shard key and its shard.

Replicas split the CalendarSyncs by the Google account that writes the copies: the shard key is
the target's credentials Secret (``namespace/name``), so every CalendarSync writing with one
account lands on one replica — Google's quota is per user, and the per-user rate limiter
(``google/ratelimit.py``) only holds when one process makes all of that user's calls. A
CalendarSync without target credentials (invite delivery writes with each source's account)
uses its own ``namespace/name``. The key is read from the raw spec, not the parsed one, so a
CalendarSync with an invalid spec still has exactly one replica that reports it.

The hash is sha256 (the first 8 bytes, mod the number of shards): stable across processes,
Python versions and restarts, unlike ``hash()``, which is salted per process.
See docs/operator.md ("Shards").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Shard:
    """This replica's place: ``index`` of ``count`` (``0`` of ``1``: the only replica)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"the number of shards must be at least 1, got {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(
                f"shard {self.index} does not exist with {self.count} shards (0..{self.count - 1})"
            )

    @property
    def label(self) -> str:
        """``"I/N"``: what ``status.shard`` records and the printer column shows."""
        return f"{self.index}/{self.count}"

    def owns(self, namespace: str, name: str, spec: Mapping[str, Any]) -> bool:
        return self.count == 1 or shard_of(shard_key(namespace, name, spec), self.count) == self.index


def shard_key(namespace: str, name: str, spec: Mapping[str, Any]) -> str:
    """``namespace/secret`` of the target's credentials for copy delivery, else ``namespace/name``."""
    if str(spec.get("delivery") or "copy") == "copy":
        target = spec.get("target")
        credentials = target.get("credentials") if isinstance(target, Mapping) else None
        ref = credentials.get("secretRef") if isinstance(credentials, Mapping) else None
        secret = ref.get("name") if isinstance(ref, Mapping) else None
        if isinstance(secret, str) and secret:
            return f"{namespace}/{secret}"
    return f"{namespace}/{name}"


def shard_of(key: str, count: int) -> int:
    """The shard of ``key`` among ``count``: the same in every process, forever."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count
