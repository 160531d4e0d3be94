"""Validation of Google's push headers and of the channel token (docs/design.md §3, §5).

Pure functions on plain strings, so every rejection rule is tested without a server. The token
check compares hashes with ``hmac.compare_digest``: the time it takes must not tell a forger how
many leading characters were right. Status stores only sha256(token), so the webhook never
holds a channel token either.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from calsync_operator.api.names import token_hash

CHANNEL_ID_HEADER = "x-goog-channel-id"
CHANNEL_TOKEN_HEADER = "x-goog-channel-token"
MESSAGE_NUMBER_HEADER = "x-goog-message-number"
RESOURCE_STATE_HEADER = "x-goog-resource-state"

# Google documents these states; "sync" is the handshake sent when a channel is created.
RESOURCE_STATES = frozenset({"sync", "exists", "not_exists"})
SYNC_STATE = "sync"
MAX_CHANNEL_ID_LENGTH = 64  # Google's limit for channel ids
MAX_MESSAGE_NUMBER_DIGITS = 20


class HeaderError(ValueError):
    """The request is not a well-formed Google push: answered with 400, message says why."""


@dataclass(frozen=True)
class PushHeaders:
    channel_id: str
    resource_state: str
    message_number: int
    token: str | None  # absent when the channel was created without one (never by calsync)

    @property
    def is_sync(self) -> bool:
        return self.resource_state == SYNC_STATE


def parse_push_headers(headers: Mapping[str, str]) -> PushHeaders:
    """Read the headers calsync relies on; ``headers`` must look keys up case-insensitively
    (Starlette's ``Headers`` does) or use lower-case keys."""
    channel_id = _required(headers, CHANNEL_ID_HEADER)
    if len(channel_id) > MAX_CHANNEL_ID_LENGTH:
        raise HeaderError(f"X-Goog-Channel-ID is longer than {MAX_CHANNEL_ID_LENGTH} characters")
    state = _required(headers, RESOURCE_STATE_HEADER)
    if state not in RESOURCE_STATES:
        raise HeaderError("X-Goog-Resource-State must be one of " + ", ".join(sorted(RESOURCE_STATES)))
    number = _required(headers, MESSAGE_NUMBER_HEADER)
    if not (number.isascii() and number.isdigit() and len(number) <= MAX_MESSAGE_NUMBER_DIGITS):
        raise HeaderError("X-Goog-Message-Number must be a non-negative integer")
    return PushHeaders(
        channel_id=channel_id,
        resource_state=state,
        message_number=int(number),
        token=headers.get(CHANNEL_TOKEN_HEADER),
    )


def token_matches(token: str | None, expected_hash: str) -> bool:
    """Constant-time check of sha256(token) against the tokenHash stored in status."""
    if token is None or not expected_hash.isascii():
        return False
    return hmac.compare_digest(token_hash(token), expected_hash)


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None or not value.strip():
        raise HeaderError(f"missing header {_display(name)}")
    return value.strip()


def _display(name: str) -> str:
    """``x-goog-channel-id`` → ``X-Goog-Channel-Id``, close to how Google spells it."""
    return "-".join(part.capitalize() for part in name.split("-")).replace("-Id", "-ID")
