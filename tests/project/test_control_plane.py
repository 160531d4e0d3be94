"""The test control plane (``tests/support/controlplane.py``) leaves nothing behind: not after a
Ctrl-C, not after SIGTERM, not when its owner exits without stopping it (``atexit``).

Each case starts a control plane in a child Python process, interrupts or ends that process,
and then checks that etcd and kube-apiserver are gone and that their folder was removed. The
normal end of a ``with`` block is what every cluster test session does (and ``.ci/run`` checks).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from support.controlplane import find_assets

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(find_assets() is None, reason="KUBEBUILDER_ASSETS names no kube-apiserver and etcd"),
]

TESTS = Path(__file__).resolve().parents[1]
OWNER = f"""
import json, sys, time
sys.path.insert(0, {str(TESTS)!r})
from support.controlplane import ControlPlane, find_assets

def report(plane):
    print(json.dumps({{"pids": list(plane.pids.values()), "workdir": str(plane.workdir)}}), flush=True)

if sys.argv[1] == "exit":
    report(ControlPlane(find_assets()).start())
    sys.exit(0)  # no stop(): atexit must do it
with ControlPlane(find_assets()) as plane:
    report(plane)
    time.sleep(300)  # until the test interrupts us
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("ending", ["sigint", "sigterm", "exit"])
def test_control_plane_leaves_no_process_and_no_folder(ending: str) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, ending], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        started = json.loads(owner.stdout.readline())
        assert Path(started["workdir"]).is_dir()
        assert not any(_gone(pid) for pid in started["pids"])
        if ending != "exit":
            owner.send_signal(signal.SIGINT if ending == "sigint" else signal.SIGTERM)
        owner.wait(60)
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
    assert all(_gone(pid) for pid in started["pids"])
    assert not Path(started["workdir"]).exists()
