"""The per-CalendarSync sync worker: a kopf daemon that runs passes when something is due.

kopf timers take one fixed interval per handler, but every CalendarSync has its own
``pollInterval``; and pushes must coalesce (N pushes during a pass → one more pass, not N).
A daemon per object does both: it sleeps until woken (every watch event of its object, a
Secret change) or until its next deadline (poll, retry, end of a channel overlap), then asks
``triggers.next_request`` what is pending, runs that one pass under the object's lock, and
loops. Its ``body``/``meta`` are kopf's live views, so it always sees the latest annotations.
Status is written by the pass itself (kopf applies a daemon's patch only when it exits).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import kopf

from calsync_operator.api.spec import CalendarSyncSpec, SpecError, parse_spec
from calsync_operator.controller.handlers.resource import object_ref, remember_handled, schedule_poll
from calsync_operator.controller.handlers.secrets import index_lookup
from calsync_operator.controller.memory import (
    OperatorContext,
    ResourceMemory,
    operator_context,
    resource_memory,
)
from calsync_operator.controller.rules.status import sources_by_key
from calsync_operator.controller.rules.triggers import Signals, next_deadline, next_request
from calsync_operator.controller.sync_pass import run_pass

# On deletion or shutdown the worker gets this long to finish its pass before kopf cancels it
# (then the sync thread stops after its current batch: see syncpass).
CANCELLATION_BACKOFF = 5.0


async def sync_worker(
    *,
    body: kopf.Body,
    spec: kopf.Spec,
    meta: kopf.Meta,
    status: kopf.Status,
    name: str,
    namespace: str | None,
    memo: kopf.Memo,
    stopped: kopf.DaemonStopped,
    logger: kopf.Logger,
    secret_versions: kopf.Index[tuple[str, str], str] | None = None,  # kopf passes the index
    **_: Any,
) -> None:
    ctx, mem = operator_context(memo), resource_memory(memo)
    namespace = namespace or ""

    def on_secret(secret: str, version: str) -> None:
        if mem.clients.outdated(secret, version):
            mem.secrets_changed = True
            mem.wake.set()

    try:
        while not stopped:
            mem.wake.clear()  # before looking, so a wake-up during the pass is not lost
            try:
                parsed = parse_spec(dict(spec))
            except SpecError:
                parsed = None  # the reconcile handler reported it; wait for the next spec
            if parsed is not None:
                ctx.secret_watch.register(namespace, name, parsed.secret_names(), on_secret)
            ran = (
                parsed is not None
                and mem.full_pass_done
                and await _pass_if_due(
                    ctx, mem, body, spec, meta, status, name, namespace, parsed, secret_versions
                )
            )
            if not ran:
                await _sleep(ctx, mem, stopped, parsed, status)
    finally:
        ctx.secret_watch.unregister(namespace, name)


async def _pass_if_due(
    ctx: OperatorContext,
    mem: ResourceMemory,
    body: kopf.Body,
    spec: kopf.Spec,
    meta: kopf.Meta,
    status: kopf.Status,
    name: str,
    namespace: str,
    parsed: CalendarSyncSpec,
    secret_versions: kopf.Index[tuple[str, str], str] | None,
) -> bool:
    """Run the pending pass, if any; True when one ran."""
    async with mem.lock:
        obj = object_ref(body, meta, status, name, namespace)
        current = mem.current_status(obj.status)
        if current.get("observedGeneration") != obj.generation:
            return False  # the spec changed: the reconcile handler goes first and wakes us
        try:
            parsed = parse_spec(dict(spec))  # the live spec, now that we hold the lock
        except SpecError:
            return False
        request = next_request(
            parsed, dict(meta.annotations), current, _signals(ctx, mem, current), ctx.now()
        )
        if request is None:
            return False
        mem.secrets_changed = False
        result = await run_pass(ctx, mem, obj, parsed, request, index_lookup(secret_versions))
        if result.conflict:
            mem.wake.set()  # another replica's newer status is in memory: look again from it
            return True
        remember_handled(mem, request)
        if request.sources is None:
            schedule_poll(ctx, mem, parsed, first=False)
        retry = result.retry_after
        mem.retry_at = ctx.now() + timedelta(seconds=retry) if retry is not None else None
        return True


def _signals(ctx: OperatorContext, mem: ResourceMemory, status: Mapping[str, Any]) -> Signals:
    retire_at = {}
    for key, entry in sources_by_key(status).items():
        previous = entry.previous_channel
        deadline = mem.channel_times.retire_at.get(previous.id) if previous is not None else None
        if previous is not None:
            # Unknown deadline (the operator restarted): the overlap is long over.
            retire_at[key] = deadline or ctx.now()
    return Signals(
        handled_pushes=mem.handled_pushes,
        handled_request_at=mem.handled_request_at,
        guard_held=bool(mem.guards),
        secrets_changed=mem.secrets_changed,
        next_poll=mem.next_poll,
        retry_at=mem.retry_at,
        retire_at=retire_at,
    )


async def _sleep(
    ctx: OperatorContext,
    mem: ResourceMemory,
    stopped: kopf.DaemonStopped,
    parsed: CalendarSyncSpec | None,
    status: Mapping[str, Any],
) -> None:
    """Until woken, stopped, or the next deadline."""
    timeout = None
    if parsed is not None and mem.full_pass_done:
        current = mem.current_status(status)
        deadline = next_deadline(_signals(ctx, mem, current))
        timeout = max(0.0, (deadline - ctx.now()).total_seconds()) if deadline is not None else None
    waits = [asyncio.ensure_future(mem.wake.wait()), asyncio.ensure_future(stopped.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
