"""Header validation and the constant-time token check, without a server."""

from __future__ import annotations

import pytest

from calsync_operator.api.names import token_hash
from calsync_webhook.verify import HeaderError, parse_push_headers, token_matches


def google_headers(**overrides: str | None) -> dict[str, str]:
    headers: dict[str, str | None] = {
        "x-goog-channel-id": "chan-1",
        "x-goog-channel-token": "s3cret",
        "x-goog-message-number": "42",
        "x-goog-resource-id": "res-1",
        "x-goog-resource-state": "exists",
        "x-goog-resource-uri": "https://www.googleapis.com/calendar/v3/calendars/a/events",
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}


def test_a_complete_push_parses() -> None:
    parsed = parse_push_headers(google_headers())
    assert (parsed.channel_id, parsed.resource_state, parsed.message_number, parsed.token) == (
        "chan-1",
        "exists",
        42,
        "s3cret",
    )
    assert not parsed.is_sync


def test_sync_handshake_is_recognised() -> None:
    assert parse_push_headers(google_headers(**{"x-goog-resource-state": "sync"})).is_sync


def test_token_is_optional_at_parse_time() -> None:
    assert parse_push_headers(google_headers(**{"x-goog-channel-token": None})).token is None


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        ("x-goog-channel-id", None, "missing header X-Goog-Channel-ID"),
        ("x-goog-channel-id", "  ", "missing header X-Goog-Channel-ID"),
        ("x-goog-channel-id", "x" * 65, "longer than 64"),
        ("x-goog-resource-state", None, "missing header X-Goog-Resource-State"),
        ("x-goog-resource-state", "deleted", "must be one of exists, not_exists, sync"),
        ("x-goog-message-number", None, "missing header X-Goog-Message-Number"),
        ("x-goog-message-number", "-1", "non-negative integer"),
        ("x-goog-message-number", "١٢", "non-negative integer"),  # non-ASCII digits
        ("x-goog-message-number", "9" * 21, "non-negative integer"),
    ],
)
def test_malformed_headers_are_rejected_with_the_reason(header: str, value: str | None, message: str) -> None:
    with pytest.raises(HeaderError, match=message):
        parse_push_headers(google_headers(**{header: value}))


def test_token_matches_its_hash_only() -> None:
    expected = token_hash("s3cret")
    assert token_matches("s3cret", expected)
    assert not token_matches("s3cret ", expected)
    assert not token_matches("S3cret", expected)
    assert not token_matches("", expected)
    assert not token_matches(None, expected)


def test_a_non_ascii_stored_hash_never_matches() -> None:
    # compare_digest raises TypeError on non-ASCII str; a corrupt status must not crash a push.
    assert not token_matches("s3cret", "é" * 64)
