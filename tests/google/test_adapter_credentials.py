"""Token JSON parsing and settings: the errors name the Secret and the fix, never its values."""

from __future__ import annotations

import json

import pytest

from calsync_operator.errors import SettingsError
from calsync_operator.google.credentials import GOOGLE_TOKEN_URI, ManagedCredentials, TokenJsonInvalid
from calsync_operator.google.endpoints import GoogleSettings

SOURCE = 'Secret "team/src-a" key "token.json"'


def token_json(**overrides: object) -> str:
    data: dict[str, object] = {
        "client_id": "cid.apps.googleusercontent.com",
        "client_secret": "very-secret",
        "refresh_token": "rt-secret-value",
        "token_uri": "http://127.0.0.1:9/token",
        "scopes": ["https://www.googleapis.com/auth/calendar"],
    }
    data.update(overrides)
    return json.dumps({k: v for k, v in data.items() if v is not None})


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "is not a JSON object"),
        (token_json(refresh_token=None, client_secret=None), "has no client_secret, refresh_token"),
    ],
)
def test_a_bad_token_json_names_the_secret_and_the_fix(raw: str, complaint: str) -> None:
    with pytest.raises(TokenJsonInvalid) as caught:
        ManagedCredentials(raw, source=SOURCE)
    message = str(caught.value)
    assert message.startswith(SOURCE)
    assert complaint in message
    assert "calsync auth" in message
    assert "very-secret" not in message


def test_token_uri_override_then_json_then_google() -> None:
    override = ManagedCredentials(token_json(), source=SOURCE, token_uri="http://emulator/token")
    assert override.credentials.token_uri == "http://emulator/token"
    assert ManagedCredentials(token_json(), source=SOURCE).credentials.token_uri == "http://127.0.0.1:9/token"
    plain = ManagedCredentials(token_json(token_uri=None), source=SOURCE)
    assert plain.credentials.token_uri == GOOGLE_TOKEN_URI


def test_nothing_to_write_back_before_a_rotation() -> None:
    creds = ManagedCredentials(token_json(), source=SOURCE)
    assert creds.rotated_token_json() is None
    assert not creds.refused


def test_auth_expired_message_carries_the_fix() -> None:
    message = str(ManagedCredentials(token_json(), source=SOURCE).auth_expired())
    assert SOURCE in message
    assert "calsync auth" in message
    assert "7 days" in message
    assert "rt-secret-value" not in message


def test_settings_from_env_derive_every_google_url() -> None:
    settings = GoogleSettings.from_env(
        {
            "CALSYNC_GOOGLE_API_ROOT": "http://127.0.0.1:8765",
            "CALSYNC_GOOGLE_TOKEN_URI": "http://127.0.0.1:8765/token",
            "CALSYNC_RATE_PER_MINUTE": "120",
        }
    )
    assert settings.calendar_endpoint == "http://127.0.0.1:8765/calendar/v3/"
    assert settings.batch_uri == "http://127.0.0.1:8765/batch/calendar/v3"
    assert (settings.token_uri, settings.rate_per_minute, settings.batch_size) == (
        "http://127.0.0.1:8765/token",
        120,
        1000,
    )
    assert GoogleSettings.from_env({}).batch_uri == "https://www.googleapis.com/batch/calendar/v3"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CALSYNC_RATE_PER_MINUTE": "fast"}, "CALSYNC_RATE_PER_MINUTE"),
        ({"CALSYNC_RATE_PER_MINUTE": "0"}, "CALSYNC_RATE_PER_MINUTE"),
        ({"CALSYNC_GOOGLE_BATCH_SIZE": "5000"}, "CALSYNC_GOOGLE_BATCH_SIZE"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        GoogleSettings.from_env(env)
