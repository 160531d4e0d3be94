"""Environment parsing of the webhook's settings."""

from __future__ import annotations

import logging

import pytest

from calsync_webhook.settings import SettingsError, WebhookSettings


def test_defaults() -> None:
    settings = WebhookSettings.from_env({})
    assert settings == WebhookSettings(
        namespaces=(), coalesce_window=0.25, max_body_bytes=1024, log_format="text", log_level=logging.INFO
    )


def test_every_variable_is_read() -> None:
    settings = WebhookSettings.from_env(
        {
            "CALSYNC_NAMESPACES": " team-a, ,team-b ",
            "CALSYNC_COALESCE_WINDOW_MS": "100",
            "CALSYNC_LOG_FORMAT": "JSON",
            "CALSYNC_LOG_LEVEL": "debug",
        }
    )
    assert settings.namespaces == ("team-a", "team-b")
    assert settings.coalesce_window == pytest.approx(0.1)
    assert (settings.log_format, settings.log_level) == ("json", logging.DEBUG)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CALSYNC_COALESCE_WINDOW_MS", "fast"),
        ("CALSYNC_COALESCE_WINDOW_MS", "-1"),
        ("CALSYNC_LOG_FORMAT", "xml"),
        ("CALSYNC_LOG_LEVEL", "loud"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        WebhookSettings.from_env({name: value})
