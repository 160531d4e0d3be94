"""Handlers of the CalendarSync itself: reconcile, wake the worker, tear down on deletion."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import kopf

from calsync_operator import metrics
from calsync_operator.api.conditions import ConditionType, ReadyReason, set_condition
from calsync_operator.api.names import CONFIRM_DELETE_ANNOTATION
from calsync_operator.api.spec import CalendarSyncSpec, SpecError, parse_spec
from calsync_operator.controller.handlers.secrets import index_lookup
from calsync_operator.controller.memory import (
    OperatorContext,
    ResourceMemory,
    operator_context,
    resource_memory,
)
from calsync_operator.controller.rules.pass_request import ObjectRef, PassRequest
from calsync_operator.controller.rules.triggers import pending_pushes, requested_at
from calsync_operator.controller.sync_pass import announce, run_pass, shard_label, write_status
from calsync_operator.controller.teardown import tear_down

DELETE_RETRIES = 5


async def reconcile(
    *,
    body: kopf.Body,
    spec: kopf.Spec,
    meta: kopf.Meta,
    status: kopf.Status,
    name: str,
    namespace: str | None,
    memo: kopf.Memo,
    reason: str,
    logger: kopf.Logger,
    secret_versions: kopf.Index[tuple[str, str], str] | None = None,  # kopf passes the index
    old: Any = None,  # on a change: the previous spec (or body essence, for the resume handler)
    **_: Any,
) -> None:
    """Create, resume, spec change: one pass over every source (a full listing on spec change)."""
    ctx, mem = operator_context(memo), resource_memory(memo)
    obj = object_ref(body, meta, status, name, namespace)
    remember_old_sources(mem, old)
    parsed = await parse_or_report(ctx, mem, obj, spec)
    async with mem.lock:
        current = mem.current_status(status)
        annotations = dict(meta.annotations)
        # A spec change re-lists every source, so a new rendering reaches every existing copy.
        seen = current.get("observedGeneration")
        spec_changed = seen is not None and seen != obj.generation
        request = PassRequest(
            reason=str(reason),
            pushes=pending_pushes(parsed, annotations, current, mem.handled_pushes),
            requested_at=requested_at(annotations, current, mem.handled_request_at),
            force_full=spec_changed,
            confirm_delete=CONFIRM_DELETE_ANNOTATION in annotations,
            reread_secrets=True,
        )
        result = await run_pass(ctx, mem, obj, parsed, request, index_lookup(secret_versions))
        if not result.conflict:
            remember_handled(mem, request)
        schedule_poll(ctx, mem, parsed, first=mem.next_poll is None)
    mem.wake.set()  # the worker re-checks: pushes may have arrived during this pass
    if result.conflict:
        # Another replica wrote a newer status (a reshard's overlap): pass again from it, so
        # that this generation is recorded as observed and the worker may take over.
        raise kopf.TemporaryError("Another replica wrote the status meanwhile: syncing again", delay=1)
    if result.retry_after is not None:
        raise kopf.TemporaryError("Google asked to retry later (see status)", delay=result.retry_after)


async def wake(*, memo: kopf.Memo, **_: Any) -> None:
    """Every watch event of the object: let its worker look at the annotations again."""
    resource_memory(memo).wake.set()


async def delete(
    *,
    body: kopf.Body,
    spec: kopf.Spec,
    meta: kopf.Meta,
    status: kopf.Status,
    name: str,
    namespace: str | None,
    memo: kopf.Memo,
    retry: int,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    """Stop channels, delete copies with ``onDelete: deleteCopies``, then let kopf release us."""
    ctx, mem = operator_context(memo), resource_memory(memo)
    obj = object_ref(body, meta, status, name, namespace)
    try:
        parsed = parse_spec(dict(spec))
    except SpecError:
        logger.warning("The spec is invalid: nothing to clean up that the operator can find")
        return
    async with mem.lock:
        result = await tear_down(ctx, mem, obj, parsed)
    ctx.secret_watch.unregister(obj.namespace, name)
    metrics.forget_resource(obj.namespace, name, [source.key for source in parsed.sources])
    for notice in result.notices:
        kopf.event(body, type=notice.type, reason=notice.reason, message=notice.message)
    if result.copies_deleted:
        kopf.info(
            body, reason="CopiesDeleted", message=f"{result.copies_deleted} copies deleted from the target"
        )
    if result.problems:
        message = "; ".join(result.problems)
        if result.retry and retry < DELETE_RETRIES - 1:
            raise kopf.TemporaryError(f"Cleanup incomplete, retrying: {message}", delay=10)
        kopf.warn(body, reason="CleanupIncomplete", message=message)


async def parse_or_report(
    ctx: OperatorContext, mem: ResourceMemory, obj: ObjectRef, spec: Mapping[str, Any]
) -> CalendarSyncSpec:
    """The typed spec; for a bad one, Ready=False InvalidSpec and kopf.PermanentError."""
    try:
        return parse_spec(dict(spec))
    except SpecError as exc:
        current = mem.current_status(obj.status)
        conditions = set_condition(
            current.get("conditions"),
            ConditionType.READY,
            False,
            ReadyReason.INVALID_SPEC,
            str(exc),
            obj.generation,
            ctx.now(),
        )
        desired = {
            **current,
            "conditions": conditions,
            "observedGeneration": obj.generation,
            "shard": shard_label(ctx),
        }
        if not await write_status(ctx, mem, obj, current, desired):
            raise kopf.TemporaryError(
                "Another replica wrote the status meanwhile: checking again", delay=1
            ) from None
        await announce(ctx, obj, current.get("conditions"), conditions, [])
        raise kopf.PermanentError(f"Invalid spec: {exc}") from None


def remember_old_sources(mem: ResourceMemory, old: Any) -> None:
    """The Secrets of the previous spec's sources. A source removed from the spec must have its
    channel stopped with its own credentials, which only the old spec names when the operator
    did not sync it since it started (e.g. the spec was edited while the operator was down)."""
    if not isinstance(old, Mapping):
        return
    # The spec-field handler gets the old spec; the resume handler the old essence of the body.
    nested = old.get("spec")
    raw: Mapping[str, Any] = nested if isinstance(nested, Mapping) else old
    try:
        previous = parse_spec(dict(raw))
    except SpecError:
        return
    for source in previous.sources:
        mem.source_secrets.setdefault(source.key, source.credentials)


def object_ref(
    body: kopf.Body, meta: kopf.Meta, status: kopf.Status, name: str, namespace: str | None
) -> ObjectRef:
    generation = meta.get("generation")
    return ObjectRef(
        namespace=namespace or "",  # CalendarSyncs are namespaced: never empty in practice
        name=name,
        generation=int(generation) if generation is not None else None,
        body=body,
        status=dict(status),
    )


def remember_handled(mem: ResourceMemory, request: PassRequest) -> None:
    mem.handled_pushes.update(request.pushes)
    if request.requested_at:
        mem.handled_request_at = request.requested_at


def schedule_poll(ctx: OperatorContext, mem: ResourceMemory, spec: CalendarSyncSpec, *, first: bool) -> None:
    """The next poll: a pollInterval after this pass; the first one at a random point within it,
    so CalendarSyncs created together do not poll Google together forever."""
    interval = ctx.settings.poll_seconds_override or float(spec.poll_interval_seconds)
    delay = interval * random.uniform(0.5, 1.0) if first else interval
    mem.next_poll = ctx.now() + timedelta(seconds=delay)
