"""One pass over a CalendarSync: credentials → per-source steps → memory → one status write.

Every trigger (create/resume/spec change, a push for one source, ``requested-at``, the poll, a
retry, a Secret change) ends up here with a ``PassRequest`` saying which sources to sync. The
pass reads top-down:

1. ``run_pass`` picks the sources, builds the target's client and runs one
   ``source_step.sync_source_step`` per source concurrently (the Google work in threads);
2. each step returns a ``SourceOutcome``; the memory records them in one place
   (``ResourceMemory.apply``);
3. ``rules.readiness`` decides the conditions from what the memory now knows, and
   ``write_status`` — the one status writer, also used for an invalid spec — writes it,
   guarded by ``status.revision`` so that it never overwrites another replica's newer status;
4. ``announce`` posts the Events and the alert mail (transitions only, ``rules.notices``).

The caller (a kopf handler or the per-object worker) holds the object's lock, so passes of one
CalendarSync never overlap and the status this process last wrote is the one to diff against.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import kopf

from calsync_operator import metrics
from calsync_operator.api.conditions import ConditionType, ReadyReason, failing, get_condition, set_condition
from calsync_operator.api.names import CONFIRM_DELETE_ANNOTATION
from calsync_operator.api.spec import CalendarSyncSpec, Delivery, Source
from calsync_operator.api.status import SourceStatus, sources_by_key
from calsync_operator.controller.clients import CredentialProblem, SecretLookup
from calsync_operator.controller.memory import OperatorContext, ResourceMemory
from calsync_operator.controller.rules.notices import (
    EVENT_DELETES_CONFIRMED,
    Notice,
    alert_mail,
    condition_notices,
    merged,
)
from calsync_operator.controller.rules.outcomes import PassResult, SourceOutcome
from calsync_operator.controller.rules.pass_request import ObjectRef, PassRequest
from calsync_operator.controller.rules.readiness import Problems, Situation, decide_conditions
from calsync_operator.controller.rules.status import (
    build_status,
    guarded_status_write,
    plan_status,
    same_status,
)
from calsync_operator.controller.source_step import PassScope, stop_only, sync_source_step
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.kube.client import StatusConflict

logger = logging.getLogger(__name__)
STATUS_WRITE_ATTEMPTS = 3  # a guarded write whose only "conflict" was a metadata change


async def run_pass(
    ctx: OperatorContext,
    mem: ResourceMemory,
    obj: ObjectRef,
    spec: CalendarSyncSpec,
    request: PassRequest,
    secret_lookup: SecretLookup,
    *,
    retry_here: bool,
) -> PassResult:
    """Run the pass; raises nothing for Google or credential trouble (it lands in status).
    ``retry_here``: failed sources get a deadline in memory (the worker's passes)."""
    scope = PassScope(ctx, mem, obj, spec, request, secret_lookup, ctx.now())
    before = mem.current_status(obj.status)
    recorded = sources_by_key(before)
    # A restarted operator first re-learns every source.
    every = request.sources is None or not mem.full_pass_done
    selected = [s for s in spec.sources if every or s.key in (request.sources or ())]
    logger.info(
        "Sync pass (%s) of %s/%s: %d of %d source(s)",
        request.reason,
        obj.namespace,
        obj.name,
        len(selected),
        len(spec.sources),
    )
    notices = await _drop_removed_sources(scope, recorded)
    outcomes = await _run_steps(scope, selected, recorded)
    mem.apply_steps(spec.sources, outcomes, every_source=len(selected) == len(spec.sources))
    await mem.clients.write_back_rotated(ctx.kube, obj.namespace)
    entries = [
        outcomes[s.key].entry if s.key in outcomes else recorded.get(s.key) or SourceStatus(s.calendar_id)
        for s in spec.sources
    ]
    desired = _desired_status(scope, before, entries, outcomes)
    written = await write_status(ctx, mem, obj, before, desired)
    if written is None:
        await _release_unrecorded_channels(scope, outcomes, recorded)
        return PassResult(outcomes, conflict=True)  # nothing recorded: pending work stays pending
    result = PassResult(outcomes)
    poll = ctx.settings.poll_seconds_override or float(spec.poll_interval_seconds)
    mem.record_pass(request, result, written, scope.now, poll_seconds=poll, retry_here=retry_here)
    notices += [n for o in outcomes.values() for n in o.notices]
    notices += await _lift_confirmation(ctx, mem, obj)
    await announce(ctx, obj, before.get("conditions"), desired["conditions"], notices)
    return result


async def _drop_removed_sources(scope: PassScope, recorded: Mapping[str, SourceStatus]) -> list[Notice]:
    """Sources that left the spec: forget them; stop their channels if their Secret is known."""
    wanted = {s.key for s in scope.spec.sources}
    notices: list[Notice] = []
    for key in [k for k in recorded if k not in wanted]:
        metrics.forget_resource(scope.obj.namespace, scope.obj.name, [key])
        ref = scope.mem.forget_source(key)
        step = await scope.stop_channels(ref, recorded[key]) if ref is not None else None
        notices += step.notices if step is not None else []
    scope.mem.keep_credential_problems(scope.spec.secret_names())
    return notices


async def _release_unrecorded_channels(
    scope: PassScope, outcomes: Mapping[str, SourceOutcome], recorded: Mapping[str, SourceStatus]
) -> None:
    """A refused status write drops the channels this pass created with it: stop them, so that
    no channel delivers pushes that no status names (the newer status keeps its own)."""
    newer = sources_by_key(scope.mem.known_status).values()
    kept = {c.id for e in [*newer, *recorded.values()] for c in e.channels()}
    for source in scope.spec.sources:
        outcome = outcomes.get(source.key)
        channel = outcome.entry.channel if outcome is not None else None
        if channel is not None and channel.id not in kept:
            await scope.stop_channels(source.credentials, SourceStatus(source.calendar_id, channel=channel))


async def _run_steps(
    scope: PassScope, selected: Sequence[Source], recorded: Mapping[str, SourceStatus]
) -> dict[str, SourceOutcome]:
    spec = scope.spec

    def entry(source: Source) -> SourceStatus:
        return recorded.get(source.key) or SourceStatus(source.calendar_id)

    if spec.suspend:
        # Suspended: stop every channel, sync nothing.
        passed = list(spec.sources)
        work = [stop_only(scope, s, entry(s)) for s in passed]
    else:
        target_client = await _target_client(scope)
        passed = [] if spec.delivery is Delivery.COPY and target_client is None else list(selected)
        work = [sync_source_step(scope, s, entry(s), target_client) for s in passed]
    try:
        results = await asyncio.gather(*work)
    except asyncio.CancelledError:
        scope.mem.forget_indexes([s.key for s in passed])  # they may be behind the target now
        raise
    return {source.key: outcome for source, outcome in zip(passed, results, strict=True)}


async def _target_client(scope: PassScope) -> GoogleCalendarClient | None:
    """The target's client for copy delivery; None (and a recorded problem) when unusable."""
    ref = scope.spec.target.credentials
    if scope.spec.delivery is not Delivery.COPY or ref is None:
        return None
    client = await scope.client(ref)
    if isinstance(client, CredentialProblem):
        scope.mem.credential_problem(ref.name, (client.reason, str(client)))
        return None
    return client


def _desired_status(
    scope: PassScope,
    before: Mapping[str, Any],
    entries: list[SourceStatus],
    outcomes: Mapping[str, SourceOutcome],
) -> dict[str, Any]:
    spec, obj, now = scope.spec, scope.obj, scope.now
    for entry in entries:
        expiration = entry.channel.expiration if entry.channel is not None else None
        metrics.track_channel_expiry(obj.namespace, obj.name, entry.key, expiration)
    situation = Situation(
        sources=len(spec.sources),
        suspended=spec.suspend,
        dry_run=spec.dry_run,
        push_enabled=spec.push_enabled,
        webhook_url_set=scope.ctx.settings.webhook_url is not None,
        webhook_problem=scope.ctx.settings.webhook_problem,
        channels_live=sum(1 for e in entries if e.channel is not None and e.channel.expiration > now),
    )
    conditions = decide_conditions(
        before.get("conditions"), situation, _problems(scope.mem, entries), generation=obj.generation, now=now
    )
    ready = get_condition(conditions, ConditionType.READY) or {}
    metrics.track_ready(obj.namespace, obj.name, ready.get("status") == "True", str(ready.get("reason", "")))
    plans = [(o.entry.calendar_id, o.plan) for o in outcomes.values() if o.plan is not None]
    previous_plan = before.get("plan") if isinstance(before.get("plan"), Mapping) else None
    plan = (plan_status(plans, now) if plans else previous_plan) if spec.dry_run else None
    handled_request = scope.request.requested_at or before.get("lastHandledRequestAt") or None
    return build_status(
        generation=obj.generation,
        conditions=conditions,
        sources=entries,
        last_handled_request_at=str(handled_request) if handled_request else None,
        plan=plan,
        shard=shard_label(scope.ctx),
    )


def shard_label(ctx: OperatorContext) -> str:
    """``status.shard``: which replica wrote the status, as ``I/N``."""
    return f"{ctx.settings.shard}/{ctx.settings.shards}"


async def write_status(
    ctx: OperatorContext,
    mem: ResourceMemory,
    obj: ObjectRef,
    before: Mapping[str, Any],
    desired: Mapping[str, Any],
) -> dict[str, Any] | None:
    """The one status writer, guarded (``rules.status.guarded_status_write``): the status now
    on the server, or None when another replica had written a newer one — then memory holds
    that one, re-read from the API. Before the first guarded write the guard is the
    resourceVersion, which metadata changes move too (the webhook's push annotations): when the
    re-read status is still the one this pass started from, the write is simply sent again."""
    version = obj.body.get("metadata", {}).get("resourceVersion")
    write = guarded_status_write(before, desired, str(version) if version else None)
    attempts = 0
    while write.operations:
        attempts += 1
        try:
            await ctx.kube.write_status(obj.namespace, obj.name, write.operations)
        except StatusConflict:
            fresh = await ctx.kube.read_status(obj.namespace, obj.name)
            if fresh is not None and same_status(before, fresh[0]) and attempts < STATUS_WRITE_ATTEMPTS:
                write = guarded_status_write(fresh[0], desired, fresh[1])
                continue
            metrics.STATUS_WRITES.labels(result="conflict").inc()
            logger.info(
                "Status of %s/%s was written by another replica meanwhile: syncing again from it",
                obj.namespace,
                obj.name,
            )
            mem.known_status = fresh[0] if fresh is not None else None
            return None
        metrics.STATUS_WRITES.labels(result="written").inc()
        break
    return write.status


async def report_invalid_spec(ctx: OperatorContext, mem: ResourceMemory, obj: ObjectRef, error: str) -> bool:
    """A spec the operator cannot use: Ready=False InvalidSpec, written like every status;
    False when another replica had written a newer status (then nothing was announced)."""
    current = mem.current_status(obj.status)
    conditions = set_condition(
        current.get("conditions"),
        ConditionType.READY,
        False,
        ReadyReason.INVALID_SPEC,
        error,
        obj.generation,
        ctx.now(),
    )
    desired = {
        **current,
        "conditions": conditions,
        "observedGeneration": obj.generation,
        "shard": shard_label(ctx),
    }
    written = await write_status(ctx, mem, obj, current, desired)
    if written is None:
        return False
    mem.known_status = written
    await announce(ctx, obj, current.get("conditions"), conditions, [])
    return True


async def _lift_confirmation(ctx: OperatorContext, mem: ResourceMemory, obj: ObjectRef) -> list[Notice]:
    """The confirmation was for the deletions just done, not a standing waiver of the guard."""
    if not mem.take_deletes_confirmed():
        return []
    await ctx.kube.remove_annotation(obj.namespace, obj.name, CONFIRM_DELETE_ANNOTATION)
    return [Notice("Normal", EVENT_DELETES_CONFIRMED, "Confirmed deletions done; the guard is armed again.")]


async def announce(
    ctx: OperatorContext,
    obj: ObjectRef,
    before: Sequence[Mapping[str, Any]] | None,
    after: Sequence[Mapping[str, Any]],
    notices: list[Notice],
) -> None:
    """After the status is written: the pass's Events plus those of condition transitions, the
    alert mail of a Ready transition (``rules.notices`` decides: transitions only), the error count."""
    for notice in merged([*notices, *condition_notices(before, after)]):
        kopf.event(obj.body, type=notice.type, reason=notice.reason, message=notice.message)
    mail = alert_mail(before, after, namespace=obj.namespace, name=obj.name)
    if mail is not None and ctx.mailer is not None:
        await asyncio.to_thread(ctx.mailer.send, mail)
    if failing(after):
        ready = get_condition(after, ConditionType.READY) or {}
        metrics.RECONCILE_ERRORS.labels(reason=str(ready.get("reason"))).inc()


def _problems(mem: ResourceMemory, entries: Sequence[SourceStatus]) -> Problems:
    """What memory knows, plus the failed writes, which live in status (they outlive the process)."""
    writes = {
        e.key: f"Source {e.calendar_id}: {e.failed_writes.summary()}" for e in entries if e.failed_writes
    }
    return replace(mem.problems(), writes=writes)
