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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import kopf

from calsync_operator import metrics
from calsync_operator.api.conditions import ConditionType, get_condition
from calsync_operator.api.names import CONFIRM_DELETE_ANNOTATION
from calsync_operator.api.spec import CalendarSyncSpec, Delivery
from calsync_operator.controller.memory import OperatorContext, ResourceMemory
from calsync_operator.controller.rules.notices import (
    EVENT_DELETES_CONFIRMED,
    Notice,
    alert_mail,
    condition_notices,
    failing,
)
from calsync_operator.controller.rules.pass_request import ObjectRef, PassRequest, SecretVersion
from calsync_operator.controller.rules.readiness import Situation, decide_conditions
from calsync_operator.controller.rules.status import (
    SourceStatus,
    build_status,
    guarded_status_write,
    plan_status,
    same_status,
    sources_by_key,
)
from calsync_operator.controller.source_step import (
    SourceResult,
    client_for,
    drop_removed_source,
    source_pass,
    stop_only,
)
from calsync_operator.kube.client import StatusConflict

logger = logging.getLogger(__name__)
STATUS_WRITE_ATTEMPTS = 3  # a guarded write whose only "conflict" was a metadata change


@dataclass(frozen=True)
class PassResult:
    retry_after: float | None  # a retryable failure happened: pass again after this many seconds
    # Another replica wrote a newer status meanwhile (a reshard's overlap): this pass's status
    # was dropped and memory holds the newer one; whatever is still pending runs again from it.
    conflict: bool = False


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
    before = mem.current_status(obj.status)
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
        notices += await drop_removed_source(ctx, mem, obj, recorded[key], secret_version, now)

    for secret in [name for name in mem.credential_problems if name not in spec.secret_names()]:
        del mem.credential_problems[secret]
    target_client = None
    if spec.delivery is Delivery.COPY and spec.target.credentials is not None and not spec.suspend:
        target_client = await client_for(ctx, mem, obj, spec.target.credentials, request, secret_version)
    if spec.suspend:
        # Suspended: stop every channel, sync nothing.
        passed = list(spec.sources)
        work = [stop_only(ctx, mem, obj, s, recorded.get(s.key), secret_version, now) for s in passed]
    elif spec.delivery is Delivery.COPY and target_client is None:
        passed, work = [], []  # the target's Secret is unusable: nothing can be written
    else:
        passed = selected
        work = [
            source_pass(
                ctx, mem, obj, spec, s, recorded.get(s.key), target_client, request, secret_version, now
            )
            for s in passed
        ]
    results: dict[str, SourceResult] = {}
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
        expiration = entry.channel.expiration if entry.channel is not None else None
        metrics.track_channel_expiry(obj.namespace, obj.name, entry.key, expiration)
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
        shard=shard_label(ctx),
    )
    if not await write_status(ctx, mem, obj, before, desired):
        return PassResult(retry_after=None, conflict=True)
    if mem.deletes_confirmed:
        # The confirmation was for the deletions just done, not a standing waiver of the guard.
        await ctx.kube.remove_annotation(obj.namespace, obj.name, CONFIRM_DELETE_ANNOTATION)
        mem.deletes_confirmed = False
        notices.append(
            Notice("Normal", EVENT_DELETES_CONFIRMED, "Confirmed deletions done; the guard is armed again.")
        )

    await announce(ctx, obj, before.get("conditions"), conditions, notices)
    delays = [r.retry_after for r in results.values() if r.retry_after is not None]
    return PassResult(retry_after=min(delays) if delays else None)


def shard_label(ctx: OperatorContext) -> str:
    """``status.shard``: which replica wrote the status, as ``I/N``."""
    return f"{ctx.settings.shard}/{ctx.settings.shards}"


async def write_status(
    ctx: OperatorContext,
    mem: ResourceMemory,
    obj: ObjectRef,
    before: Mapping[str, Any],
    desired: Mapping[str, Any],
) -> bool:
    """The one status write of a pass, guarded (``rules/status.py``); False when another
    replica had written a newer status: then memory holds that one, re-read from the API.

    Before the first guarded write the guard is the resourceVersion, which any metadata change
    moves too (the webhook's push annotations): when the re-read status is still the one this
    pass started from, the write is sent again with the new version."""
    version = obj.body.get("metadata", {}).get("resourceVersion") if obj.body is not None else None
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
            return False
        metrics.STATUS_WRITES.labels(result="written").inc()
        break
    mem.known_status = write.status
    return True


async def announce(
    ctx: OperatorContext,
    obj: ObjectRef,
    before: Sequence[Mapping[str, Any]] | None,
    after: Sequence[Mapping[str, Any]],
    notices: list[Notice],
) -> None:
    """After the status is written: the pass's Events plus those of condition transitions, the
    alert mail of a Ready transition (``alerts`` decides: transitions only), the error count."""
    for notice in [*notices, *condition_notices(before, after)]:
        kopf.event(obj.body, type=notice.type, reason=notice.reason, message=notice.message)
    mail = alert_mail(before, after, namespace=obj.namespace, name=obj.name)
    if mail is not None and ctx.mailer is not None:
        await asyncio.to_thread(ctx.mailer.send, mail)
    if failing(after):
        ready = get_condition(after, ConditionType.READY) or {}
        metrics.RECONCILE_ERRORS.labels(reason=str(ready.get("reason"))).inc()


def _text(value: Any) -> str | None:
    return str(value) if value else None
