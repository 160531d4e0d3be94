"""``calsync check`` against the in-memory Kubernetes API, real HTTP health endpoints and a
loopback server standing in for SendGrid's API (``CALSYNC_SENDGRID_API_HOST``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cli_support import LocalHttp, unreachable_kubeconfig

from calsync_operator.cli.main import main
from calsync_operator.kubeemu import ThreadedKubeEmulator

EXAMPLE = Path(__file__).parents[2] / "examples" / "calendarsync.yaml"


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_csync(
    kube: ThreadedKubeEmulator, name: str, *, synced_minutes_ago: float, ready: str = "True"
) -> None:
    manifest = yaml.safe_load(EXAMPLE.read_text())
    manifest["metadata"]["name"] = name
    kube.create(manifest)
    set_status(kube, name, synced_minutes_ago=synced_minutes_ago, ready=ready)


def set_status(
    kube: ThreadedKubeEmulator, name: str, *, synced_minutes_ago: float, ready: str = "True"
) -> None:
    status = {
        "conditions": [
            {
                "type": "Ready",
                "status": ready,
                "reason": "Synced" if ready == "True" else "GoogleError",
                "message": "",
                "lastTransitionTime": ago(60),
            }
        ],
        "lastSyncTime": ago(synced_minutes_ago),
    }
    kube.patch("CalendarSync", name, {"status": status}, subresource="status")


def check(kubeconfig: Path, *extra: str) -> list[str]:
    return ["check", "--kubeconfig", str(kubeconfig), *extra]


def test_healthy_system_exits_0_with_a_table(
    kube: ThreadedKubeEmulator,
    kubeconfig: Path,
    http_server: Callable[[int], LocalHttp],
    capsys: pytest.CaptureFixture[str],
) -> None:
    operator, webhook = http_server(200), http_server(200)
    add_csync(kube, "home", synced_minutes_ago=2)

    code = main(
        check(
            kubeconfig, "--operator-url", operator.url + "/healthz", "--webhook-url", webhook.url + "/healthz"
        )
    )

    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("HEALTHY at ")
    assert "default     home   True    Synced   2m ago      15m     ok" in out
    assert operator.requests == [("GET", "/healthz", b"")]


def test_stale_sync_and_dead_webhook_exit_1_with_json(
    kube: ThreadedKubeEmulator,
    kubeconfig: Path,
    http_server: Callable[[int], LocalHttp],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operator, webhook = http_server(200), http_server(503)
    monkeypatch.setenv("CALSYNC_OPERATOR_HEALTH_URL", operator.url + "/healthz")
    monkeypatch.setenv("CALSYNC_WEBHOOK_HEALTH_URL", webhook.url + "/healthz")
    add_csync(kube, "home", synced_minutes_ago=2)
    add_csync(kube, "work", synced_minutes_ago=40)

    code = main(check(kubeconfig, "-o", "json"))

    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["state"] == "unhealthy"
    assert report["problems"] == [
        f"webhook: HTTP 503 ({webhook.url}/healthz)",
        "default/work: last sync 40m ago (limit 15m)",
    ]
    assert [(r["name"], r["healthy"]) for r in report["resources"]] == [("home", True), ("work", False)]


def test_max_age_and_namespace_select_what_is_judged(
    kube: ThreadedKubeEmulator, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_csync(kube, "home", synced_minutes_ago=10)
    kube.create_namespace("other")

    assert main(check(kubeconfig, "--max-age", "5m")) == 1
    assert "last sync 10m ago (limit 5m)" in capsys.readouterr().out
    assert main(check(kubeconfig, "--max-age", "5m", "-n", "other")) == 0
    assert "No CalendarSyncs found." in capsys.readouterr().out


def test_mails_once_per_change_of_state_and_remembers_it_in_a_configmap(
    kube: ThreadedKubeEmulator,
    kubeconfig: Path,
    http_server: Callable[[int], LocalHttp],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sendgrid = http_server(202)
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.secret-key")
    monkeypatch.setenv("CALSYNC_SENDGRID_API_HOST", sendgrid.url)
    monkeypatch.setenv("CALSYNC_ALERT_FROM", "calsync@example.com")
    monkeypatch.setenv("CALSYNC_ALERT_TO", "ops@example.com")
    monkeypatch.setenv("POD_NAMESPACE", "default")
    monkeypatch.setenv("CALSYNC_CHECK_STATE_CONFIGMAP", "calsync-check-state")
    add_csync(kube, "home", synced_minutes_ago=2, ready="False")

    codes = [main(check(kubeconfig)), main(check(kubeconfig))]  # a CronJob, twice
    set_status(kube, "home", synced_minutes_ago=1)
    codes += [main(check(kubeconfig)), main(check(kubeconfig))]

    assert codes == [1, 1, 0, 0]
    mails = sendgrid.mails()
    assert [m["subject"] for m in mails] == ["calsync: unhealthy (1 problem)", "calsync: healthy again"]
    assert "default/home: Ready=False (GoogleError)" in mails[0]["content"][0]["value"]
    assert mails[0]["personalizations"][0]["to"] == [{"email": "ops@example.com"}]
    state = kube.get("ConfigMap", "calsync-check-state", namespace="default")
    assert state["data"]["state"] == "healthy"
    assert "SG.secret-key" not in capsys.readouterr().err


def test_unreachable_cluster_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = unreachable_kubeconfig(tmp_path)

    assert main(check(kubeconfig)) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "calsync: error: cannot reach the Kubernetes API at http://127.0.0.1:9 "
        "to list CalendarSyncs in all namespaces"
    )


def test_the_operators_message_reaches_the_table(
    kube: ThreadedKubeEmulator, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_csync(kube, "home", synced_minutes_ago=1)
    message = 'Secret "work-token" not found in namespace default: run calsync auth --secret work-token'
    kube.patch(
        "CalendarSync",
        "home",
        {
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "False",
                        "reason": "SecretMissing",
                        "message": message,
                        "lastTransitionTime": ago(1),
                    }
                ]
            }
        },
        subresource="status",
    )

    assert main(check(kubeconfig)) == 1
    assert f"  - default/home: Ready=False (SecretMissing): {message}" in capsys.readouterr().out


def test_a_namespace_that_does_not_exist_cannot_be_checked(
    kube: ThreadedKubeEmulator, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_csync(kube, "home", synced_minutes_ago=2)

    code = main(check(kubeconfig, "-n", "no-such-ns"))

    err = capsys.readouterr().err
    assert code == 2  # cannot check: a typo is not a healthy system
    assert "namespace 'no-such-ns' does not exist" in err
    assert main(check(kubeconfig, "-n", "kube-public")) == 0  # empty but real: healthy
