"""``calsync demo --kubeconfig``: the demo's story on a real API server (the session's ``cluster``),
then everything it made deleted: the CalendarSync (its finalizer released by the demo's own
operator), the Secrets, the namespace, and the CRD when the demo applied it.

On the session's own control plane the CRD is removed first, so the demo must apply it (and then
remove it again); on an existing cluster (``CALSYNC_TEST_KUBECONFIG``) the CRD is left as found.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cluster import CRD_NAME, TestCluster

pytestmark = pytest.mark.cluster


def _crd_exists(cluster: TestCluster) -> bool:
    return cluster.kubectl("get", CRD_NAME, check=False).returncode == 0


@pytest.fixture
def crd_absent_on_own_control_plane(cluster: TestCluster) -> Iterator[bool]:
    """Whether the CRD was there before the demo. On the session's own control plane: remove it
    (and anything left holding a finalizer), and put it back afterwards for later tests."""
    if cluster.plane is not None and _crd_exists(cluster):
        for item in cluster.kubectl_json("get", "csync", "--all-namespaces")["items"]:
            meta = item["metadata"]
            if meta.get("finalizers"):
                patch = '{"metadata":{"finalizers":null}}'
                cluster.kubectl(
                    "patch", "csync", meta["name"], "-n", meta["namespace"], "--type=merge", "-p", patch
                )
        cluster.kubectl("delete", CRD_NAME, "--wait=true", "--timeout=60s")
    existed = _crd_exists(cluster)
    yield existed
    if cluster.plane is not None:
        cluster.apply_crd()


def test_demo_runs_on_a_real_cluster_and_deletes_what_it_made(
    cluster: TestCluster, crd_absent_on_own_control_plane: bool, tmp_path: Path
) -> None:
    crd_existed = crd_absent_on_own_control_plane
    # As a production install (`pip install .`: no kmock) runs it: on a real cluster the demo
    # needs no demo extra. None in sys.modules fails kmock's import as a missing package does.
    argv = ["calsync", "demo", "--kubeconfig", str(cluster.kubeconfig), "--no-tty"]
    argv += ["--duration", "120", "--log-file", str(tmp_path / "demo.log")]
    without_kmock = (
        "import runpy, sys; sys.modules['kmock'] = None; "
        f"sys.argv = {argv!r}; runpy.run_module('calsync_operator.cli', run_name='__main__')"
    )
    demo = subprocess.Popen(
        [sys.executable, "-c", without_kmock],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert demo.stdout is not None
        for line in demo.stdout:  # until the story is over, then Ctrl-C as a person would
            lines.append(line.rstrip("\n"))
            if line.rstrip().endswith("story finished"):
                demo.send_signal(signal.SIGINT)
                break
        out, err = demo.communicate(timeout=90)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    lines += out.splitlines()
    text = "\n".join(lines)
    assert demo.returncode == 0, text + err
    assert "5/5 changes arrived in the target" in text
    assert any("csync/personal-to-central: Ready=True" in line for line in lines), text
    found = re.search(r"namespace (calsync-demo-[0-9a-f]{6})", text)
    assert found, text
    namespace = found.group(1)
    assert ("CRD applied" in text) is not crd_existed
    assert f"deleted what the demo made: namespace {namespace}" in text

    # Nothing the demo made is left; a namespace may stay Terminating (no controller-manager).
    assert _crd_exists(cluster) is crd_existed
    left = cluster.kubectl("get", "namespace", namespace, "-o", "json", check=False)
    if left.returncode == 0:
        assert json.loads(left.stdout)["status"]["phase"] == "Terminating"
        assert cluster.kubectl_json("get", "secrets", "-n", namespace)["items"] == []
        if crd_existed:
            assert cluster.kubectl_json("get", "csync", "-n", namespace)["items"] == []
    assert "rt-demo" not in (tmp_path / "demo.log").read_text()  # no refresh token in a log
