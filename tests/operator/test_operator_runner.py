"""``calsync operator`` as the Deployment runs it: ``runner.serve`` with a kubeconfig, kopf's
liveness probe, the metrics endpoint and the heartbeat, all over real HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from operator_endpoints import Beats, free_port
from operator_harness import PERSONAL, World, condition, eventually, ready, source_status

from calsync_operator.cli.main import main
from calsync_operator.controller.runner import serve
from calsync_operator.kube.login import OperatorLogin


@pytest.fixture
def beats() -> Iterator[Beats]:
    monitor = Beats()
    yield monitor
    monitor.close()


def test_serve_runs_the_operator_with_probe_metrics_and_heartbeat(
    world: World, beats: Beats, tmp_path: Path, all_logs: list[str]
) -> None:
    kubeconfig = world.kube.write_kubeconfig(tmp_path / "kubeconfig")
    settings = replace(
        world.settings,
        health_port=free_port(),
        metrics_port=free_port(),
        heartbeat_url=beats.url,
        heartbeat_interval=0.2,
    )
    stop, started = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(
                serve(
                    settings,
                    OperatorLogin(str(kubeconfig)),
                    namespaces=["default"],
                    stop_flag=stop,
                    ready_flag=started,
                )
            )
        except BaseException as exc:
            failure.append(exc)
            started.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert started.wait(10)
        assert not failure
        world.apply_example()
        obj = world.wait(lambda o: ready(o) and condition(o, "PushActive").get("status") == "True")
        key = source_status(obj, PERSONAL)["key"]

        health = httpx.get(f"http://127.0.0.1:{settings.health_port}/healthz", timeout=5)
        assert health.status_code == 200
        metrics = httpx.get(f"http://127.0.0.1:{settings.metrics_port}/metrics", timeout=5).text
        assert 'calsync_syncs_total{result="ok"}' in metrics
        assert (
            f'calsync_channel_seconds_to_expiry{{name="personal-to-central",namespace="default",source="{key}"}}'
            in metrics
        )
        assert "calsync_google_calls_total" in metrics
        assert (
            'calsync_calendarsync_ready{name="personal-to-central",namespace="default",reason="Synced"} 1.0'
            in metrics
        )
        eventually(lambda: len(beats.paths) >= 2)
        assert beats.paths[0] == "/api/push/kuma-token?status=up&msg=OK"
        world.wait_until_kopf_idle()
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
    assert not failure
    assert "kuma-token" not in "\n".join(all_logs)  # the heartbeat URL's token is never logged


def test_cli_reports_a_bad_setting_with_the_variable_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CALSYNC_FULL_SYNC_INTERVAL_SECONDS", "daily")
    assert main(["operator"]) == 2
    error = capsys.readouterr().err
    assert "CALSYNC_FULL_SYNC_INTERVAL_SECONDS" in error
    assert "integer" in error
