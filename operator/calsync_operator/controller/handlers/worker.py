"""The per-CalendarSync sync worker: a kopf daemon that runs passes when something is due.

kopf timers take one fixed interval per handler, but every CalendarSync has its own
``pollInterval``; and pushes must coalesce (N pushes during a pass → one more pass, not N).
A daemon per object does both: it sleeps until woken (every watch event of its object, a
Secret change) or until its next deadline (poll, retry, end of a channel overlap), then asks
``rules.triggers.next_request`` what is pending, runs that one pass under the object's lock, and
loops. Its ``body`` is kopf's live view, so it always sees the latest annotations.
Status is written by the pass itself (kopf applies a daemon's patch only when it exits).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import kopf

from calsync_operator.api.spec import CalendarSyncSpec, SpecError
from calsync_operator.controller.memory import (
    OperatorContext,
    ResourceMemory,
    operator_context,
    resource_memory,
)
from calsync_operator.controller.rules.pass_request import ObjectRef, PassRequest
from calsync_operator.controller.rules.triggers import Observed, next_deadline, next_request
from calsync_operator.controller.sync_pass import run_pass

# On deletion or shutdown the worker gets this long to finish its pass before kopf cancels it
# (then the sync thread stops after its current batch: see source_step).
CANCELLATION_BACKOFF = 5.0


async def sync_worker(
    *,
    body: kopf.Body,
    name: str,
    namespace: str | None,
    memo: kopf.Memo,
    stopped: kopf.DaemonStopped,
    **_: Any,
) -> None:
    ctx, mem = operator_context(memo), resource_memory(memo)
    namespace = namespace or ""

    def on_secret(secret: str, version: str) -> None:
        # Before the first pass (a restart: kopf lists every Secret while 1,000 first passes
        # queue for a slot), that pass reads the Secrets anyway: no second pass for them.
        if mem.full_pass_done and mem.clients.outdated(secret, version):
            mem.secrets_changed = True
            mem.wake.set()

    try:
        while not stopped:
            mem.wake.clear()  # before looking, so a wake-up during the pass is not lost
            try:
                parsed = mem.spec(body.spec)
            except SpecError:
                parsed = None  # the reconcile handler reported it; wait for the next spec
            if parsed is not None:
                ctx.secret_watch.register(namespace, name, parsed.secret_names(), on_secret)
            ran = (
                parsed is not None
                and mem.full_pass_done
                and await _pass_if_due(ctx, mem, body, name, namespace)
            )
            if not ran:
                await _sleep(ctx, mem, stopped, parsed, body.status)
    finally:
        ctx.secret_watch.unregister(namespace, name)


async def _pass_if_due(
    ctx: OperatorContext,
    mem: ResourceMemory,
    body: kopf.Body,
    name: str,
    namespace: str,
) -> bool:
    """Run the pending pass, if any; True when one ran."""
    async with mem.lock:
        obj = ObjectRef.of(body, name, namespace)
        current = mem.current_status(obj.status)
        if current.get("observedGeneration") != obj.generation:
            return False  # the spec changed: the reconcile handler goes first and wakes us
        try:
            parsed = mem.spec(body.spec)  # the live spec, now that we hold the lock
        except SpecError:
            return False

        def pending() -> PassRequest | None:
            now = ctx.now()
            observed = Observed(parsed, dict(body.meta.annotations), current)
            return next_request(observed, mem.signals(current, now), now)

        if pending() is None:
            return False
        async with ctx.pass_slots:
            request = pending()  # asked again with a slot: pushes that came meanwhile join in
            if request is None:
                return False
            mem.secrets_changed = False
            lookup = ctx.secret_watch.lookup
            result = await run_pass(ctx, mem, obj, parsed, request, lookup, retry_here=True)
        if result.conflict:
            mem.wake.set()  # another replica's newer status is in memory: look again from it
        return True


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
        deadline = next_deadline(mem.signals(current, ctx.now()))
        timeout = max(0.0, (deadline - ctx.now()).total_seconds()) if deadline is not None else None
    waits = [asyncio.ensure_future(mem.wake.wait()), asyncio.ensure_future(stopped.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
