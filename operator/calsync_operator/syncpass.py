"""One pass over a CalendarSync: credentials → channels → incremental sync → one status write.

Every trigger (create/resume/spec change, a push for one source, ``requested-at``, the poll,
a Secret change) ends up here with a ``PassRequest`` saying which sources to sync. The pass is
level-triggered and idempotent: it starts from the recorded status, lets the engine do the
Google work in threads (``asyncio.to_thread``; sources run concurrently), computes the whole
desired status and writes only what changed. Conditions come from ``readiness``; Events and the
alert mail fire on transitions only (``alerts``). The caller (a kopf handler or the per-object
worker) holds the object's lock, so passes of one CalendarSync never overlap.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import kopf

from calsync_operator import metrics
from calsync_operator.alerts import EVENT_DELETES_CONFIRMED, Notice, alert_mail, condition_notices
from calsync_operator.channelstep import reconcile_channels
from calsync_operator.conditions import ReadyReason
from calsync_operator.engine import SourceState, SyncOutcome, sync_source
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.retry import is_retryable
from calsync_operator.google.types import AuthExpired, GoogleError, QuotaExhausted
from calsync_operator.identity import CONFIRM_DELETE_ANNOTATION
from calsync_operator.model import CalendarSyncSpec, Delivery, SecretRef, Source
from calsync_operator.planner import Plan
from calsync_operator.readiness import Situation, decide_conditions
from calsync_operator.secretclients import CredentialProblem, auth_expired_problem
from calsync_operator.state import OperatorContext, ResourceMemory
from calsync_operator.status import SourceStatus, build_status, plan_status, sources_by_key, status_patch
from calsync_operator.times import try_parse_time

logger = logging.getLogger(__name__)

# (namespace, Secret name) → the Secret's resourceVersion per the Secrets index (None: unknown).
SecretVersion = Callable[[str, str], str | None]


@dataclass(frozen=True)
class PassRequest:
    """What a trigger asks for. ``sources`` None means every source."""

    reason: str
    sources: frozenset[str] | None = None
    pushes: Mapping[str, str] = field(default_factory=dict)  # source key → push annotation value
    requested_at: str | None = None  # the requested-at annotation value this pass answers
    force_full: bool = False  # re-list the window (the spec changed: new rendering everywhere)
    confirm_delete: bool = False
    reread_secrets: bool = False


@dataclass(frozen=True)
class ObjectRef:
    namespace: str
    name: str
    generation: int | None
    body: Any  # kopf's body, for posting Events
    status: Mapping[str, Any]


@dataclass(frozen=True)
class PassResult:
    retry_after: float | None  # a retryable failure happened: pass again after this many seconds


@dataclass
class _SourceResult:
    entry: SourceStatus
    notices: list[Notice] = field(default_factory=list)
    plan: Plan | None = None
    retry_after: float | None = None


async def run_pass(
    ctx: OperatorContext,
    mem: ResourceMemory,
    obj: ObjectRef,
    spec: CalendarSyncSpec,
    request: PassRequest,
    secret_version: SecretVersion,
) -> PassResult:
    """Run the pass; raises nothing for Google or credential trouble (it lands in status)."""
    now = ctx.now()
    before: Mapping[str, Any] = mem.known_status if mem.known_status is not None else obj.status
    recorded = sources_by_key(before)
    wanted_keys = {s.key for s in spec.sources}
    if request.sources is None or not mem.full_pass_done:
        selected = list(spec.sources)  # a restarted operator first re-learns every source
    else:
        selected = [s for s in spec.sources if s.key in request.sources]
    logger.info(
        "Sync pass (%s) of %s/%s: %d of %d source(s)",
        request.reason,
        obj.namespace,
        obj.name,
        len(selected),
        len(spec.sources),
    )

    notices: list[Notice] = []
    for key in [k for k in recorded if k not in wanted_keys]:
        notices += await _drop_removed_source(ctx, mem, obj, recorded[key], secret_version, now)

    for secret in [name for name in mem.credential_problems if name not in spec.secret_names()]:
        del mem.credential_problems[secret]
    target_client = None
    if spec.delivery is Delivery.COPY and spec.target.credentials is not None and not spec.suspend:
        target_client = await _client(ctx, mem, obj, spec.target.credentials, request, secret_version)
    if spec.suspend:
        # Suspended: stop every channel, sync nothing.
        passed = list(spec.sources)
        work = [_stop_only(ctx, mem, obj, s, recorded.get(s.key), secret_version, now) for s in passed]
    elif spec.delivery is Delivery.COPY and target_client is None:
        passed, work = [], []  # the target's Secret is unusable: nothing can be written
    else:
        passed = selected
        work = [
            _source_pass(
                ctx, mem, obj, spec, s, recorded.get(s.key), target_client, request, secret_version, now
            )
            for s in passed
        ]
    results: dict[str, _SourceResult] = {}
    for source, result in zip(passed, await asyncio.gather(*work), strict=True):
        results[source.key] = result
        notices += result.notices
    await mem.clients.write_back_rotated(ctx.kube, obj.namespace)
    # Every source was looked at (whatever the outcome): memory now knows all their problems.
    if len(selected) == len(spec.sources):
        mem.full_pass_done = True

    entries = [
        results[s.key].entry
        if s.key in results
        else recorded.get(s.key) or SourceStatus(s.calendar_id, s.key)
        for s in spec.sources
    ]
    for entry in entries:
        if entry.channel is not None:
            seconds = (entry.channel.expiration - now).total_seconds()
            metrics.CHANNEL_EXPIRY.labels(obj.namespace, obj.name, entry.key).set(seconds)
    situation = Situation(
        sources=len(spec.sources),
        suspended=spec.suspend,
        dry_run=spec.dry_run,
        push_enabled=spec.push_enabled,
        webhook_url_set=ctx.settings.webhook_url is not None,
        channels_live=sum(1 for e in entries if e.channel is not None and e.channel.expiration > now),
    )
    conditions = decide_conditions(
        before.get("conditions"), situation, mem.problems(), generation=obj.generation, now=now
    )
    plans = [(r.entry.calendar_id, r.plan) for r in results.values() if r.plan is not None]
    previous_plan = before.get("plan") if isinstance(before.get("plan"), Mapping) else None
    plan = (plan_status(plans, now) if plans else previous_plan) if spec.dry_run else None
    handled_request = request.requested_at or _text(before.get("lastHandledRequestAt"))
    desired = build_status(
        generation=obj.generation,
        conditions=conditions,
        sources=entries,
        last_handled_request_at=handled_request,
        plan=plan,
    )
    patch = status_patch(before, desired)
    if patch:
        await ctx.kube.patch_status(obj.namespace, obj.name, patch)
    mem.known_status = desired
    if mem.deletes_confirmed:
        # The confirmation was for the deletions just done, not a standing waiver of the guard.
        await ctx.kube.remove_annotation(obj.namespace, obj.name, CONFIRM_DELETE_ANNOTATION)
        mem.deletes_confirmed = False
        notices.append(
            Notice("Normal", EVENT_DELETES_CONFIRMED, "Confirmed deletions done; the guard is armed again.")
        )

    notices += condition_notices(before.get("conditions"), conditions)
    for notice in notices:
        kopf.event(obj.body, type=notice.type, reason=notice.reason, message=notice.message)
    mail = alert_mail(before.get("conditions"), conditions, namespace=obj.namespace, name=obj.name)
    if mail is not None and ctx.mailer is not None:
        await asyncio.to_thread(ctx.mailer.send, mail)
    ready = next((c for c in conditions if c.get("type") == "Ready"), {})
    if ready.get("status") == "False" and ready.get("reason") not in (
        ReadyReason.SUSPENDED,
        ReadyReason.DRY_RUN,
    ):
        metrics.RECONCILE_ERRORS.labels(reason=str(ready.get("reason"))).inc()
    delays = [r.retry_after for r in results.values() if r.retry_after is not None]
    return PassResult(retry_after=min(delays) if delays else None)


async def _client(
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


async def _stop_only(
    ctx: OperatorContext,
    mem: ResourceMemory,
    obj: ObjectRef,
    source: Source,
    recorded: SourceStatus | None,
    secret_version: SecretVersion,
    now: datetime,
) -> _SourceResult:
    entry = recorded or SourceStatus(source.calendar_id, source.key)
    if entry.channel is None and entry.previous_channel is None:
        return _SourceResult(entry)
    client = await _client(ctx, mem, obj, source.credentials, PassRequest(reason="stop"), secret_version)
    if client is None:
        return _SourceResult(entry)
    try:
        step = await reconcile_channels(
            entry=entry, client=client, settings=ctx.settings, times=mem.channel_times, wanted=False, now=now
        )
    except AuthExpired:
        return _SourceResult(entry)
    return _SourceResult(step.entry, step.notices)


async def _source_pass(
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
) -> _SourceResult:
    key = source.key
    entry = recorded or SourceStatus(source.calendar_id, key)
    mem.source_secrets[key] = source.credentials
    client = await _client(ctx, mem, obj, source.credentials, request, secret_version)
    if client is None:
        return _SourceResult(entry)
    result = _SourceResult(entry)
    try:
        if not spec.dry_run:
            wanted = spec.push_enabled and ctx.settings.webhook_url is not None
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
        if isinstance(exc, QuotaExhausted):
            message += " (Google's daily usage limit: the operator retries later)"
        mem.sync_problems[key] = (reason, message)
        metrics.SYNCS.labels(result="quota" if isinstance(exc, QuotaExhausted) else "error").inc()
        result.entry = replace(result.entry, last_error=message)
        if isinstance(exc, QuotaExhausted) or is_retryable(exc):
            result.retry_after = exc.retry_after or ctx.settings.retry_delay_seconds
        return result
    mem.indexes[key] = outcome.index
    mem.sync_problems.pop(key, None)
    for ref in (source.credentials, spec.target.credentials):
        if ref is not None:
            mem.credential_problems.pop(ref.name, None)
    _record_outcome(mem, key, outcome, request, confirm=request.confirm_delete)
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


def _record_outcome(
    mem: ResourceMemory, key: str, outcome: SyncOutcome, request: PassRequest, *, confirm: bool
) -> None:
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


async def _drop_removed_source(
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
    metrics.forget_resource(obj.namespace, obj.name, [entry.key])
    ref = mem.source_secrets.pop(entry.key, None)
    if ref is None or (entry.channel is None and entry.previous_channel is None):
        return []
    client = await _client(ctx, mem, obj, ref, PassRequest(reason="removed source"), secret_version)
    if client is None:
        return []
    try:
        step = await reconcile_channels(
            entry=entry, client=client, settings=ctx.settings, times=mem.channel_times, wanted=False, now=now
        )
    except AuthExpired:
        return []
    return step.notices


def _text(value: Any) -> str | None:
    return str(value) if value else None
