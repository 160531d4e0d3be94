"""The per-source part of a pass: credentials, channels, then the engine, in threads.

``syncpass.run_pass`` runs one ``source_pass`` per selected source concurrently and folds the
results into the status. Problems are recorded in the object's memory (``ResourceMemory``:
per Secret, per source) where ``readiness`` turns them into conditions; nothing here raises for
Google or credential trouble. A pass cancelled by kopf (shutdown, deletion) stops its sync
thread between two batches.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from calsync_operator import metrics
from calsync_operator.api.conditions import ReadyReason
from calsync_operator.api.spec import CalendarSyncSpec, SecretRef, Source
from calsync_operator.api.times import try_parse_time
from calsync_operator.controller.channel_step import ChannelStepResult, reconcile_channels
from calsync_operator.controller.clients import CredentialProblem, auth_expired_problem
from calsync_operator.controller.memory import OperatorContext, ResourceMemory
from calsync_operator.controller.rules.notices import Notice
from calsync_operator.controller.rules.pass_request import ObjectRef, PassRequest, SecretVersion
from calsync_operator.controller.rules.status import SourceStatus
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.retry import is_retryable
from calsync_operator.sync.engine import SourceState, SyncOutcome, sync_source
from calsync_operator.sync.planner import Plan
from calsync_operator.sync.port import AuthExpired, CalendarNotFound, GoogleError, QuotaExhausted

logger = logging.getLogger(__name__)


@dataclass
class SourceResult:
    entry: SourceStatus
    notices: list[Notice] = field(default_factory=list)
    plan: Plan | None = None
    retry_after: float | None = None


async def client_for(
    ctx: OperatorContext,
    mem: ResourceMemory,
    obj: ObjectRef,
    ref: SecretRef,
    request: PassRequest,
    secret_version: SecretVersion,
) -> GoogleCalendarClient | None:
    """The client for ``ref``; None (and a recorded problem) when the Secret is unusable."""
    try:
        client = await mem.clients.client(
            ctx.kube,
            obj.namespace,
            ref,
            ctx.settings.google,
            indexed_version=secret_version(obj.namespace, ref.name),
            reread=request.reread_secrets,
        )
    except CredentialProblem as problem:
        mem.credential_problems[ref.name] = (problem.reason, str(problem))
        return None
    if client.credentials.refused:
        expired = auth_expired_problem(ref, obj.namespace)
        mem.credential_problems[ref.name] = (expired.reason, str(expired))
        return None
    return client


async def stop_only(
    ctx: OperatorContext,
    mem: ResourceMemory,
    obj: ObjectRef,
    source: Source,
    recorded: SourceStatus | None,
    secret_version: SecretVersion,
    now: datetime,
) -> SourceResult:
    entry = recorded or SourceStatus(source.calendar_id, source.key)
    step = await _stop_channels(ctx, mem, obj, source.credentials, entry, secret_version, now, reason="stop")
    return SourceResult(entry) if step is None else SourceResult(step.entry, step.notices)


async def _stop_channels(
    ctx: OperatorContext,
    mem: ResourceMemory,
    obj: ObjectRef,
    ref: SecretRef,
    entry: SourceStatus,
    secret_version: SecretVersion,
    now: datetime,
    *,
    reason: str,
) -> ChannelStepResult | None:
    """Stop the source's channels; None when it has none or its credentials do not work."""
    if entry.channel is None and entry.previous_channel is None:
        return None
    client = await client_for(ctx, mem, obj, ref, PassRequest(reason=reason), secret_version)
    if client is None:
        return None
    try:
        return await reconcile_channels(
            entry=entry, client=client, settings=ctx.settings, times=mem.channel_times, wanted=False, now=now
        )
    except AuthExpired:
        return None


async def source_pass(
    ctx: OperatorContext,
    mem: ResourceMemory,
    obj: ObjectRef,
    spec: CalendarSyncSpec,
    source: Source,
    recorded: SourceStatus | None,
    target_client: GoogleCalendarClient | None,
    request: PassRequest,
    secret_version: SecretVersion,
    now: datetime,
) -> SourceResult:
    key = source.key
    entry = recorded or SourceStatus(source.calendar_id, key)
    mem.source_secrets[key] = source.credentials
    held = mem.quota_until.get(key)
    if held is not None and now < held and request.requested_at is None:
        # Google's daily usage limit: no call until the back-off ends (DESIGN §5), whatever
        # pushes or polls come meanwhile; the sync token keeps the changes for later. Only an
        # explicit requested-at tries earlier.
        logger.info("Source %s waits for Google's usage limit until %s", key, held.isoformat())
        push = request.pushes.get(key)
        return SourceResult(replace(entry, last_handled_push=push or entry.last_handled_push))
    client = await client_for(ctx, mem, obj, source.credentials, request, secret_version)
    if client is None:
        return SourceResult(entry)
    result = SourceResult(entry)
    try:
        if not spec.dry_run:
            wanted = spec.push_enabled and ctx.settings.push_address is not None
            step = await reconcile_channels(
                entry=entry,
                client=client,
                settings=ctx.settings,
                times=mem.channel_times,
                wanted=wanted,
                now=now,
            )
            result.entry, result.notices = step.entry, step.notices
            if step.error is None:
                mem.channel_problems.pop(key, None)
            else:
                mem.channel_problems[key] = step.error
        state = SourceState.from_status(source.calendar_id, result.entry.to_status())
        state = replace(state, failed_writes=mem.failed_writes.get(key, ()))
        abort = threading.Event()
        try:
            outcome = await asyncio.to_thread(
                sync_source,
                spec=spec,
                source=source,
                state=state,
                source_client=client,
                target_client=target_client,
                index=mem.indexes.get(key),
                now=now,
                confirm_delete=request.confirm_delete,
                force_full=request.force_full,
                full_sync_interval=timedelta(seconds=ctx.settings.full_sync_interval_seconds),
                spread_key=f"{obj.namespace}/{obj.name}/{key}",
                batch_size=ctx.settings.google.batch_size,
                between_batches=lambda: _stop_if(abort),
            )
        except asyncio.CancelledError:
            # kopf cancels us on shutdown or deletion; the thread would run the whole plan to the
            # end: stop it after the batch in flight. The index may now be behind the target.
            abort.set()
            mem.indexes.pop(key, None)
            raise
    except AuthExpired:
        ref = (
            source.credentials
            if client.credentials.refused or target_client is None
            else spec.target.credentials
        )
        problem = auth_expired_problem(ref or source.credentials, obj.namespace)
        mem.credential_problems[problem.secret] = (problem.reason, str(problem))
        metrics.SYNCS.labels(result="auth_expired").inc()
        result.entry = replace(result.entry, last_error=str(problem))
        return result
    except GoogleError as exc:
        reason = ReadyReason.QUOTA_EXCEEDED if isinstance(exc, QuotaExhausted) else ReadyReason.GOOGLE_ERROR
        message = f"Syncing source {source.calendar_id} failed: {exc}"
        if isinstance(exc, CalendarNotFound):
            message = _not_found(exc, spec, source)
        if isinstance(exc, QuotaExhausted):
            message += " (Google's daily usage limit: the operator retries later)"
        mem.sync_problems[key] = (reason, message)
        metrics.SYNCS.labels(result="quota" if isinstance(exc, QuotaExhausted) else "error").inc()
        result.entry = replace(result.entry, last_error=message)
        if isinstance(exc, QuotaExhausted) or is_retryable(exc):
            result.retry_after = exc.retry_after or ctx.settings.retry_delay_seconds
        if isinstance(exc, QuotaExhausted):
            mem.quota_until[key] = now + timedelta(seconds=result.retry_after or 0.0)
        return result
    mem.indexes[key] = outcome.index
    mem.failed_writes[key] = outcome.state.failed_writes
    mem.sync_problems.pop(key, None)
    mem.quota_until.pop(key, None)
    for ref in (source.credentials, spec.target.credentials):
        if ref is not None:
            mem.credential_problems.pop(ref.name, None)
    _record_outcome(mem, key, outcome, confirm=request.confirm_delete)
    # Every other idle poll refreshes the time (never more often than once a minute).
    refresh_after = max(60.0, 2 * (ctx.settings.poll_seconds_override or spec.poll_interval_seconds))
    result.entry = _entry_from_outcome(result.entry, outcome, request.pushes.get(key), now, refresh_after)
    result.plan = outcome.plan if spec.dry_run else None
    _observe_push_latency(obj, key, outcome, request.pushes.get(key), ctx.now())
    return result


class PassAborted(Exception):
    """The awaiting task was cancelled: the sync thread stops between two batches."""


def _stop_if(abort: threading.Event) -> None:
    if abort.is_set():
        raise PassAborted()


def _record_outcome(mem: ResourceMemory, key: str, outcome: SyncOutcome, *, confirm: bool) -> None:
    if outcome.guard.tripped and not confirm:
        mem.guards[key] = outcome.guard.message
        metrics.SYNCS.labels(result="delete_guard").inc()
    else:
        if outcome.guard.tripped and outcome.report is not None:
            mem.deletes_confirmed = True
        mem.guards.pop(key, None)
        metrics.SYNCS.labels(result="dry_run" if outcome.report is None else "ok").inc()
    counts = outcome.counts
    for kind, value in (
        ("created", counts.created),
        ("updated", counts.updated),
        ("deleted", counts.deleted),
        ("skipped", counts.skipped),
    ):
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
    if (
        idle
        and entry.sync_token
        and recorded is not None
        and (now - recorded).total_seconds() < refresh_after
    ):
        return replace(
            entry, last_handled_push=push or entry.last_handled_push, last_error=state.last_error or ""
        )
    return replace(
        entry,
        sync_token=state.sync_token or "",
        last_sync_time=state.last_sync_time,
        last_full_sync_time=state.last_full_sync_time,
        counts=state.counts.as_status(),
        last_error=state.last_error or "",
        copies=outcome.index.live_count(),
        last_handled_push=push or entry.last_handled_push,
    )


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


async def drop_removed_source(
    ctx: OperatorContext,
    mem: ResourceMemory,
    obj: ObjectRef,
    entry: SourceStatus,
    secret_version: SecretVersion,
    now: datetime,
) -> list[Notice]:
    """A source left the spec: stop its channels if this process still knows its credentials."""
    mem.indexes.pop(entry.key, None)
    for problems in (mem.sync_problems, mem.channel_problems, mem.guards):
        problems.pop(entry.key, None)
    mem.quota_until.pop(entry.key, None)
    metrics.forget_resource(obj.namespace, obj.name, [entry.key])
    ref = mem.source_secrets.pop(entry.key, None)
    if ref is None:
        return []
    step = await _stop_channels(ctx, mem, obj, ref, entry, secret_version, now, reason="removed source")
    return [] if step is None else step.notices


def _not_found(exc: CalendarNotFound, spec: CalendarSyncSpec, source: Source) -> str:
    """Google's 404 for a calendar, with the Secret whose account could not see it."""
    ref = source.credentials if exc.calendar_id == source.calendar_id else spec.target.credentials
    secret = f'Secret "{ref.name}"' if ref is not None else "its Secret"
    return (
        f"Google has no calendar {exc.calendar_id!r} for the account of {secret} (404 notFound): "
        "check the calendarId, and that this account owns the calendar or it is shared with it"
    )
