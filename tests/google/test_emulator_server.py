"""The emulator as a product: in-process lifecycle, ``calsync emulator``, the OAuth code flow."""

from __future__ import annotations

import socket
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from emulator_client import calendar_service, timed
from google_auth_oauthlib.flow import Flow

from calsync_operator.emulator import EmulatorServer


async def test_usable_from_async_code() -> None:
    async with EmulatorServer() as emu, httpx.AsyncClient() as client:
        response = await client.get(emu.root_url)

    assert response.status_code == 200
    assert response.json()["root"] == emu.root_url


def test_start_stop_pair_and_separate_state() -> None:
    first, second = EmulatorServer().start(), EmulatorServer().start()
    try:
        first.create_calendar("a@example.com")
        calendar_service(first).events().insert(calendarId="a@example.com", body=timed(1)).execute()

        assert len(first.events("a@example.com")) == 1
        assert second.events("a@example.com") == []
        assert first.root_url != second.root_url
    finally:
        first.stop()
        second.stop()


def test_cli_prints_the_root_url_and_serves() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "calsync_operator.cli",
            "emulator",
            "--port",
            "0",
            "--log-level",
            "warning",
            "--calendar",
            "team@example.com",
            "--instance-ids",
            "legacy",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        root = first_line.rsplit(" ", 1)[-1].strip()

        response = httpx.get(root + "_emulator/counters")
        calendars = httpx.get(root + "_emulator/calendars").json()["items"]

        assert first_line.startswith("Google Calendar emulator listening on http://127.0.0.1:")
        assert response.status_code == 200
        assert calendars == ["team@example.com"]  # created at start-up; any other id is 404
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_reports_a_busy_port_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = subprocess.run(
            [sys.executable, "-m", "calsync_operator.cli", "emulator", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"calsync: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert result.stdout == ""


def test_authorization_code_flow_with_google_auth_oauthlib(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # oauthlib refuses http:// token URIs otherwise
    client_config = {
        "installed": {
            "client_id": "cid",
            "client_secret": "csecret",
            "auth_uri": emulator.root_url + "auth",
            "token_uri": emulator.root_url + "token",
            "redirect_uris": ["http://localhost"],
        }
    }
    flow = Flow.from_client_config(
        client_config,
        scopes=["https://www.googleapis.com/auth/calendar"],
        redirect_uri="http://localhost:1/",
    )
    url, state = flow.authorization_url(access_type="offline", prompt="consent")

    consent = httpx.get(url)  # the emulator approves at once and redirects back
    query = parse_qs(urlsplit(consent.headers["location"]).query)
    flow.fetch_token(code=query["code"][0])
    service = calendar_service(emulator, refresh_token=flow.credentials.refresh_token)

    assert consent.status_code == 302
    assert query["state"] == [state]
    assert flow.credentials.refresh_token
    assert service.events().list(calendarId="primary").execute()["items"] == []
