"""Operator settings from the environment: typed once, errors name the variable."""

from __future__ import annotations

import logging

import pytest

from calsync_operator.mail import Mailer
from calsync_operator.settings import OperatorSettings, SettingsError


def test_defaults() -> None:
    settings = OperatorSettings.from_env({})
    assert settings.webhook_url is None
    assert settings.google.api_root == "https://www.googleapis.com/"
    assert settings.namespaces == ()
    assert settings.health_port == 8080
    assert settings.metrics_port == 9090
    assert Mailer.from_settings(settings) is None


def test_every_documented_variable_is_read() -> None:
    settings = OperatorSettings.from_env(
        {
            "CALSYNC_WEBHOOK_URL": "https://calsync.example.com/push",
            "CALSYNC_GOOGLE_API_ROOT": "http://127.0.0.1:8765",
            "CALSYNC_GOOGLE_TOKEN_URI": "http://127.0.0.1:8765/token",
            "CALSYNC_RATE_PER_MINUTE": "120",
            "SENDGRID_API_KEY": "SG.secret",
            "CALSYNC_SENDGRID_API_HOST": "http://127.0.0.1:9999",
            "CALSYNC_ALERT_FROM": "calsync@example.com",
            "CALSYNC_ALERT_TO": "a@example.com, b@example.com",
            "CALSYNC_HEARTBEAT_URL": "https://kuma.example.com/api/push/x",
            "CALSYNC_NAMESPACES": "team-a,team-b",
            "CALSYNC_LOG_FORMAT": "JSON",
            "CALSYNC_LOG_LEVEL": "debug",
        }
    )
    assert settings.webhook_url == "https://calsync.example.com/push"
    assert settings.google.api_root == "http://127.0.0.1:8765/"
    assert settings.google.token_uri == "http://127.0.0.1:8765/token"
    assert settings.google.rate_per_minute == 120
    assert settings.alert_to == ("a@example.com", "b@example.com")
    assert settings.namespaces == ("team-a", "team-b")
    assert settings.log_format == "json"
    assert settings.log_level == logging.DEBUG
    assert Mailer.from_settings(settings) is not None
    assert "SG.secret" not in repr(settings)
    assert "kuma" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CALSYNC_LOG_FORMAT", "xml"),
        ("CALSYNC_FULL_SYNC_INTERVAL_SECONDS", "10"),
        ("CALSYNC_WEBHOOK_INSECURE_LOOPBACK", "maybe"),
        ("CALSYNC_LOG_LEVEL", "loud"),
        ("CALSYNC_CHANNEL_TTL_SECONDS", "soon"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        OperatorSettings.from_env({name: value})


@pytest.mark.parametrize(
    ("url", "insecure", "problem"),
    [
        ("https://calsync.example.com/push", False, None),
        ("http://calsync.example.com/push", False, "not an https URL"),
        ("http://calsync.example.com/push", True, "not an https URL"),  # loopback only
        ("http://127.0.0.1:8080/push", False, "CALSYNC_WEBHOOK_INSECURE_LOOPBACK"),
        ("http://127.0.0.1:8080/push", True, None),
        ("calsync.example.com/push", False, "not an https URL"),
    ],
)
def test_the_webhook_url_must_be_https(url: str, insecure: bool, problem: str | None) -> None:
    """Google pushes only to https: anything else turns push off (PushActive=False says why)
    at start-up, and the operator keeps syncing by polling."""
    env = {"CALSYNC_WEBHOOK_URL": url, "CALSYNC_WEBHOOK_INSECURE_LOOPBACK": str(insecure).lower()}
    settings = OperatorSettings.from_env(env)

    if problem is None:
        assert (settings.webhook_problem, settings.push_address) == (None, url)
    else:
        assert problem in str(settings.webhook_problem)
        assert settings.push_address is None


def test_the_window_rolls_daily_unless_told_otherwise() -> None:
    assert OperatorSettings.from_env({}).full_sync_interval_seconds == 86400
    hourly = OperatorSettings.from_env({"CALSYNC_FULL_SYNC_INTERVAL_SECONDS": "3600"})
    assert hourly.full_sync_interval_seconds == 3600
