"""Status conditions of a CalendarSync, as plain data (docs/design.md §2).

The helpers follow cert-manager's rules so that ``kubectl get`` and alerts can answer "since
when": ``lastTransitionTime`` moves only when a condition's status flips, never when only its
reason or message changes. ``DeleteGuard`` exists only while it is true, so setting it to false
removes it. Everything is pure: conditions in, a new list out, the clock passed in. Callers
write the result into ``status.conditions`` (a list-map keyed by ``type`` in the CRD).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

Condition = dict[str, Any]
ConditionStatus = Literal["True", "False", "Unknown"]

TRUE: ConditionStatus = "True"
FALSE: ConditionStatus = "False"
UNKNOWN: ConditionStatus = "Unknown"


class ConditionType(StrEnum):
    READY = "Ready"
    AUTHENTICATED = "Authenticated"
    PUSH_ACTIVE = "PushActive"
    DELETE_GUARD = "DeleteGuard"  # present only while true


class ReadyReason(StrEnum):
    SYNCED = "Synced"
    INVALID_SPEC = "InvalidSpec"
    AUTH_EXPIRED = "AuthExpired"
    SECRET_MISSING = "SecretMissing"
    GOOGLE_ERROR = "GoogleError"
    TARGET_ERROR = "TargetError"
    WRITE_FAILED = "WriteFailed"
    QUOTA_EXCEEDED = "QuotaExceeded"
    SUSPENDED = "Suspended"
    DELETE_GUARD = "DeleteGuard"
    DRY_RUN = "DryRun"


class AuthenticatedReason(StrEnum):
    TOKEN_VALID = "TokenValid"
    AUTH_EXPIRED = "AuthExpired"
    SECRET_MISSING = "SecretMissing"


class PushActiveReason(StrEnum):
    CHANNELS_ACTIVE = "ChannelsActive"
    PUSH_DISABLED = "PushDisabled"
    NO_WEBHOOK_URL = "NoWebhookURL"
    WEBHOOK_URL_NOT_HTTPS = "WebhookURLNotHTTPS"
    CHANNEL_ERROR = "ChannelError"
    SUSPENDED = "Suspended"
    DRY_RUN = "DryRun"


class DeleteGuardReason(StrEnum):
    TOO_MANY_DELETES = "TooManyDeletes"


# Conditions are kept in this order, so the list reads the same in every status.
_ORDER: tuple[str, ...] = tuple(ConditionType)
# Types that exist only while their status is True.
_ONLY_WHILE_TRUE: frozenset[str] = frozenset({ConditionType.DELETE_GUARD})


def format_time(now: datetime) -> str:
    """RFC 3339 in UTC with second precision, as Kubernetes writes ``metav1.Time``."""
    if now.tzinfo is None:
        raise ValueError("condition times need an aware datetime (e.g. datetime.now(UTC))")
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_status(status: bool | ConditionStatus) -> ConditionStatus:
    if isinstance(status, bool):
        return TRUE if status else FALSE
    if status not in (TRUE, FALSE, UNKNOWN):
        raise ValueError(f"condition status must be True, False or Unknown, not {status!r}")
    return status


def get_condition(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> Condition | None:
    """A copy of the condition of this type, or None."""
    for condition in conditions or ():
        if condition.get("type") == type_:
            return dict(condition)
    return None


def condition_status(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> ConditionStatus | None:
    condition = get_condition(conditions, type_)
    return None if condition is None else _as_status(condition.get("status", UNKNOWN))


def is_true(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> bool:
    return condition_status(conditions, type_) == TRUE


# Ready=False reasons that are states the user chose, not failures.
CHOSEN_STATES = frozenset({ReadyReason.SUSPENDED, ReadyReason.DRY_RUN})


def failing(conditions: Sequence[Mapping[str, Any]] | None) -> bool:
    """Ready is False for a failure, not for a state the user chose (suspended, dry run): the one
    definition that the operator's alerts and ``calsync check`` share."""
    ready = get_condition(conditions, ConditionType.READY)
    return (
        ready is not None
        and condition_status(conditions, ConditionType.READY) == FALSE
        and ready.get("reason") not in CHOSEN_STATES
    )


def set_condition(
    conditions: Sequence[Mapping[str, Any]] | None,
    type_: str,
    status: bool | ConditionStatus,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    """Return the conditions with ``type_`` set; the input is not modified.

    ``lastTransitionTime`` is ``now`` for a new condition or a status flip, otherwise kept.
    A false ``DeleteGuard`` is removed instead of stored.
    """
    new_status = _as_status(status)
    if type_ in _ONLY_WHILE_TRUE and new_status != TRUE:
        return remove_condition(conditions, type_)
    previous = get_condition(conditions, type_)
    if previous is not None and previous.get("status") == new_status and previous.get("lastTransitionTime"):
        transition_time = str(previous["lastTransitionTime"])
    else:
        transition_time = format_time(now)
    updated: Condition = {
        "type": str(type_),
        "status": new_status,
        "reason": str(reason),
        "message": message,
        "lastTransitionTime": transition_time,
    }
    if generation is not None:
        updated["observedGeneration"] = generation
    others = [dict(c) for c in conditions or () if c.get("type") != type_]
    return _ordered([*others, updated])


def remove_condition(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> list[Condition]:
    return [dict(c) for c in conditions or () if c.get("type") != type_]


def _ordered(conditions: list[Condition]) -> list[Condition]:
    def rank(condition: Condition) -> tuple[int, str]:
        type_ = str(condition.get("type", ""))
        return (_ORDER.index(type_) if type_ in _ORDER else len(_ORDER), type_)

    return sorted(conditions, key=rank)
