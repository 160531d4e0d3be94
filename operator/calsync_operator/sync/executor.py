"""Applies a Plan through ``CalendarClient.write``, in phases, and keeps the copy index true.

Phases make the ordering guarantees that a single Google batch cannot (items of one batch run
in any order): (1) copies of single events and series masters, and invites; (2) occurrences
of copied series, which need their series to exist; (3) deletions of originals
(``sourceCleanup: delete``), each only when every write it depends on came back confirmed in
an earlier phase of this pass. Within a phase, writes go to the adapter in chunks of up to
1,000 calls (it sends each in batch requests no larger than its rate limiter's burst);
``between_batches`` is called after every chunk (progress reporting, cancellation).

Per-operation failures are results, not exceptions. The copy index is updated from confirmed
results only, so an aborted pass leaves it describing exactly what was written.

Occurrences of copied series are planned by occurrence key (``identity.occurrence_key``):
Google's ids for them are opaque, so before phase (2) the executor finds each one it does not
know yet with ``events.instances`` on the copied series and the original start, once, and the
copy index remembers it. An occurrence that cannot be found fails with 404 ``notFound``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from calsync_operator.api.names import split_occurrence_key
from calsync_operator.api.status import Counts
from calsync_operator.sync.copyindex import CopyIndex, index_key
from calsync_operator.sync.planner import OpKind, Plan, PlannedOp
from calsync_operator.sync.port import CalendarClient, GoogleError, QuotaExhausted, WriteKind, WriteOp

MAX_BATCH = 1000  # Google's limit of calls per batch request
# From this many occurrences of one series to look up, one listing of the series is cheaper.
SERIES_LOOKUP_FROM = 3


@dataclass(frozen=True)
class OpResult:
    op: PlannedOp
    ok: bool
    error: GoogleError | None = None  # None on a failure: not attempted (its copy was not confirmed)


@dataclass
class ExecutionReport:
    results: list[OpResult] = field(default_factory=list)

    def succeeded(self, kind: OpKind) -> int:
        return sum(1 for r in self.results if r.ok and r.op.kind is kind)

    @property
    def failures(self) -> list[OpResult]:
        return [r for r in self.results if not r.ok]

    @property
    def retryable_failures(self) -> int:
        """Failures a later pass may fix: the caller must not advance its sync token past them."""
        return sum(1 for r in self.failures if r.error is None or r.error.retryable)

    @property
    def counts(self) -> Counts:
        return Counts(
            created=self.succeeded(OpKind.INSERT) + self.succeeded(OpKind.INVITE),
            updated=self.succeeded(OpKind.UPDATE),
            deleted=self.succeeded(OpKind.DELETE),
            skipped=sum(1 for r in self.results if r.op.kind is OpKind.SKIP),
        )

    def error_summary(self) -> str | None:
        """One line for ``status.sources[].lastError`` (Google's reason codes only: no content)."""
        failures = self.failures
        if not failures:
            return None
        first = failures[0]
        what = first.error if first.error is not None else "its copy was not confirmed"
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return f"{first.op.kind} of event {first.op.source_event_id} failed: {what}{more}"


class PlanExecutor:
    """Runs one Plan for one (source, target) pair; ``index`` is updated in place from the
    confirmed writes. A client may be None when the plan cannot need it: the target's for
    invite delivery, the source's when only copies are removed."""

    def __init__(
        self,
        *,
        source_client: CalendarClient | None,
        target_client: CalendarClient | None,
        source_calendar_id: str,
        target_calendar_id: str,
        index: CopyIndex,
        batch_size: int = MAX_BATCH,
        between_batches: Callable[[], None] | None = None,
    ) -> None:
        self.source_client, self.target_client = source_client, target_client
        self.source_calendar_id, self.target_calendar_id = source_calendar_id, target_calendar_id
        self.index = index
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.between_batches = between_batches
        self.report = ExecutionReport()
        self.confirmed: set[str] = set()

    def run(self, plan: Plan) -> ExecutionReport:
        skips = [op for op in plan.ops if op.kind is OpKind.SKIP]
        self.report.results.extend(OpResult(op, ok=True) for op in skips)
        copies = [op for op in plan.ops if op.kind in (OpKind.INSERT, OpKind.UPDATE, OpKind.DELETE)]
        invites = plan.of(OpKind.INVITE)
        self.phase([op for op in copies if not op.on_instance], self.target_client)
        self.phase(invites, self.source_client)
        self.phase(self.found_occurrences([op for op in copies if op.on_instance]), self.target_client)
        ready: list[PlannedOp] = []
        for op in plan.of(OpKind.DELETE_SOURCE):
            if all(key in self.confirmed for key in op.requires):
                ready.append(op)
            else:
                self.report.results.append(OpResult(op, ok=False))
        self.phase(ready, self.source_client)
        return self.report

    def phase(self, ops: Sequence[PlannedOp], client: CalendarClient | None) -> None:
        if not ops:
            return
        if client is None:
            raise ValueError(f"{ops[0].kind} planned for a calendar without a client (credentials)")
        for start in range(0, len(ops), self.batch_size):
            chunk = ops[start : start + self.batch_size]
            results = client.write([self.write_op(op) for op in chunk])
            for op, result in zip(chunk, results, strict=True):
                self.record(op, result.ok, result.error)
            if self.between_batches is not None:
                self.between_batches()

    def found_occurrences(self, ops: Sequence[PlannedOp]) -> list[PlannedOp]:
        """The occurrence ops whose target occurrence is known or found now; the others fail."""
        unknown: dict[str, list[str]] = {}  # master copy id → occurrence keys to look up
        for op in ops:
            parts = split_occurrence_key(op.copy_id)
            if parts is not None and self.index.target_id(op.copy_id) is None:
                unknown.setdefault(parts[0], []).append(op.copy_id)
        errors: dict[str, GoogleError] = {}
        for master_copy_id, keys in unknown.items():
            try:
                self.look_up(master_copy_id, keys)
            except QuotaExhausted:
                raise
            except GoogleError as exc:
                errors.update(dict.fromkeys(keys, exc))
        ready: list[PlannedOp] = []
        for op in ops:
            if self.index.target_id(op.copy_id) is not None:
                ready.append(op)
                continue
            missing = GoogleError(404, "notFound", "no occurrence of the copied series starts there")
            self.report.results.append(OpResult(op, ok=False, error=errors.get(op.copy_id, missing)))
        return ready

    def look_up(self, master_copy_id: str, keys: Sequence[str]) -> None:
        """One ``events.instances`` call per occurrence, or one for the whole series when several
        of its occurrences are wanted (cancelled ones included: a restore needs their id)."""
        if self.target_client is None:
            return
        calendar_id = self.target_calendar_id
        if len(keys) >= SERIES_LOOKUP_FROM:
            found = self.target_client.instances(calendar_id, master_copy_id, show_deleted=True)
        else:
            found = []
            for key in keys:
                original_start = (split_occurrence_key(key) or ("", ""))[1]
                found += self.target_client.instances(
                    calendar_id, master_copy_id, original_start=original_start, show_deleted=True
                )
        wanted = set(keys)
        for occurrence in found:
            found_key = index_key(occurrence)
            if found_key is not None and found_key in wanted:
                self.index.record_found(found_key, str(occurrence["id"]))

    def occurrence_id(self, op: PlannedOp) -> str:
        return (self.index.target_id(op.copy_id) or "") if op.on_instance else ""

    def write_op(self, op: PlannedOp) -> WriteOp:
        target = self.target_calendar_id
        if op.on_instance and op.kind in (OpKind.UPDATE, OpKind.DELETE):
            occurrence = self.occurrence_id(op)
            if op.kind is OpKind.DELETE:
                return WriteOp(WriteKind.DELETE, target, occurrence)
            return WriteOp(WriteKind.UPDATE, target, occurrence, {**(op.body or {}), "id": occurrence})
        match op.kind:
            case OpKind.INSERT:
                return WriteOp(WriteKind.INSERT, target, op.copy_id, op.body, chosen_id=True)
            case OpKind.UPDATE:
                return WriteOp(WriteKind.UPDATE, target, op.copy_id, op.body, chosen_id=True)
            case OpKind.DELETE:
                return WriteOp(WriteKind.DELETE, target, op.copy_id, chosen_id=True)
            case OpKind.INVITE:
                return WriteOp(WriteKind.PATCH, self.source_calendar_id, op.source_event_id, op.body)
            case OpKind.DELETE_SOURCE:
                return WriteOp(WriteKind.DELETE, self.source_calendar_id, op.source_event_id)
        raise ValueError(f"nothing to write for a {op.kind} operation")

    def record(self, op: PlannedOp, ok: bool, error: GoogleError | None) -> None:
        self.report.results.append(OpResult(op, ok, error))
        if not ok:
            return
        self.confirmed.add(op.key)
        occurrence = self.occurrence_id(op)
        if op.kind in (OpKind.INSERT, OpKind.UPDATE) and op.body is not None:
            self.index.record_written(op.copy_id, op.source_event_id, dict(op.body), occurrence)
        elif op.kind is OpKind.DELETE and op.on_instance:
            self.index.record_cancelled(op.copy_id, op.source_event_id, occurrence)
        elif op.kind is OpKind.DELETE:
            self.index.record_deleted(op.copy_id)
