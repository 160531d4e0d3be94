"""The four conditions of a CalendarSync, decided from what the passes found (pure).

A pass records problems per Secret (credentials), per source (a sync that stopped, a channel
that could not be opened, a tripped delete guard). ``decide_conditions`` turns the latest
knowledge about every source into ``Authenticated``, ``PushActive``, ``DeleteGuard`` and
``Ready`` with cert-manager semantics (``conditions.set_condition``): messages say what to do,
the transition time moves only on a flip.

Ready's reason is the most urgent problem: the user must act on credentials before anything
else can work (a target that cannot be read blames the target, once, not every source), quota
and Google errors clear by themselves, writes that failed after retries (``WriteFailed``, from
``status.sources[].failedWrites``: they stay until they succeed, so Ready does not flap), and
a guard waits for a decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from calsync_operator.api.conditions import (
    AuthenticatedReason,
    Condition,
    ConditionType,
    DeleteGuardReason,
    PushActiveReason,
    ReadyReason,
    set_condition,
)

_V = TypeVar("_V")


@dataclass(frozen=True)
class Problems:
    """Everything known to be wrong, each message already naming its fix."""

    credentials: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # secret → (reason, message)
    sync: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # source key → (Ready reason, message)
    channels: Mapping[str, str] = field(default_factory=dict)  # source key → message
    guards: Mapping[str, str] = field(default_factory=dict)  # source key → message
    writes: Mapping[str, str] = field(default_factory=dict)  # source key → failed writes, summarised


@dataclass(frozen=True)
class Situation:
    """What the spec and the operator's configuration say about this CalendarSync."""

    sources: int
    suspended: bool = False
    dry_run: bool = False
    push_enabled: bool = True
    webhook_url_set: bool = True
    webhook_problem: str | None = None  # the URL is set but Google cannot push there (not https)
    channels_live: int = 0


def decide_conditions(
    previous: Sequence[Mapping[str, Any]] | None,
    situation: Situation,
    problems: Problems,
    *,
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    conditions = [dict(c) for c in previous or ()]

    def put(type_: str, status: bool, reason: str, message: str) -> None:
        nonlocal conditions
        conditions = set_condition(conditions, type_, status, reason, message, generation, now)

    credential = _first(problems.credentials)
    if credential is not None:
        reason, message = credential
        put(ConditionType.AUTHENTICATED, False, reason, _with_more(message, problems.credentials))
    else:
        put(ConditionType.AUTHENTICATED, True, AuthenticatedReason.TOKEN_VALID, "Every token Secret works.")

    put(ConditionType.PUSH_ACTIVE, *_push(situation, problems))

    guard = _first(problems.guards)
    if guard is not None:
        put(ConditionType.DELETE_GUARD, True, DeleteGuardReason.TOO_MANY_DELETES, guard)
    else:
        put(ConditionType.DELETE_GUARD, False, DeleteGuardReason.TOO_MANY_DELETES, "")

    put(ConditionType.READY, *_ready(situation, problems, credential, guard))
    return conditions


def _push(situation: Situation, problems: Problems) -> tuple[bool, str, str]:
    if situation.suspended:
        return False, PushActiveReason.SUSPENDED, "Suspended: no push channels."
    if situation.dry_run:
        # A chosen mode, not an error: a dry run writes nothing to Google, channels included.
        return False, PushActiveReason.DRY_RUN, "spec.dryRun is true: no push channels are opened."
    if not situation.push_enabled:
        return False, PushActiveReason.PUSH_DISABLED, "spec.push.enabled is false: changes arrive by polling."
    if not situation.webhook_url_set:
        return (
            False,
            PushActiveReason.NO_WEBHOOK_URL,
            "The operator has no CALSYNC_WEBHOOK_URL: set it (helm value operator.webhookUrl, or "
            "cloudflared.hostname / ingress.host) to get changes within a second; until then changes "
            "arrive by polling.",
        )
    if situation.webhook_problem is not None:
        return False, PushActiveReason.WEBHOOK_URL_NOT_HTTPS, situation.webhook_problem
    channel_error = _first(problems.channels)
    if channel_error is not None:
        return False, PushActiveReason.CHANNEL_ERROR, _with_more(channel_error, problems.channels)
    if situation.channels_live < situation.sources:
        why = (
            "fix the credentials first (see Authenticated)"
            if problems.credentials
            else "channels are opened on the next pass"
        )
        return (
            False,
            PushActiveReason.CHANNEL_ERROR,
            f"{situation.channels_live} of {situation.sources} source(s) have a live push channel: {why}.",
        )
    return (
        True,
        PushActiveReason.CHANNELS_ACTIVE,
        f"Every source has a live push channel ({situation.channels_live}).",
    )


def _ready(
    situation: Situation,
    problems: Problems,
    credential: tuple[str, str] | None,
    guard: str | None,
) -> tuple[bool, str, str]:
    if situation.suspended:
        return (
            False,
            ReadyReason.SUSPENDED,
            "spec.suspend is true: nothing is synced. Set it to false to resume.",
        )
    if credential is not None:
        return False, credential[0], _with_more(credential[1], problems.credentials)
    for reason in (ReadyReason.TARGET_ERROR, ReadyReason.QUOTA_EXCEEDED, ReadyReason.GOOGLE_ERROR):
        failing = {key: value for key, value in problems.sync.items() if value[0] == reason}
        first = _first(failing)
        if first is not None:
            return False, reason, _with_more(first[1], failing)
    first_write = _first(problems.writes)
    if first_write is not None:
        return False, ReadyReason.WRITE_FAILED, _with_more(first_write, problems.writes)
    if guard is not None:
        return False, ReadyReason.DELETE_GUARD, guard
    if situation.dry_run:
        return (
            False,
            ReadyReason.DRY_RUN,
            "spec.dryRun is true: the plan is in status.plan; nothing is written.",
        )
    return True, ReadyReason.SYNCED, f"{situation.sources} source(s) in sync."


def _first(items: Mapping[str, _V]) -> _V | None:
    return items[min(items)] if items else None


def _with_more(message: str, items: Mapping[str, Any]) -> str:
    return message if len(items) <= 1 else f"{message} (and {len(items) - 1} more)"
