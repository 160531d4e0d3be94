"""The per-source step of a pass: credentials, channels, then the engine in a thread.

``sync_pass.run_pass`` runs one ``sync_source_step`` per selected source concurrently. A step
reads the object's memory but never writes it: what it found comes back as a
``rules.outcomes.SourceOutcome`` that the pass applies in one place. Nothing here raises for
Google or credential trouble. A pass cancelled by kopf (shutdown, deletion) stops its sync
thread between two batches.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from calsync_operator import metrics
from calsync_operator.api.conditions import ReadyReason
from calsync_operator.api.spec import CalendarSyncSpec, SecretRef, Source
from calsync_operator.api.status import SourceStatus
from calsync_operator.api.times import try_parse_time
from calsync_operator.controller.channel_step import ChannelStepResult, reconcile_channels, stop_channels
from calsync_operator.controller.clients import CredentialProblem, SecretLookup, auth_expired_problem
from calsync_operator.controller.memory import OperatorContext, ResourceMemory
from calsync_operator.controller.rules.outcomes import SourceOutcome, StepKind
from calsync_operator.controller.rules.pass_request import ObjectRef, PassRequest
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.sync.engine import SyncOutcome, TargetUnreadable, sync_source
from calsync_operator.sync.port import AuthExpired, CalendarNotFound, GoogleError, QuotaExhausted

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PassScope:
    """What every step of one pass over one CalendarSync shares."""

    ctx: OperatorContext
    mem: ResourceMemory
    obj: ObjectRef
    spec: CalendarSyncSpec
    request: PassRequest
    secret_lookup: SecretLookup
    now: datetime

    async def client(self, ref: SecretRef) -> GoogleCalendarClient | CredentialProblem:
        """The Google client for a token Secret of this object, or why there is none."""
        try:
            return await self.mem.clients.client(
                self.ctx.kube,
                self.obj.namespace,
                ref,
                self.ctx.settings.google,
                indexed=self.secret_lookup(self.obj.namespace, ref.name),
                reread=self.request.reread_secrets,
            )
        except CredentialProblem as problem:
            return problem

    async def stop_channels(self, ref: SecretRef, entry: SourceStatus) -> ChannelStepResult | None:
        """Stop the source's channels; None when it has none or its credentials do not work."""
        if not entry.channels():
            return None
        client = await self.client(ref)
        if isinstance(client, CredentialProblem):
            return None
        return await stop_channels(
            entry=entry, client=client, settings=self.ctx.settings, times=self.mem.channel_times, now=self.now
        )


async def stop_only(scope: PassScope, source: Source, entry: SourceStatus) -> SourceOutcome:
    """A suspended CalendarSync: stop the source's channels, sync nothing."""
    step = await scope.stop_channels(source.credentials, entry)
    if step is None:
        return SourceOutcome(StepKind.HELD, entry)
    return SourceOutcome(StepKind.HELD, step.entry, tuple(step.notices))


async def sync_source_step(
    scope: PassScope, source: Source, entry: SourceStatus, target_client: GoogleCalendarClient | None
) -> SourceOutcome:
    """Channels, then the engine, for one source; every failure comes back as the outcome."""
    key, push = source.key, scope.request.pushes.get(source.key)
    held = scope.mem.quota_until.get(key)
    if held is not None and scope.now < held and scope.request.requested_at is None:
        # Google's daily usage limit: no call until the back-off ends (docs/google.md), whatever
        # pushes or polls come meanwhile; the sync token keeps the changes for later. Only an
        # explicit requested-at tries earlier.
        logger.info("Source %s waits for Google's usage limit until %s", key, held.isoformat())
        return SourceOutcome(StepKind.HELD, replace(entry, last_handled_push=push or entry.last_handled_push))
    client = await scope.client(source.credentials)
    if isinstance(client, CredentialProblem):
        return SourceOutcome(
            StepKind.NO_CLIENT, entry, credential_problems={client.secret: (client.reason, str(client))}
        )
    channels: ChannelStepResult | None = None
    try:
        if not scope.spec.dry_run:
            wanted = scope.spec.push_enabled and scope.ctx.settings.push_address is not None
            channels = await reconcile_channels(
                entry=entry,
                client=client,
                settings=scope.ctx.settings,
                times=scope.mem.channel_times,
                wanted=wanted,
                now=scope.now,
            )
            entry = channels.entry
        outcome = await _run_engine(scope, source, entry, client, target_client)
    except AuthExpired:
        return _with_channels(_auth_expired(scope, source, entry, client, target_client), channels)
    except TargetUnreadable as exc:
        return _with_channels(_target_failed(scope, entry, exc), channels)
    except GoogleError as exc:
        return _with_channels(_failed(scope, source, entry, exc), channels)
    return _with_channels(_synced(scope, source, entry, outcome), channels)


async def _run_engine(
    scope: PassScope,
    source: Source,
    entry: SourceStatus,
    client: GoogleCalendarClient,
    target_client: GoogleCalendarClient | None,
) -> SyncOutcome:
    abort = threading.Event()
    try:
        return await asyncio.to_thread(
            sync_source,
            spec=scope.spec,
            source=source,
            state=entry,
            source_client=client,
            target_client=target_client,
            index=scope.mem.indexes.get(source.key),
            now=scope.now,
            confirm_delete=scope.request.confirm_delete,
            force_full=scope.request.force_full,
            full_sync_interval=timedelta(seconds=scope.ctx.settings.full_sync_interval_seconds),
            spread_key=f"{scope.obj.namespace}/{scope.obj.name}/{source.key}",
            batch_size=scope.ctx.settings.google.batch_size,
            between_batches=lambda: _stop_if(abort),
        )
    except asyncio.CancelledError:
        # kopf cancels us on shutdown or deletion; the thread would run the whole plan to the
        # end: stop it after the batch in flight (the pass forgets the index, which may now be
        # behind the target).
        abort.set()
        raise


def _with_channels(outcome: SourceOutcome, channels: ChannelStepResult | None) -> SourceOutcome:
    """The outcome with what the channel step found, when it ran."""
    if channels is None:
        return outcome
    return replace(
        outcome, notices=tuple(channels.notices), channels_checked=True, channel_problem=channels.error
    )


def _auth_expired(
    scope: PassScope,
    source: Source,
    entry: SourceStatus,
    client: GoogleCalendarClient,
    target_client: GoogleCalendarClient | None,
) -> SourceOutcome:
    target = scope.spec.target.credentials
    ref = source.credentials if client.credentials.refused or target_client is None else target
    problem = auth_expired_problem(ref or source.credentials, scope.obj.namespace)
    metrics.SYNCS.labels(result="auth_expired").inc()
    return SourceOutcome(
        StepKind.AUTH_EXPIRED,
        replace(entry, last_error=str(problem)),
        credential_problems={problem.secret: (problem.reason, str(problem))},
    )


def _failed(scope: PassScope, source: Source, entry: SourceStatus, exc: GoogleError) -> SourceOutcome:
    quota = isinstance(exc, QuotaExhausted)
    message = f"Syncing source {source.calendar_id} failed: {exc}"
    if isinstance(exc, CalendarNotFound):
        message = _not_found(exc, scope.spec, source)
    if quota:
        message += " (Google's daily usage limit: the operator retries later)"
    metrics.SYNCS.labels(result="quota" if quota else "error").inc()
    # ``retryable``: a later pass may succeed (rate limits, 5xx, a spent quota), unlike a refusal.
    retry_after = (exc.retry_after or scope.ctx.settings.retry_delay_seconds) if exc.retryable else None
    return SourceOutcome(
        StepKind.FAILED,
        replace(entry, last_error=message),
        sync_problem=(ReadyReason.QUOTA_EXCEEDED if quota else ReadyReason.GOOGLE_ERROR, message),
        retry_after=retry_after,
        quota_until=scope.now + timedelta(seconds=retry_after or 0.0) if quota else None,
    )


def _target_failed(scope: PassScope, entry: SourceStatus, exc: TargetUnreadable) -> SourceOutcome:
    """One problem for the target, however many sources ran into it; an outage is Google's."""
    message = target_problem(exc, scope.spec)
    reason = ReadyReason.GOOGLE_ERROR if exc.retryable else ReadyReason.TARGET_ERROR
    metrics.SYNCS.labels(result="error").inc()
    return SourceOutcome(
        StepKind.FAILED,
        replace(entry, last_error=message),
        target_problem=(reason, message),
        retry_after=(exc.retry_after or scope.ctx.settings.retry_delay_seconds) if exc.retryable else None,
    )


def target_problem(exc: TargetUnreadable, spec: CalendarSyncSpec) -> str:
    """The target is to blame: say which calendar, what Google said, and what to check."""
    ref = spec.target.credentials
    secret = f"Secret {ref.name!r}" if ref is not None else "the target's Secret"
    said = f"{exc.status} {exc.reason}" if exc.reason else f"{exc.status} (Google gave no reason)"
    hint = (
        "retried later"
        if exc.retryable
        else f"check spec.target.calendarId (Google Calendar > Settings > the calendar > Integrate "
        f"calendar > Calendar ID) and that the Google account of {secret} can change events in it"
    )
    return f"The target calendar {exc.target_calendar_id!r} cannot be read: {said}; {hint}."


def _synced(scope: PassScope, source: Source, entry: SourceStatus, outcome: SyncOutcome) -> SourceOutcome:
    confirm = scope.request.confirm_delete
    held = outcome.guard.tripped and not confirm
    _count(outcome, held=held)
    push = scope.request.pushes.get(source.key)
    # Every other idle poll refreshes the time (never more often than once a minute).
    poll = scope.ctx.settings.poll_seconds_override or scope.spec.poll_interval_seconds
    new_entry = _entry_from_outcome(entry, outcome, push, scope.now, refresh_after=max(60.0, 2 * poll))
    _observe_push_latency(scope.obj, source.key, outcome, push, scope.ctx.now())
    used = [source.credentials, scope.spec.target.credentials]
    failed = new_entry.failed_writes
    # Writes Google may get over are retried with back-off (docs/operator.md); refusals wait
    # for their event to be listed again.
    retry_after = (
        failed.retry_delay(scope.now, scope.ctx.settings.retry_delay_seconds, poll)
        if failed.retrying
        else None
    )
    return SourceOutcome(
        StepKind.SYNCED,
        new_entry,
        retry_after=retry_after,
        index=outcome.index,
        guard=outcome.guard.message if held else None,
        deletes_confirmed=outcome.guard.tripped and confirm and outcome.report is not None,
        working_secrets=frozenset(ref.name for ref in used if ref is not None),
        plan=outcome.plan if scope.spec.dry_run else None,
    )


class PassAborted(Exception):
    """The awaiting task was cancelled: the sync thread stops between two batches."""


def _stop_if(abort: threading.Event) -> None:
    if abort.is_set():
        raise PassAborted()


def _count(outcome: SyncOutcome, *, held: bool) -> None:
    if held:
        metrics.SYNCS.labels(result="delete_guard").inc()
    else:
        metrics.SYNCS.labels(result="dry_run" if outcome.report is None else "ok").inc()
    for kind, value in outcome.counts.as_status().items():
        if value:
            metrics.OPERATIONS.labels(kind=kind).inc(value)


def _entry_from_outcome(
    entry: SourceStatus, outcome: SyncOutcome, push: str | None, now: datetime, refresh_after: float
) -> SourceStatus:
    """The source's new status entry.

    A pass that found nothing to do keeps the recorded sync token and time (the old token
    still points at the same place in Google's change stream), so an idle poll writes no
    status. The time is refreshed once it is ``refresh_after`` old: ``kubectl get`` and
    ``calsync check`` judge liveness by it.
    """
    state = outcome.state
    recorded = try_parse_time(entry.last_sync_time)
    idle = not outcome.plan.ops and not outcome.full_sync and outcome.report is not None
    handled_push = push or entry.last_handled_push
    recent = recorded is not None and (now - recorded).total_seconds() < refresh_after
    if idle and entry.sync_token and recent:
        return replace(
            entry,
            last_handled_push=handled_push,
            last_error=state.last_error,
            failed_writes=state.failed_writes,
        )
    copies = outcome.index.live_count() if outcome.index is not None else entry.copies
    return replace(state, copies=copies, last_handled_push=handled_push)


def _observe_push_latency(
    obj: ObjectRef, key: str, outcome: SyncOutcome, push: str | None, now: datetime
) -> None:
    """Push-to-write latency: from the webhook's receipt time to the end of the sync's writes."""
    received = try_parse_time(push)
    counts = outcome.counts
    if received is None or outcome.report is None or not (counts.created or counts.updated or counts.deleted):
        return
    latency = max(0.0, (now - received).total_seconds())
    metrics.PUSH_TO_WRITE.observe(latency)
    logger.info("Push-to-write latency of %s/%s source %s: %.3f s", obj.namespace, obj.name, key, latency)


def _not_found(exc: CalendarNotFound, spec: CalendarSyncSpec, source: Source) -> str:
    """Google's 404 for a calendar, with the Secret whose account could not see it."""
    ref = source.credentials if exc.calendar_id == source.calendar_id else spec.target.credentials
    secret = f'Secret "{ref.name}"' if ref is not None else "its Secret"
    return (
        f"Google has no calendar {exc.calendar_id!r} for the account of {secret} (404 notFound): "
        "check the calendarId, and that this account owns the calendar or it is shared with it"
    )
