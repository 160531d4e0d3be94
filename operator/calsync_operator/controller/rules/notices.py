"""What a condition change tells people: Kubernetes Events and alert mails (docs/design.md §3, §7).

Pure functions of the conditions before and after a pass. Both kinds of notice are sent on
transitions only — a CalendarSync that stays broken for a week produces one Event and one mail,
not one per poll — and both carry the condition's message, which already says how to fix it.

Mails: one when ``Ready`` becomes False (from True, Unknown or absent), one when it becomes
True again after having been False. Events: ``AuthExpired`` when ``Authenticated`` turns False
for that reason, ``SyncFailed`` when ``Ready`` turns False for any other reason,
``DeleteGuardTripped`` when ``DeleteGuard`` appears, ``Recovered`` when ``Ready`` returns to
True. Channel events (created/renewed/stopped) come from the channel step, not from here.

``merged``: a pass's notices of one reason become one Event (a new CalendarSync's
``ChannelCreated`` names all its sources at once: at 1,000 CalendarSyncs of 2 sources that is
1,000 API writes fewer at start-up), as long as the message fits what an Event shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from calsync_operator.api.conditions import (
    FALSE,
    TRUE,
    AuthenticatedReason,
    ConditionType,
    ReadyReason,
    condition_status,
    failing,
    get_condition,
)
from calsync_operator.api.messages import MailMessage

Conditions = Sequence[Mapping[str, Any]] | None

EVENT_AUTH_EXPIRED = "AuthExpired"
EVENT_SYNC_FAILED = "SyncFailed"
EVENT_DELETE_GUARD = "DeleteGuardTripped"
EVENT_RECOVERED = "Recovered"
EVENT_CHANNEL_CREATED = "ChannelCreated"
EVENT_CHANNEL_RENEWED = "ChannelRenewed"
EVENT_CHANNEL_STOPPED = "ChannelStopped"
EVENT_DELETES_CONFIRMED = "DeletesConfirmed"
EVENT_MESSAGE_LIMIT = 1024  # kopf shortens longer Event messages (cuts out their middle)


@dataclass(frozen=True)
class Notice:
    """One Kubernetes Event to post on the CalendarSync."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


def condition_notices(before: Conditions, after: Conditions) -> list[Notice]:
    """Events for the condition transitions between two passes."""
    notices: list[Notice] = []
    auth_before, auth_after = (
        condition_status(before, ConditionType.AUTHENTICATED),
        condition_status(after, ConditionType.AUTHENTICATED),
    )
    auth = get_condition(after, ConditionType.AUTHENTICATED) or {}
    auth_expired = auth_after == FALSE and auth.get("reason") == AuthenticatedReason.AUTH_EXPIRED
    if auth_expired and auth_before != FALSE:
        notices.append(Notice("Warning", EVENT_AUTH_EXPIRED, str(auth.get("message", ""))))

    ready = get_condition(after, ConditionType.READY) or {}
    if failing(after) and not failing(before):
        reason = str(ready.get("reason", ""))
        # AuthExpired already has its own event; the guard has DeleteGuardTripped below.
        if reason not in (ReadyReason.AUTH_EXPIRED, ReadyReason.DELETE_GUARD):
            notices.append(Notice("Warning", EVENT_SYNC_FAILED, f"{reason}: {ready.get('message', '')}"))
    if recovered(before, after):
        notices.append(Notice("Normal", EVENT_RECOVERED, str(ready.get("message", "")) or "Syncing again."))

    guard = get_condition(after, ConditionType.DELETE_GUARD)
    if guard is not None and condition_status(before, ConditionType.DELETE_GUARD) != TRUE:
        notices.append(Notice("Warning", EVENT_DELETE_GUARD, str(guard.get("message", ""))))
    return notices


def recovered(before: Conditions, after: Conditions) -> bool:
    return failing(before) and condition_status(after, ConditionType.READY) == TRUE


def alert_mail(before: Conditions, after: Conditions, *, namespace: str, name: str) -> MailMessage | None:
    """The mail for a ``Ready`` transition into or out of failure, or None."""
    ready = get_condition(after, ConditionType.READY) or {}
    reason = str(ready.get("reason", ""))
    message = str(ready.get("message", ""))
    where = f"CalendarSync {namespace}/{name}"
    if failing(after) and not failing(before):
        return MailMessage(
            subject=f"[calsync] {where} is not syncing: {reason}",
            body=(
                f"{where} stopped syncing.\n\n"
                f"Reason: {reason}\n"
                f"What to do: {message}\n\n"
                f"Details: kubectl describe calendarsync {name} -n {namespace}\n"
                "You will get one more mail when it recovers."
            ),
        )
    if recovered(before, after):
        return MailMessage(
            subject=f"[calsync] {where} recovered",
            body=f"{where} is syncing again.\n\n{message}\n",
        )
    return None


def merged(notices: Sequence[Notice], limit: int = EVENT_MESSAGE_LIMIT) -> list[Notice]:
    """``notices`` with the messages of each (type, reason) joined into one notice, in the order
    of their first appearance; a message that would grow past ``limit`` starts a new notice."""
    groups: list[Notice] = []
    open_group: dict[tuple[str, str], int] = {}  # (type, reason) → index in groups
    for notice in notices:
        key = (notice.type, notice.reason)
        index = open_group.get(key)
        if index is not None:
            joined = f"{_sentence(groups[index].message)} {notice.message}"
            if len(joined) <= limit:
                groups[index] = Notice(notice.type, notice.reason, joined)
                continue
        open_group[key] = len(groups)
        groups.append(notice)
    return groups


def _sentence(message: str) -> str:
    return message if message.endswith((".", "!", "?")) else message + "."
