"""Handlers of the CalendarSync itself: reconcile, wake the worker, tear down on deletion."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from calsync_operator import metrics
from calsync_operator.api.spec import CalendarSyncSpec, SpecError, parse_spec
from calsync_operator.controller.memory import operator_context, resource_memory
from calsync_operator.controller.rules.notices import merged
from calsync_operator.controller.rules.pass_request import ObjectRef
from calsync_operator.controller.rules.triggers import Observed, reconcile_request
from calsync_operator.controller.sync_pass import report_invalid_spec, run_pass
from calsync_operator.controller.teardown import tear_down

DELETE_RETRIES = 5
CONFLICT_MESSAGE = "Another replica wrote the status meanwhile: syncing again from it"


async def reconcile(
    *,
    body: kopf.Body,
    name: str,
    namespace: str | None,
    memo: kopf.Memo,
    reason: str,
    old: Any = None,  # on a change: the previous spec (or body essence, for the resume handler)
    **_: Any,
) -> None:
    """Create, resume, spec change: one pass over every source (a full listing on spec change)."""
    ctx, mem = operator_context(memo), resource_memory(memo)
    mem.remember_sources(previous_spec(old))
    async with mem.lock, ctx.pass_slots:
        obj = ObjectRef.of(body, name, namespace)
        current = mem.current_status(obj.status)
        try:
            parsed = parse_spec(dict(body.spec))
        except SpecError as exc:
            if not await report_invalid_spec(ctx, mem, obj, str(exc)):
                raise kopf.TemporaryError(CONFLICT_MESSAGE, delay=1) from None
            raise kopf.PermanentError(f"Invalid spec: {exc}") from None
        signals = mem.signals(current, ctx.now())
        observed = Observed(parsed, dict(body.meta.annotations), current)
        request = reconcile_request(observed, signals, reason=str(reason), generation=obj.generation)
        result = await run_pass(ctx, mem, obj, parsed, request, ctx.secret_watch.lookup, retry_here=False)
    mem.wake.set()  # the worker re-checks: pushes may have arrived during this pass
    if result.conflict:
        # Another replica wrote a newer status (a reshard's overlap): pass again from it, so
        # that this generation is recorded as observed and the worker may take over.
        raise kopf.TemporaryError(CONFLICT_MESSAGE, delay=1)
    if result.retry_after is not None:
        raise kopf.TemporaryError("Google asked to retry later (see status)", delay=result.retry_after)


async def wake(*, memo: kopf.Memo, **_: Any) -> None:
    """Every watch event of the object: let its worker look at the annotations again."""
    resource_memory(memo).wake.set()


async def delete(
    *,
    body: kopf.Body,
    name: str,
    namespace: str | None,
    memo: kopf.Memo,
    retry: int,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    """Stop channels, delete copies with ``onDelete: deleteCopies``, then let kopf release us."""
    ctx, mem = operator_context(memo), resource_memory(memo)
    obj = ObjectRef.of(body, name, namespace)
    try:
        parsed = parse_spec(dict(body.spec))
    except SpecError:
        logger.warning("The spec is invalid: nothing to clean up that the operator can find")
        return
    async with mem.lock:
        result = await tear_down(ctx, mem, obj, parsed)
    ctx.secret_watch.unregister(obj.namespace, name)
    metrics.forget_resource(obj.namespace, name, [source.key for source in parsed.sources])
    metrics.forget_ready(obj.namespace, name)
    for notice in merged(result.notices):
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


def previous_spec(old: Any) -> CalendarSyncSpec | None:
    """The spec before a change. A source removed from the spec must have its channel stopped
    with its own credentials, which only the old spec names when the operator did not sync it
    since it started (e.g. the spec was edited while the operator was down)."""
    if not isinstance(old, Mapping):
        return None
    # The spec-field handler gets the old spec; the resume handler the old essence of the body.
    nested = old.get("spec")
    raw: Mapping[str, Any] = nested if isinstance(nested, Mapping) else old
    try:
        return parse_spec(dict(raw))
    except SpecError:
        return None
