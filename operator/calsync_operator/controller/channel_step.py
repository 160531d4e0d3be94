"""The channel part of a pass for one source: apply ``channels.decide_channels`` through Google.

Kept apart from the sync step because its failures mean something else: a channel that cannot
be opened only costs latency (the poll still syncs), so it turns ``PushActive`` false and the
sync goes on. ``AuthExpired`` is not caught here: the caller maps it to the Secret.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from calsync_operator import metrics
from calsync_operator.api.conditions import format_time
from calsync_operator.controller.rules.notices import (
    EVENT_CHANNEL_CREATED,
    EVENT_CHANNEL_RENEWED,
    EVENT_CHANNEL_STOPPED,
    Notice,
)
from calsync_operator.controller.rules.status import SourceStatus
from calsync_operator.settings import OperatorSettings
from calsync_operator.sync.channels import (
    ChannelRecord,
    channel_lifetime,
    close_channel,
    decide_channels,
    open_channel,
    retire_deadline,
)
from calsync_operator.sync.port import CalendarClient, GoogleError

logger = logging.getLogger(__name__)


@dataclass
class ChannelTimes:
    """Channel timing that status does not carry (see ``state.ResourceMemory``)."""

    created: dict[str, datetime] = field(default_factory=dict)  # channel id → when we opened it
    retire_at: dict[str, datetime] = field(default_factory=dict)  # previous channel id → overlap end


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
    notices: list[Notice] = []
    if previous is not None and previous.expiration <= now:
        previous = None  # Google already stopped delivering it: nothing to stop
    lifetime = (
        channel_lifetime(current, times.created.get(current.id), settings.channel_ttl_seconds)
        if current is not None
        else float(settings.channel_ttl_seconds)
    )
    decision = decide_channels(
        now=now,
        wanted=wanted,
        current=current,
        previous=previous,
        lifetime_seconds=lifetime,
        renew_fraction=settings.channel_renew_fraction,
        previous_retire_at=times.retire_at.get(previous.id) if previous is not None else None,
    )
    error: str | None = None
    if decision.stop_previous and previous is not None and await _stop(client, previous, entry, notices):
        times.retire_at.pop(previous.id, None)
        times.created.pop(previous.id, None)
        previous = None
    if decision.stop_current and current is not None and await _stop(client, current, entry, notices):
        times.created.pop(current.id, None)
        current = None
    if decision.create:
        address = settings.push_address or ""
        try:
            opened = await asyncio.to_thread(
                open_channel,
                client,
                entry.calendar_id,
                address=address,
                ttl_seconds=settings.channel_ttl_seconds,
            )
        except GoogleError as exc:
            error = f"Cannot open a push channel for source {entry.calendar_id}: {exc}"
            logger.warning("%s", error)
        else:
            times.created[opened.id] = now
            renewed = decision.retire_current and current is not None and current.expiration > now
            if renewed and current is not None:
                previous = current
                times.retire_at[current.id] = retire_deadline(now, settings.channel_overlap_seconds)
            current = opened
            kind = "renewed" if renewed else "created"
            metrics.CHANNEL_OPERATIONS.labels(kind=kind).inc()
            notices.append(
                Notice(
                    "Normal",
                    EVENT_CHANNEL_RENEWED if renewed else EVENT_CHANNEL_CREATED,
                    f"Push channel {opened.id} for source {entry.calendar_id} "
                    f"{'replaces the expiring one' if renewed else 'is live'}; "
                    f"expires {format_time(opened.expiration)}",
                )
            )
    return ChannelStepResult(replace(entry, channel=current, previous_channel=previous), notices, error)


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
