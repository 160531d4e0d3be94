"""The operator's log output (docs/design.md §7): ``CALSYNC_LOG_FORMAT``/``CALSYNC_LOG_LEVEL`` through
``OperatorSettings.from_env`` and ``runner.configure_logging``, exactly as ``calsync operator``
sets them up, read back from the process's stderr.

JSON lines must parse one by one (a log pipeline splits on newlines), text is the default, a bad
value stops the start with the variable's name, and the libraries that print HTTP traffic at
DEBUG (Secret bodies, ``Authorization`` headers in a record's ``extra``) stay silent.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import kopf
import pytest
from operator_harness import NAME, NAMESPACE, SENDGRID_KEY, TOKENS, World, ready

from calsync_operator.cli.main import main
from calsync_operator.controller.runner import configure_logging
from calsync_operator.logs import QUIET_LOGGERS
from calsync_operator.settings import OperatorSettings, SettingsError

BODY: kopf.RawBody = {
    "apiVersion": "calsync.dev/v1alpha1",
    "kind": "CalendarSync",
    "metadata": {"name": "team", "namespace": "ns1", "uid": "uid-1"},
}
ACCESS_TOKEN = "ya29.a0-never-logged"
SECRET_JSON = '{"refresh_token": "rt-never-logged", "client_secret": "cs-never-logged"}'


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    named = [logging.getLogger(name) for name in (*QUIET_LOGGERS, "asyncio")]
    saved = [(lg, lg.level, lg.propagate, list(lg.handlers)) for lg in named]
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for lg, lg_level, propagate, lg_handlers in saved:
        lg.setLevel(lg_level)
        lg.propagate = propagate
        lg.handlers[:] = lg_handlers


def setup(env: dict[str, str]) -> None:
    configure_logging(OperatorSettings.from_env(env))


def emit_samples() -> None:
    """A plain module logger, kopf's per-object logger, an exception, and what the quiet
    libraries would print at DEBUG: a Secret read's body, google-auth's request headers."""
    logging.getLogger("calsync_operator.sample").info("plain %s", "line")
    logging.getLogger("calsync_operator.sample").debug("debug detail")
    kopf.ObjectLogger(body=kopf.Body(BODY), settings=kopf.OperatorSettings()).warning("per-object line")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("calsync_operator.sample").exception("failed with a traceback")
    logging.getLogger("kubernetes.client.rest").debug("response body: %s", SECRET_JSON)
    logging.getLogger("google.auth.transport.requests").debug(
        "Making request...",
        extra={"httpRequest": {"method": "GET", "headers": {"Authorization": f"Bearer {ACCESS_TOKEN}"}}},
    )


def json_lines(err: str) -> list[dict[str, Any]]:
    records = []
    for line in err.splitlines():
        record = json.loads(line)  # every line on its own; a traceback stays inside its object
        assert isinstance(record, dict)
        records.append(record)
    return records


def assert_no_secret(err: str, secrets: set[str]) -> None:
    for secret in secrets:
        assert secret not in err
    assert not re.search(r"ya29\.[\w-]+", err)


def test_json_format_writes_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    setup({"CALSYNC_LOG_FORMAT": "json", "CALSYNC_LOG_LEVEL": "DEBUG"})
    emit_samples()
    err = capsys.readouterr().err
    records = json_lines(err)
    for record in records:
        assert {"timestamp", "severity", "message"} <= record.keys()
    by_message = {record["message"]: record for record in records}
    assert by_message["plain line"]["severity"] == "info"
    assert by_message["debug detail"]["severity"] == "debug"  # CALSYNC_LOG_LEVEL=DEBUG
    assert "object" not in by_message["plain line"]
    per_object = by_message["per-object line"]
    assert per_object["severity"] == "warn"
    assert per_object["object"] == {
        "apiVersion": "calsync.dev/v1alpha1",
        "kind": "CalendarSync",
        "name": "team",
        "uid": "uid-1",
        "namespace": "ns1",
    }
    assert "RuntimeError: boom" in by_message["failed with a traceback"]["exc_info"]
    # The quiet libraries printed nothing, so neither the body nor the header reached a line.
    assert not [r for r in records if r["message"] in ("Making request...", f"response body: {SECRET_JSON}")]
    assert_no_secret(err, {"rt-never-logged", "cs-never-logged", ACCESS_TOKEN})


def test_text_is_the_default_and_names_the_object(capsys: pytest.CaptureFixture[str]) -> None:
    setup({})
    emit_samples()
    lines = capsys.readouterr().err.splitlines()
    plain = next(line for line in lines if "plain line" in line)
    assert re.fullmatch(r"\[\d{4}-\d\d-\d\d [\d:,]+\] calsync_operator\.sam \[INFO\s*\] plain line", plain)
    assert not plain.startswith("{")
    assert any(line.endswith("[ns1/team] per-object line") for line in lines)
    assert not [line for line in lines if "debug detail" in line]  # INFO is the default level
    assert_no_secret("\n".join(lines), {"rt-never-logged", "cs-never-logged", ACCESS_TOKEN})


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CALSYNC_LOG_FORMAT": "yaml"}, "CALSYNC_LOG_FORMAT"),
        ({"CALSYNC_LOG_LEVEL": "LOUD"}, "CALSYNC_LOG_LEVEL"),
    ],
)
def test_a_bad_log_setting_is_a_config_error(
    env: dict[str, str], variable: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SettingsError, match=variable):
        OperatorSettings.from_env(env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["operator"]) == 2  # before any logging or cluster access
    error = capsys.readouterr().err
    assert variable in error
    assert "fix the environment variable" in error
    assert "text, json" in error if variable == "CALSYNC_LOG_FORMAT" else "DEBUG, INFO" in error


def test_the_running_operator_logs_json_without_secrets(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    setup({"CALSYNC_LOG_FORMAT": "json", "CALSYNC_LOG_LEVEL": "DEBUG"})
    with world.operator():
        world.apply_example()  # token Secrets with refresh tokens and the OAuth client secret
        world.wait(ready)
    err = capsys.readouterr().err
    records = json_lines(err)
    for record in records:
        assert {"timestamp", "severity", "message"} <= record.keys()
    about_ours = [r for r in records if r.get("object", {}).get("name") == NAME]
    assert about_ours  # kopf's handler lines carry the CalendarSync's reference
    assert all(r["object"]["namespace"] == NAMESPACE for r in about_ours)
    assert_no_secret(err, {*TOKENS.values(), "csecret", SENDGRID_KEY})


def test_the_wake_handlers_success_is_debug_not_half_of_all_info_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """kopf logs "Handler 'wake' succeeded." for every watch event (2-3 per push)."""
    setup({})
    logger = kopf.ObjectLogger(body=kopf.Body(BODY), settings=kopf.OperatorSettings())
    logger.info("Handler 'wake' succeeded.")
    logger.info("Handler 'reconcile' succeeded.")
    lines = capsys.readouterr().err.splitlines()
    assert [line for line in lines if "succeeded" in line] == [lines[-1]]
    assert lines[-1].endswith("[ns1/team] Handler 'reconcile' succeeded.")

    setup({"CALSYNC_LOG_LEVEL": "DEBUG"})
    logger.info("Handler 'wake' succeeded.")
    [line] = [line for line in capsys.readouterr().err.splitlines() if "wake" in line]
    assert "[DEBUG" in line
