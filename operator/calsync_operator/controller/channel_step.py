"""The channel part of a pass for one source: apply ``channels.decide_channels`` through Google.

Kept apart from the sync step because its failures mean something else: a channel that cannot
be opened only costs latency (the poll still syncs), so it turns ``PushActive`` false and the
sync goes on. ``AuthExpired`` is not caught by ``reconcile_channels``: the caller maps it to the
Secret; ``stop_channels`` (suspension, a removed source, deletion) treats it as "cannot stop".

A channel that cannot be stopped stays recorded until it is stopped or expires: status is the
only place that remembers it, so dropping it would leave Google pushing on it unseen.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from calsync_operator import metrics
from calsync_operator.api.conditions import format_time
from calsync_operator.api.status import ChannelRecord, SourceStatus
from calsync_operator.controller.rules.notices import (
    EVENT_CHANNEL_CREATED,
    EVENT_CHANNEL_RENEWED,
    EVENT_CHANNEL_STOPPED,
    Notice,
)
from calsync_operator.settings import OperatorSettings
from calsync_operator.sync.channels import (
    ChannelDecision,
    channel_lifetime,
    close_channel,
    decide_channels,
    open_channel,
    retire_deadline,
)
from calsync_operator.sync.port import AuthExpired, CalendarClient, GoogleError

logger = logging.getLogger(__name__)


@dataclass
class ChannelTimes:
    """Channel timing that status does not carry (see ``memory.ResourceMemory``), by channel id.
    An entry lives exactly as long as its channel is recorded in status."""

    created: dict[str, datetime] = field(default_factory=dict)  # channel id → when we opened it
    retire_at: dict[str, datetime] = field(default_factory=dict)  # previous channel id → overlap end

    def forget(self, channel_ids: set[str]) -> None:
        for channel_id in channel_ids:
            self.created.pop(channel_id, None)
            self.retire_at.pop(channel_id, None)


@dataclass(frozen=True)
class ChannelStepResult:
    entry: SourceStatus
    notices: list[Notice]
    error: str | None  # a message for PushActive=False, None when the channels are fine


async def reconcile_channels(
    *,
    entry: SourceStatus,
    client: CalendarClient,
    settings: OperatorSettings,
    times: ChannelTimes,
    wanted: bool,
    now: datetime,
) -> ChannelStepResult:
    """Bring one source's channels to what ``decide_channels`` wants; returns the new entry."""
    current, previous = entry.channel, entry.previous_channel
    if previous is not None and previous.expiration <= now:
        previous = None  # Google already stopped delivering it: nothing to stop
    decision = _decide(current, previous, settings, times, wanted=wanted, now=now)
    notices: list[Notice] = []
    if decision.stop_previous and previous is not None and await _stop(client, previous, entry, notices):
        previous = None
    if decision.stop_current and current is not None and await _stop(client, current, entry, notices):
        current = None
    error: str | None = None
    # A renewal makes the current channel the previous one: only once the older one is gone.
    renewing = decision.retire_current and current is not None and current.expiration > now
    if decision.create and renewing and previous is not None:
        logger.warning("Renewal of the channel of %s waits: the older channel is not stopped yet", entry.key)
    elif decision.create:
        opened, error = await _open(client, entry, settings, notices, renewing=renewing)
        if opened is not None:
            times.created[opened.id] = now
            if renewing and current is not None:
                previous = current
                times.retire_at[current.id] = retire_deadline(now, settings.channel_overlap_seconds)
            current = opened
    new_entry = replace(entry, channel=current, previous_channel=previous)
    times.forget({c.id for c in entry.channels()} - {c.id for c in new_entry.channels()})
    return ChannelStepResult(new_entry, notices, error)


async def stop_channels(
    *,
    entry: SourceStatus,
    client: CalendarClient,
    settings: OperatorSettings,
    times: ChannelTimes,
    now: datetime,
) -> ChannelStepResult | None:
    """Stop every channel of the source; None when Google refused the credentials."""
    try:
        return await reconcile_channels(
            entry=entry, client=client, settings=settings, times=times, wanted=False, now=now
        )
    except AuthExpired:
        return None


def _decide(
    current: ChannelRecord | None,
    previous: ChannelRecord | None,
    settings: OperatorSettings,
    times: ChannelTimes,
    *,
    wanted: bool,
    now: datetime,
) -> ChannelDecision:
    lifetime = (
        channel_lifetime(current, times.created.get(current.id), settings.channel_ttl_seconds)
        if current is not None
        else float(settings.channel_ttl_seconds)
    )
    return decide_channels(
        now=now,
        wanted=wanted,
        current=current,
        previous=previous,
        lifetime_seconds=lifetime,
        renew_fraction=settings.channel_renew_fraction,
        previous_retire_at=times.retire_at.get(previous.id) if previous is not None else None,
    )


async def _open(
    client: CalendarClient,
    entry: SourceStatus,
    settings: OperatorSettings,
    notices: list[Notice],
    *,
    renewing: bool,
) -> tuple[ChannelRecord | None, str | None]:
    """The opened channel, or the error message for ``PushActive``."""
    try:
        opened = await asyncio.to_thread(
            open_channel,
            client,
            entry.calendar_id,
            address=settings.push_address or "",
            ttl_seconds=settings.channel_ttl_seconds,
        )
    except GoogleError as exc:
        error = f"Cannot open a push channel for source {entry.calendar_id}: {exc}"
        logger.warning("%s", error)
        return None, error
    metrics.CHANNEL_OPERATIONS.labels(kind="renewed" if renewing else "created").inc()
    notices.append(
        Notice(
            "Normal",
            EVENT_CHANNEL_RENEWED if renewing else EVENT_CHANNEL_CREATED,
            f"Push channel {opened.id} for source {entry.calendar_id} "
            f"{'replaces the expiring one' if renewing else 'is live'}; "
            f"expires {format_time(opened.expiration)}",
        )
    )
    return opened, None


async def _stop(
    client: CalendarClient,
    record: ChannelRecord,
    entry: SourceStatus,
    notices: list[Notice],
) -> bool:
    try:
        await asyncio.to_thread(close_channel, client, record)
    except GoogleError as exc:
        metrics.CHANNEL_OPERATIONS.labels(kind="stop_failed").inc()
        logger.warning("Cannot stop push channel %s of source %s: %s", record.id, entry.calendar_id, exc)
        return False
    metrics.CHANNEL_OPERATIONS.labels(kind="stopped").inc()
    notices.append(
        Notice(
            "Normal",
            EVENT_CHANNEL_STOPPED,
            f"Push channel {record.id} for source {entry.calendar_id} stopped",
        )
    )
    return True
