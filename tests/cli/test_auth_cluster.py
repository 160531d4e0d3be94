"""``calsync auth`` on a machine without a browser, writing its Secret into a real API server
(the session's ``cluster``: the envtest control plane, or ``CALSYNC_TEST_KUBECONFIG``)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cli_support import run_auth_headless

from support.cluster import TestCluster

pytestmark = pytest.mark.cluster


def test_headless_auth_writes_the_secret_into_the_cluster(cluster: TestCluster, client_secrets: Path) -> None:
    with cluster.scratch_namespace("calsync-auth") as namespace:
        run = run_auth_headless(
            [
                "auth",
                "--client-secrets",
                str(client_secrets),
                "--secret",
                "personal-token",
                "-n",
                namespace,
                "--kubeconfig",
                str(cluster.kubeconfig),
            ]
        )

        assert run.returncode == 0, run.err
        assert run.err.count(run.url) == 1
        secret = cluster.kubectl_json("get", "secret", "personal-token", "-n", namespace)
    assert secret["metadata"]["labels"]["app.kubernetes.io/part-of"] == "calsync"
    token = json.loads(base64.b64decode(secret["data"]["token.json"]))
    assert token["refresh_token"].startswith("1//emu-")
