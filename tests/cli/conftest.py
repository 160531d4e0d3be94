"""Fixtures of the CLI tests: a client-secrets file for the emulator's OAuth endpoints, and a
kubeconfig for the in-memory Kubernetes API (the ``kube`` fixture), as a person would have, and
small loopback HTTP servers for health endpoints and for SendGrid's API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_support import LocalHttp

from calsync_operator.emulator import EmulatorServer
from calsync_operator.kubeemu import ThreadedKubeEmulator


@pytest.fixture
def client_secrets(tmp_path: Path, emulator: EmulatorServer) -> Path:
    """A Desktop-app OAuth client as Google Cloud Console downloads it, pointing at the emulator."""
    path = tmp_path / "client.json"
    path.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": "123-test.apps.googleusercontent.com",
                    "project_id": "calsync-test",
                    "auth_uri": emulator.root_url + "auth",
                    "token_uri": emulator.root_url + "token",
                    "client_secret": "GOCSPX-test-secret",
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    return path


@pytest.fixture
def kubeconfig(tmp_path: Path, kube: ThreadedKubeEmulator) -> Path:
    return kube.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def http_server() -> Iterator[Callable[[int], LocalHttp]]:
    """``http_server(status)`` starts a ``LocalHttp``; all are stopped after the test."""
    started: list[LocalHttp] = []

    def start(status: int = 200) -> LocalHttp:
        server = LocalHttp(status)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
