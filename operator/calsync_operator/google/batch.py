"""Writes in batches: up to ``batch_size`` calls per HTTP request, one result per op.

A batch only re-sends 401 parts itself (after refreshing the token), so this module re-queues
parts that failed with 429/5xx/rate-limit reasons: tenacity drives rounds, each round sends only
the parts still open and waits (jitter, Retry-After) before the next. Everything written is
idempotent, so a part resent after a lost answer cannot duplicate an event:

- insert-or-restore: 409 means the client-chosen id exists, possibly cancelled (deleted ids stay
  taken), so get it, then update it with ``status: confirmed`` (docs/design.md §4);
- delete: 410 ``deleted`` means it is already gone, which is what we wanted; so does 404, but
  only for an id calsync chose itself (``WriteOp.chosen_id``): a 404 on one of Google's ids
  means the id was wrong, and that is a failure to report, not a success.

Each round takes one rate-limit token per part, and a chunk never exceeds the bucket's burst, so
a batch cannot blow the per-minute quota in one request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from calsync_operator.google import metrics
from calsync_operator.google.ratelimit import TokenBucket
from calsync_operator.google.retry import RetryPolicy, TransportError, error_from_response, retrying
from calsync_operator.google.transport import Transport
from calsync_operator.sync.port import GoogleError, QuotaExhausted, WriteKind, WriteOp, WriteResult
from calsync_operator.sync.reasons import Verdict, decide

log = logging.getLogger("calsync.google")


# What a delete may answer when the event is already gone: 410, and 404 only for an id calsync
# chose itself (a 404 on one of Google's ids means the id was wrong).
_GONE = {True: (404, 410), False: (410,)}


class Stage(StrEnum):
    WRITE = "write"  # the op itself
    RESTORE_GET = "restore-get"  # insert hit 409: read the existing event
    RESTORE_UPDATE = "restore-update"  # ...and bring it back as confirmed


_METHOD = {
    WriteKind.INSERT: "events.insert",
    WriteKind.UPDATE: "events.update",
    WriteKind.PATCH: "events.patch",
    WriteKind.DELETE: "events.delete",
}


@dataclass
class _Part:
    op: WriteOp
    stage: Stage = Stage.WRITE
    result: WriteResult | None = None
    waiting: GoogleError | None = None  # retryable failure: resend in the next round

    @property
    def method(self) -> str:
        if self.stage is Stage.RESTORE_GET:
            return "events.get"
        return "events.update" if self.stage is Stage.RESTORE_UPDATE else _METHOD[self.op.kind]


class _PartsToRetry(GoogleError):
    """Raised at the end of a round that left retryable parts: tenacity waits, then resends."""


class BatchWriter:
    def __init__(
        self,
        service: Any,
        transport: Transport,
        limiter: TokenBucket,
        *,
        batch_uri: str,
        batch_size: int,
        policy: RetryPolicy,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        # Building a Resource costs milliseconds (it generates every method): once per writer.
        self._events = service.events()
        self._transport = transport
        self._limiter = limiter
        self._batch_uri = batch_uri
        self._chunk = max(1, min(batch_size, limiter.capacity))
        self._policy = policy
        self._sleep = sleep

    def write(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """One result per op, in order. Raises only credential-wide ``AuthExpired`` and
        ``QuotaExhausted``; everything else comes back as a failed ``WriteResult``."""
        parts = [_Part(op) for op in ops]
        try:
            retrying(self._policy, "batch", sleep=self._sleep)(self._round, parts)
        except QuotaExhausted:
            raise
        except GoogleError as exc:  # attempts exhausted, or the batch request itself refused
            for part in parts:
                if part.result is None:
                    part.result = WriteResult(part.op, ok=False, error=part.waiting or exc)
        return [part.result or WriteResult(part.op, ok=False) for part in parts]

    def _round(self, parts: list[_Part]) -> None:
        for part in parts:
            part.waiting = None
        ready = [p for p in parts if p.result is None]
        while ready:  # restore stages follow at once, without a back-off
            for start in range(0, len(ready), self._chunk):
                self._send(ready[start : start + self._chunk])
            ready = [p for p in parts if p.result is None and p.waiting is None]
        waiting = [p.waiting for p in parts if p.waiting is not None]
        if waiting:
            first = waiting[0]
            retry_after = max((w.retry_after or 0.0 for w in waiting), default=0.0) or None
            raise _PartsToRetry(
                first.status, first.reason, f"{len(waiting)} batch parts to resend", retry_after=retry_after
            )

    def _send(self, chunk: list[_Part]) -> None:
        self._limiter.acquire(len(chunk))
        answers: dict[str, tuple[Any, HttpError | None]] = {}

        def collect(request_id: str, response: Any, exception: HttpError | None) -> None:
            answers[request_id] = (response, exception)

        batch = BatchHttpRequest(callback=collect, batch_uri=self._batch_uri)
        for index, part in enumerate(chunk):
            batch.add(self._request(part), request_id=str(index))
        self._transport.execute_batch(batch)
        for index, part in enumerate(chunk):
            if str(index) not in answers:
                part.waiting = TransportError("batch part not answered")
                continue
            response, exception = answers[str(index)]
            if exception is None:
                metrics.GOOGLE_CALLS.labels(method=part.method, code="200").inc()
                self._succeeded(part, response)
            else:
                status = exception.resp.status
                metrics.GOOGLE_CALLS.labels(method=part.method, code=str(status)).inc()
                self._failed(part, error_from_response(status, exception.resp, exception.content))

    def _request(self, part: _Part) -> Any:
        op, events = part.op, self._events
        ids = {"calendarId": op.calendar_id, "eventId": op.event_id}
        if part.stage is Stage.RESTORE_GET:
            return events.get(**ids)
        if part.stage is Stage.RESTORE_UPDATE:
            body = {**(op.body or {}), "id": op.event_id, "status": "confirmed"}
            return events.update(**ids, body=body, sendUpdates=op.send_updates)
        if op.kind is WriteKind.INSERT:
            body = {**(op.body or {}), "id": op.event_id}
            return events.insert(calendarId=op.calendar_id, body=body, sendUpdates=op.send_updates)
        if op.kind is WriteKind.UPDATE:
            return events.update(**ids, body=dict(op.body or {}), sendUpdates=op.send_updates)
        if op.kind is WriteKind.PATCH:
            return events.patch(**ids, body=dict(op.body or {}), sendUpdates=op.send_updates)
        return events.delete(**ids, sendUpdates=op.send_updates)

    def _succeeded(self, part: _Part, response: Any) -> None:
        if part.stage is Stage.RESTORE_GET:
            part.stage = Stage.RESTORE_UPDATE
            return
        event = response if isinstance(response, dict) and response else None
        part.result = WriteResult(part.op, ok=True, event=event)

    def _failed(self, part: _Part, error: GoogleError) -> None:
        verdict = decide(error.status, error.reason)
        if verdict is Verdict.QUOTA:
            raise error  # the whole credential is out of quota: stop sending
        if verdict is Verdict.RETRY:
            part.waiting = error
        elif part.stage is Stage.WRITE and part.op.kind is WriteKind.INSERT and error.status == 409:
            log.info("insert %s: id taken (409), restoring it", part.op.event_id)
            part.stage = Stage.RESTORE_GET
        elif part.op.kind is WriteKind.DELETE and error.status in _GONE[part.op.chosen_id]:
            part.result = WriteResult(part.op, ok=True)
        else:
            part.result = WriteResult(part.op, ok=False, error=error)
