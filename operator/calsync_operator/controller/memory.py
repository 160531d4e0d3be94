"""What the operator keeps in memory, in kopf's memo: nothing here is the source of truth.

Status in the CalendarSync is the durable record (sync tokens, channels, handled pushes); this
memory only saves work and coordinates tasks, and a restarted operator rebuilds it:

- ``OperatorContext`` (one per process, in the global memo): settings, the Kubernetes adapter,
  the mailer, ``SecretWatch`` (the watched token Secrets, and which CalendarSyncs a
  change of one wakes), and the pass slots that bound how many passes run at once.
- ``ResourceMemory`` (one per CalendarSync, in kopf's per-object memo): the lock that makes
  passes of one object run one at a time, the wake-up event of its sync worker, the copy
  indexes (one target listing per source after a restart), cached Google clients, and
  channel timing that status does not carry.

Only the pass changes the memory, and only through the methods here: ``apply`` records what a
source's step found (``rules.outcomes``), ``record_pass`` what the whole pass handled and wrote.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf

from calsync_operator.api.spec import CalendarSyncSpec, SecretRef, Source, parse_spec
from calsync_operator.api.status import sources_by_key
from calsync_operator.controller.channel_step import ChannelTimes
from calsync_operator.controller.clients import ClientCache
from calsync_operator.controller.rules.outcomes import TARGET_PROBLEM, PassResult, SourceOutcome, StepKind
from calsync_operator.controller.rules.pass_request import PassRequest
from calsync_operator.controller.rules.readiness import Problems
from calsync_operator.controller.rules.status import status_to_start_from
from calsync_operator.controller.rules.triggers import Signals
from calsync_operator.kube.client import KubeApi, SecretData
from calsync_operator.mail import Mailer
from calsync_operator.settings import OperatorSettings
from calsync_operator.sync.copyindex import CopyIndex

MEMO_CONTEXT = "calsync_context"
MEMO_RESOURCE = "calsync_resource"


SecretListener = Callable[[str, str], None]  # (Secret name, resourceVersion)


@dataclass
class SecretWatch:
    """The token Secrets the watch has shown (``handlers/secrets.py``) and which CalendarSync
    uses which, so a Secret change reaches exactly those (a lookup by Secret: 3,000 Secrets
    listed at start-up must not each walk 1,000 CalendarSyncs)."""

    _secrets: dict[tuple[str, str], SecretData] = field(default_factory=dict)
    _users: dict[tuple[str, str], tuple[frozenset[str], SecretListener]] = field(default_factory=dict)
    _by_secret: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # → CalendarSync names

    def lookup(self, namespace: str, name: str) -> SecretData | None:
        """The Secret as last watched; None when the watch has not shown it (yet)."""
        return self._secrets.get((namespace, name))

    def register(self, namespace: str, name: str, secrets: frozenset[str], listener: SecretListener) -> None:
        if self._users.get((namespace, name)) == (secrets, listener):
            return  # the worker registers at every wake-up; usually nothing changed
        self.unregister(namespace, name)
        self._users[(namespace, name)] = (secrets, listener)
        for secret in secrets:
            self._by_secret.setdefault((namespace, secret), set()).add(name)

    def unregister(self, namespace: str, name: str) -> None:
        secrets, _listener = self._users.pop((namespace, name), (frozenset(), None))
        for secret in secrets:
            users = self._by_secret.get((namespace, secret))
            if users is not None:
                users.discard(name)
                if not users:
                    del self._by_secret[(namespace, secret)]

    def changed(self, secret: SecretData) -> int:
        """Keep ``secret`` and tell every CalendarSync of its namespace that references it; how many."""
        self._secrets[(secret.namespace, secret.name)] = secret
        names = sorted(self._by_secret.get((secret.namespace, secret.name), ()))
        for name in names:
            _secrets, listener = self._users[(secret.namespace, name)]
            listener(secret.name, secret.resource_version)
        return len(names)

    def forget(self, namespace: str, name: str) -> None:
        """A deleted Secret: the next pass that needs it reads it (and reports it missing)."""
        self._secrets.pop((namespace, name), None)


@dataclass
class OperatorContext:
    settings: OperatorSettings
    kube: KubeApi
    mailer: Mailer | None
    secret_watch: SecretWatch = field(default_factory=SecretWatch)
    clock: Callable[[], datetime] | None = None  # tests may pin time; None: the real clock
    # Taken by every pass, after the object's lock (``settings.max_concurrent_passes``).
    pass_slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.pass_slots = asyncio.Semaphore(self.settings.max_concurrent_passes)

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
    # The last spec parsed (as canonical JSON: holding the raw dicts would keep a superseded
    # body's objects alive) and what it gave: the worker looks at the spec at every watch event.
    _spec_json: str | None = None
    _spec: CalendarSyncSpec | None = None
    retry_at: dict[str, datetime] = field(default_factory=dict)  # source key → retry its sync then
    # The status this process last wrote (or re-read after a conflict): the watch may not have
    # delivered it yet, and only the operator writes status, so it is the best "before" for the
    # next write unless the watch shows a higher revision (another replica wrote since); when
    # another replica writes during a pass, the guarded write notices.
    known_status: dict[str, Any] | None = None

    def spec(self, raw: Mapping[str, Any]) -> CalendarSyncSpec:
        """``parse_spec`` of ``raw``, parsed again only when it differs from the last one
        (``SpecError`` as ``parse_spec`` raises it; an invalid spec is not remembered)."""
        current = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
        if self._spec is None or current != self._spec_json:
            self._spec, self._spec_json = None, None
            self._spec = parse_spec(dict(raw))
            self._spec_json = current
        return self._spec

    def current_status(self, watched: Mapping[str, Any]) -> Mapping[str, Any]:
        """The status to start from: what this process last wrote, unless the watch shows a
        newer one (``rules.status.status_to_start_from``)."""
        return status_to_start_from(self.known_status, watched)

    def apply_steps(
        self, sources: Sequence[Source], outcomes: Mapping[str, SourceOutcome], *, every_source: bool
    ) -> None:
        """Record the outcomes of a pass's steps. ``every_source``: every source was looked at
        (whatever the outcome), so the memory now knows all their problems."""
        for source in sources:
            if source.key in outcomes:
                self.apply(source.key, source.credentials, outcomes[source.key])
        self.full_pass_done = self.full_pass_done or every_source

    def take_deletes_confirmed(self) -> bool:
        """Whether a pass used ``calsync.dev/confirm-delete``; the confirmation is used up."""
        confirmed, self.deletes_confirmed = self.deletes_confirmed, False
        return confirmed

    def apply(self, key: str, source: SecretRef, outcome: SourceOutcome) -> None:
        """Record what the step of source ``key`` (reading with ``source``) found."""
        self.source_secrets[key] = source
        self.credential_problems.update(outcome.credential_problems)
        if outcome.channels_checked:
            self._put(self.channel_problems, key, outcome.channel_problem)
        if outcome.kind is StepKind.FAILED:
            if outcome.target_problem is not None:
                self.sync_problems[TARGET_PROBLEM] = outcome.target_problem
            else:
                self._put(self.sync_problems, key, outcome.sync_problem)
            if outcome.quota_until is not None:
                self.quota_until[key] = outcome.quota_until
        if outcome.kind is StepKind.SYNCED and outcome.index is not None:
            self.indexes[key] = outcome.index
            self.sync_problems.pop(key, None)
            self.sync_problems.pop(TARGET_PROBLEM, None)  # the target was read
            self.quota_until.pop(key, None)
            for secret in outcome.working_secrets:
                self.credential_problems.pop(secret, None)
            self._put(self.guards, key, outcome.guard)
            self.deletes_confirmed = self.deletes_confirmed or outcome.deletes_confirmed

    def remember_sources(self, spec: CalendarSyncSpec | None) -> None:
        """The Secrets of a spec's sources, for stopping their channels should they leave it."""
        for source in spec.sources if spec is not None else ():
            self.source_secrets.setdefault(source.key, source.credentials)

    def credential_problem(self, secret: str, problem: tuple[str, str]) -> None:
        self.credential_problems[secret] = problem

    def keep_credential_problems(self, secrets: frozenset[str]) -> None:
        """Forget the problems of Secrets the spec no longer names."""
        for secret in [name for name in self.credential_problems if name not in secrets]:
            del self.credential_problems[secret]

    def forget_indexes(self, keys: list[str]) -> None:
        for key in keys:
            self.indexes.pop(key, None)

    def forget_source(self, key: str) -> SecretRef | None:
        """A source left the spec: drop what is known about it; its Secret, if known."""
        self.indexes.pop(key, None)
        for known in (self.sync_problems, self.channel_problems, self.guards, self.quota_until):
            known.pop(key, None)
        self.retry_at.pop(key, None)
        return self.source_secrets.pop(key, None)

    def record_pass(
        self,
        request: PassRequest,
        result: PassResult,
        written: dict[str, Any],
        now: datetime,
        *,
        poll_seconds: float,
        retry_here: bool,
    ) -> None:
        """After the status write: what the pass handled, and when to look again.

        ``retry_here``: the worker retries failed sources at their own deadlines (a source that
        was not part of this pass keeps its deadline); kopf's reconcile retries by itself.
        """
        self.known_status = written
        self.handled_pushes.update(request.pushes)
        if request.requested_at:
            self.handled_request_at = request.requested_at
        if request.sources is None or self.next_poll is None:
            # The first poll at a random point within the interval, so CalendarSyncs created
            # together do not poll Google together forever.
            delay = poll_seconds * random.uniform(0.5, 1.0) if self.next_poll is None else poll_seconds
            self.next_poll = now + timedelta(seconds=delay)
        if retry_here:
            retries = result.retries
            for key in result.outcomes:
                if key in retries:
                    self.retry_at[key] = now + timedelta(seconds=retries[key])
                else:
                    self.retry_at.pop(key, None)

    def signals(self, status: Mapping[str, Any], now: datetime) -> Signals:
        """What the triggers need to know besides the object."""
        retire_at = {}
        for key, entry in sources_by_key(status).items():
            if entry.previous_channel is not None:
                # Unknown deadline (the operator restarted): the overlap is long over.
                retire_at[key] = self.channel_times.retire_at.get(entry.previous_channel.id) or now
        return Signals(
            handled_pushes=self.handled_pushes,
            handled_request_at=self.handled_request_at,
            guard_held=bool(self.guards),
            secrets_changed=self.secrets_changed,
            next_poll=self.next_poll,
            retry_at=self.retry_at,
            retire_at=retire_at,
        )

    @staticmethod
    def _put(known: dict[str, Any], key: str, value: Any) -> None:
        if value is None:
            known.pop(key, None)
        else:
            known[key] = value

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
