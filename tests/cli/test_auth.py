"""``calsync auth`` end to end: google-auth-oauthlib's flow against the emulator's OAuth
endpoints (``GET /auth`` approves at once), the Secret written into the in-memory Kubernetes
API through the official client and a kubeconfig. The browser is the only stand-in: an HTTP
client that follows the consent URL like a person clicking "Allow"."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cli_support import run_auth_headless, unreachable_kubeconfig

from calsync_operator.auth.command import execute
from calsync_operator.cli.main import build_parser, main
from calsync_operator.emulator import EmulatorServer
from calsync_operator.errors import CliError
from calsync_operator.google.client import GoogleCalendarClient
from calsync_operator.google.endpoints import GoogleSettings
from calsync_operator.kubeemu import ThreadedKubeEmulator


class Browser:
    """Follows the consent URL in a thread, as the browser does while the flow waits for it."""

    def __init__(self) -> None:
        self.visited: list[str] = []
        self.threads: list[threading.Thread] = []
        self.final_status: list[int] = []

    def __call__(self, url: str) -> None:
        self.visited.append(url)

        def visit() -> None:
            response = httpx.get(url, follow_redirects=True, timeout=10)
            self.final_status.append(response.status_code)

        thread = threading.Thread(target=visit, daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(10)


def auth_argv(client_secrets: Path, secret: str, *options: str) -> list[str]:
    """``calsync auth`` for one Secret, as a person types it, plus ``options``."""
    return ["auth", "--client-secrets", str(client_secrets), "--secret", secret, *options]


def token_in_secret(kube: ThreadedKubeEmulator, name: str, key: str = "token.json") -> dict[str, Any]:
    secret = kube.get("Secret", name, namespace="default")
    assert secret["metadata"]["labels"]["app.kubernetes.io/part-of"] == "calsync"
    token: dict[str, Any] = json.loads(base64.b64decode(secret["data"][key]))
    return token


def test_local_server_flow_creates_the_secret_with_a_working_token(
    kube: ThreadedKubeEmulator,
    emulator: EmulatorServer,
    client_secrets: Path,
    kubeconfig: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    browser = Browser()
    args = build_parser().parse_args(
        auth_argv(client_secrets, "personal-token", "--kubeconfig", str(kubeconfig))
    )

    assert execute(args, show_url=browser) == 0
    browser.join()

    assert browser.final_status == [200]  # the flow's local page: "calsync has its token"
    assert browser.visited[0].startswith(emulator.root_url + "auth?")
    assert "scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcalendar" in browser.visited[0]
    token = token_in_secret(kube, "personal-token")
    assert token["refresh_token"].startswith("1//emu-")
    assert token["token_uri"] == emulator.root_url + "token"
    assert token["scopes"] == ["https://www.googleapis.com/auth/calendar"]
    # The stored JSON is what the operator loads: it reads a calendar with it.
    client = GoogleCalendarClient.from_token_json(
        json.dumps(token), source="test", settings=GoogleSettings(api_root=emulator.root_url)
    )
    try:
        assert client.list_events("primary").events == []  # the consenting user's own calendar
    finally:
        client.close()
    out = capsys.readouterr()
    assert 'Secret "personal-token" created in namespace default' in out.out
    assert token["refresh_token"] not in out.out + out.err
    assert token["token"] not in out.out + out.err


def test_updating_keeps_the_other_keys_of_the_secret(
    kube: ThreadedKubeEmulator, client_secrets: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kube.create_namespace("calsync")
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "work-token", "namespace": "calsync"},
            "data": {
                "note": base64.b64encode(b"keep me").decode(),
                "work.json": base64.b64encode(b"old").decode(),
            },
        }
    )
    args = build_parser().parse_args(
        auth_argv(
            client_secrets,
            "work-token",
            "-n",
            "calsync",
            "--key",
            "work.json",
            "--kubeconfig",
            str(kubeconfig),
        )
    )

    assert execute(args, show_url=Browser()) == 0

    secret = kube.get("Secret", "work-token", namespace="calsync")
    assert base64.b64decode(secret["data"]["note"]) == b"keep me"
    assert json.loads(base64.b64decode(secret["data"]["work.json"]))["refresh_token"].startswith("1//emu-")
    assert secret["metadata"]["labels"] == {"app.kubernetes.io/part-of": "calsync"}
    assert 'Secret "work-token" updated in namespace calsync (key work.json)' in capsys.readouterr().out


def test_console_flow_prints_the_manifest_with_o_yaml(emulator: EmulatorServer, client_secrets: Path) -> None:
    """The real console script: the URL and the prompt on stderr, the redirect address pasted on
    stdin, and nothing but the manifest on stdout (so ``> secret.yaml`` or ``| kubectl apply -f -``
    works while the person still sees the URL)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "calsync_operator.cli",
            *auth_argv(client_secrets, "central-token", "-n", "calsync", "--no-browser", "-o", "yaml"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "KUBECONFIG": "/nonexistent"},  # -o yaml never needs a cluster
    )
    watchdog = threading.Timer(60, process.kill)  # a blocked read below ends, and the test fails
    watchdog.start()
    try:
        assert process.stderr is not None
        url = ""
        while not url:
            line = process.stderr.readline()
            assert line, "no sign-in URL on stderr"
            url = line.strip() if line.strip().startswith("http") else ""
        # The consent page answers with a redirect to http://127.0.0.1/?code=...&state=..., which
        # a real browser cannot load: the person copies that address from the address bar.
        landed = httpx.get(url, follow_redirects=False, timeout=10).headers["location"]
        out, err = process.communicate(landed + "\n", timeout=30)
    finally:
        watchdog.cancel()
        process.kill()  # a failed assertion above must not leave it waiting on stdin

    assert process.returncode == 0, err
    assert out.startswith("---\n")
    manifest = yaml.safe_load(out)
    assert manifest["kind"] == "Secret"
    assert manifest["metadata"] == {
        "name": "central-token",
        "namespace": "calsync",
        "labels": {"app.kubernetes.io/part-of": "calsync"},
    }
    token = json.loads(base64.b64decode(manifest["data"]["token.json"]))
    assert token["refresh_token"].startswith("1//emu-")
    assert token["refresh_token"] not in err


def test_denied_consent_is_one_line_and_a_hint(
    client_secrets: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("http://localhost/?error=access_denied\n"))

    code = main(auth_argv(client_secrets, "x", "--no-browser", "-o", "yaml"))

    err = capsys.readouterr().err
    assert code == 2
    assert "Paste the address your browser ended on" in err  # the URL and prompt: stderr too
    assert err.splitlines()[-2:] == [
        "calsync: error: Google sign-in did not grant access (access_denied)",
        "hint: run calsync auth again and click Allow; with an app in Testing, add your account as a "
        "test user (docs/google-cloud.md)",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not JSON"),
        ('{"web": {"client_id": "x"}}', "lacks client_secret, auth_uri, token_uri"),
        ('{"service_account": {}}', 'has no "installed" (or "web") client'),
    ],
)
def test_a_bad_client_file_fails_before_anything_else(
    tmp_path: Path, content: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "client.json"
    if content is not None:
        path.write_text(content)

    code = main(auth_argv(path, "x", "--kubeconfig", "/nonexistent"))

    lines = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len(lines) == 2
    assert message in lines[0]
    assert lines[1].startswith("hint: download it from Google")


def test_no_kubeconfig_fails_before_the_browser_opens(
    client_secrets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    browser = Browser()
    args = build_parser().parse_args(
        auth_argv(client_secrets, "x", "--kubeconfig", str(tmp_path / "missing"))
    )

    with pytest.raises(CliError, match="no usable Kubernetes configuration") as caught:
        execute(args, show_url=browser)

    assert browser.visited == []
    assert "-o yaml" in (caught.value.hint or "")


def test_unreachable_cluster_is_one_line(
    client_secrets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = unreachable_kubeconfig(tmp_path)

    code = main(auth_argv(client_secrets, "x", "--kubeconfig", str(kubeconfig)))

    lines = capsys.readouterr().err.splitlines()
    assert code == 2
    assert lines == [
        "calsync: error: cannot reach the Kubernetes API at http://127.0.0.1:9 to read Secret default/x",
        "hint: is the cluster running? `kubectl get namespaces` should work with the same kubeconfig",
    ]


def test_a_missing_namespace_is_named_before_the_browser_opens(
    client_secrets: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    browser = Browser()
    args = build_parser().parse_args(
        auth_argv(client_secrets, "x", "-n", "nowhere", "--kubeconfig", str(kubeconfig))
    )

    with pytest.raises(CliError, match="namespace 'nowhere' does not exist") as caught:
        execute(args, show_url=browser)

    assert browser.visited == []
    assert caught.value.hint == "create it first: kubectl create namespace nowhere"


def test_headless_machine_prints_the_url_once_and_completes_on_the_redirect(
    kube: ThreadedKubeEmulator, emulator: EmulatorServer, client_secrets: Path, kubeconfig: Path
) -> None:
    """The real console script on a machine without a browser (as on a server): the URL is
    printed once, the local server waits for Google's redirect, and the Secret is written."""
    run = run_auth_headless(auth_argv(client_secrets, "personal-token", "--kubeconfig", str(kubeconfig)))

    assert run.returncode == 0, run.err
    assert run.redirect_status == 200  # the local server answered the redirect
    assert run.err.count(run.url) == 1
    assert "Traceback" not in run.err
    assert "--no-browser" in run.err  # what to do from another machine
    assert 'Secret "personal-token" created in namespace default' in run.out
    assert token_in_secret(kube, "personal-token")["refresh_token"].startswith("1//emu-")
