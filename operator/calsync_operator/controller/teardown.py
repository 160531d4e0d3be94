"""What happens when a CalendarSync is deleted, before kopf releases ``calsync.dev/finalizer``.

Channels are stopped so Google stops pushing for a resource that no longer exists (bounded
retries: a channel that cannot be stopped expires by itself within its lifetime, so deletion
never waits on Google for long). With ``onDelete: deleteCopies`` every copy of every source is
deleted from the target — found by the same tag listing that rebuilds the copy index, so
copies written before a restart are found too. A retryable failure of the copy deletion asks
kopf to retry (bounded by the handler's ``retries``); anything else is reported and deletion
proceeds.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from calsync_operator.api.spec import CalendarSyncSpec, Delivery, OnDelete, Source
from calsync_operator.api.status import SourceStatus, sources_by_key
from calsync_operator.controller.clients import CredentialProblem
from calsync_operator.controller.memory import OperatorContext, ResourceMemory
from calsync_operator.controller.rules.notices import Notice
from calsync_operator.controller.rules.pass_request import ObjectRef, PassRequest
from calsync_operator.controller.source_step import PassScope
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.sync.copyindex import is_occurrence_key
from calsync_operator.sync.engine import load_copy_index
from calsync_operator.sync.port import AuthExpired, GoogleError, WriteKind, WriteOp

logger = logging.getLogger(__name__)


@dataclass
class TeardownResult:
    notices: list[Notice] = field(default_factory=list)
    copies_deleted: int = 0
    problems: list[str] = field(default_factory=list)  # what could not be cleaned up, and why
    retry: bool = False  # a retryable failure: worth another attempt


async def tear_down(
    ctx: OperatorContext, mem: ResourceMemory, obj: ObjectRef, spec: CalendarSyncSpec
) -> TeardownResult:
    result = TeardownResult()
    scope = PassScope(ctx, mem, obj, spec, PassRequest(reason="delete"), ctx.secret_watch.lookup, ctx.now())
    recorded = sources_by_key(mem.current_status(obj.status))
    # Sources are independent: stop their channels concurrently, so a slow Google costs one
    # source's retries, not the sum over every source.
    await asyncio.gather(
        *(
            _stop_channels(scope, source, entry, result)
            for source in spec.sources
            if (entry := recorded.get(source.key)) is not None and entry.channels()
        )
    )
    target_ref = spec.target.credentials
    if spec.on_delete is OnDelete.DELETE_COPIES and spec.delivery is Delivery.COPY and target_ref:
        target = await scope.client(target_ref)
        if isinstance(target, CredentialProblem):
            result.problems.append(str(target))
        else:
            for source in spec.sources:
                await _delete_copies(target, spec.target.calendar_id, source.calendar_id, result)
    mem.clients.clear()
    return result


async def _stop_channels(
    scope: PassScope, source: Source, entry: SourceStatus, result: TeardownResult
) -> None:
    client = await scope.client(source.credentials)
    if isinstance(client, CredentialProblem):
        result.problems.append(str(client))
        return
    step = await scope.stop_channels(source.credentials, entry)
    if step is None:
        result.problems.append(f"channels of source {source.calendar_id}: Google refused the token")
        return
    result.notices += step.notices
    if step.entry.channels():
        result.problems.append(f"channels of source {source.calendar_id} could not be stopped (they expire)")


async def _delete_copies(
    target: GoogleCalendarClient, target_calendar_id: str, source_calendar_id: str, result: TeardownResult
) -> None:
    try:
        index = await asyncio.to_thread(load_copy_index, target, target_calendar_id, source_calendar_id)
        # Deleting a copied series deletes its occurrences: only top-level copies are deleted.
        ops = [
            WriteOp(WriteKind.DELETE, target_calendar_id, copy_id, chosen_id=True)
            for copy_id, _entry in index.live_copies()
            if not is_occurrence_key(copy_id)
        ]
        written = await asyncio.to_thread(target.write, ops) if ops else []
    except AuthExpired:
        result.problems.append(f"copies of {source_calendar_id}: Google refused the target's token")
        return
    except GoogleError as exc:
        result.problems.append(f"copies of {source_calendar_id}: {exc}")
        result.retry = result.retry or exc.retryable
        return
    failed = [r for r in written if not r.ok]
    result.copies_deleted += len(written) - len(failed)
    if failed:
        result.problems.append(
            f"{len(failed)} copies of {source_calendar_id} were not deleted: {failed[0].error}"
        )
        result.retry = result.retry or any(r.error is None or r.error.retryable for r in failed)
    logger.info("Deleted %d copies of %s from the target", len(written) - len(failed), source_calendar_id)
