"""What the operator keeps in memory, in kopf's memo: nothing here is the source of truth.

Status in the CalendarSync is the durable record (sync tokens, channels, handled pushes); this
memory only saves work and coordinates tasks, and a restarted operator rebuilds it:

- ``OperatorContext`` (one per process, in the global memo): settings, the Kubernetes adapter,
  the mailer, and ``SecretWatch`` which lets the Secrets index wake the CalendarSyncs that
  use a Secret.
- ``ResourceMemory`` (one per CalendarSync, in kopf's per-object memo): the lock that makes
  passes of one object run one at a time, the wake-up event of its sync worker, the copy
  indexes (one target listing per source after a restart), cached Google clients, and
  channel timing that status does not carry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import kopf

from calsync_operator.api.spec import SecretRef
from calsync_operator.controller.channel_step import ChannelTimes
from calsync_operator.controller.clients import ClientCache
from calsync_operator.controller.rules.readiness import Problems
from calsync_operator.kube.client import KubeApi
from calsync_operator.mail import Mailer
from calsync_operator.settings import OperatorSettings
from calsync_operator.sync.copyindex import CopyIndex

MEMO_CONTEXT = "calsync_context"
MEMO_RESOURCE = "calsync_resource"


SecretListener = Callable[[str, str], None]  # (Secret name, resourceVersion)


@dataclass
class SecretWatch:
    """Which CalendarSync uses which Secret, so a Secret change reaches exactly those."""

    _users: dict[tuple[str, str], tuple[frozenset[str], SecretListener]] = field(default_factory=dict)

    def register(self, namespace: str, name: str, secrets: frozenset[str], listener: SecretListener) -> None:
        self._users[(namespace, name)] = (secrets, listener)

    def unregister(self, namespace: str, name: str) -> None:
        self._users.pop((namespace, name), None)

    def changed(self, namespace: str, secret: str, version: str) -> int:
        """Tell every CalendarSync in ``namespace`` that references ``secret``; how many."""
        told = 0
        for (cr_namespace, _name), (secrets, listener) in list(self._users.items()):
            if cr_namespace == namespace and secret in secrets:
                listener(secret, version)
                told += 1
        return told


@dataclass
class OperatorContext:
    settings: OperatorSettings
    kube: KubeApi
    mailer: Mailer | None
    secret_watch: SecretWatch = field(default_factory=SecretWatch)
    clock: Callable[[], datetime] | None = None  # tests may pin time; None: the real clock

    def now(self) -> datetime:
        return self.clock() if self.clock is not None else datetime.now(UTC)


@dataclass
class ResourceMemory:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    indexes: dict[str, CopyIndex] = field(default_factory=dict)  # by source key
    clients: ClientCache = field(default_factory=ClientCache)
    handled_pushes: dict[str, str] = field(default_factory=dict)  # by source key, ahead of status
    handled_request_at: str | None = None
    channel_times: ChannelTimes = field(default_factory=ChannelTimes)
    source_secrets: dict[str, SecretRef] = field(default_factory=dict)  # source key → its Secret
    # The latest knowledge of what is wrong (see readiness.Problems); a restarted operator
    # learns it again in its first pass, which always covers every source.
    credential_problems: dict[str, tuple[str, str]] = field(default_factory=dict)
    sync_problems: dict[str, tuple[str, str]] = field(default_factory=dict)
    channel_problems: dict[str, str] = field(default_factory=dict)
    guards: dict[str, str] = field(default_factory=dict)
    quota_until: dict[str, datetime] = field(default_factory=dict)  # source key → end of back-off
    full_pass_done: bool = False
    deletes_confirmed: bool = False  # a pass used calsync.dev/confirm-delete: remove it
    secrets_changed: bool = False  # a referenced Secret has a version no client was built from
    next_poll: datetime | None = None
    retry_at: datetime | None = None  # a failed pass asked to be retried then
    # The status this process last wrote (or re-read after a conflict): the watch may not have
    # delivered it yet, and only the operator writes status, so it is the best "before" for the
    # next write; when another replica wrote meanwhile, the guarded write notices.
    known_status: dict[str, Any] | None = None

    def current_status(self, watched: Mapping[str, Any]) -> Mapping[str, Any]:
        """The status to start from: what this process last wrote, else what the watch shows."""
        return self.known_status if self.known_status is not None else watched

    def problems(self) -> Problems:
        return Problems(
            credentials=dict(self.credential_problems),
            sync=dict(self.sync_problems),
            channels=dict(self.channel_problems),
            guards=dict(self.guards),
        )


def operator_context(memo: kopf.Memo) -> OperatorContext:
    context = getattr(memo, MEMO_CONTEXT, None)
    if not isinstance(context, OperatorContext):
        raise RuntimeError("calsync handlers need an OperatorContext in kopf's memo (see runner.py)")
    return context


def resource_memory(memo: kopf.Memo) -> ResourceMemory:
    """This CalendarSync's memory, created on first use (kopf's memo is per object)."""
    memory = getattr(memo, MEMO_RESOURCE, None)
    if not isinstance(memory, ResourceMemory):
        memory = ResourceMemory()
        setattr(memo, MEMO_RESOURCE, memory)
    return memory
