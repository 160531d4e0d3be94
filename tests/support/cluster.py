"""Tests against a real Kubernetes cluster: the opt-in switch, ``kubectl`` and a namespace.

The chart and CRD tests both run only with ``CALSYNC_TEST_KUBECONFIG`` pointing at a disposable
cluster (kind, k3s) and ``kubectl`` on PATH, and both work in a namespace of their own that they
delete afterwards; this module is that shared part, so the two skip and clean up alike.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml

KUBECONFIG = os.environ.get("CALSYNC_TEST_KUBECONFIG", "")

# ``pytestmark`` of a module that needs the cluster.
CLUSTER_MARKS = [
    pytest.mark.cluster,
    pytest.mark.skipif(not KUBECONFIG, reason="set CALSYNC_TEST_KUBECONFIG to run against a real cluster"),
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH"),
]


def kubectl(*args: str, stdin: Any = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run kubectl on the test cluster; ``stdin`` is text, or an object sent as YAML.
    With ``check``, a failure raises with kubectl's stderr."""
    text = stdin if stdin is None or isinstance(stdin, str) else yaml.safe_dump(stdin)
    result = subprocess.run(
        ["kubectl", "--kubeconfig", KUBECONFIG, *args],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result


@contextmanager
def scratch_namespace(prefix: str) -> Iterator[str]:
    """A new namespace ``<prefix>-<random>``, deleted on exit without waiting for it to go."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        kubectl("delete", "namespace", name, "--wait=false", check=False)
