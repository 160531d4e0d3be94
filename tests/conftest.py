"""Shared fixtures for every test area.

``kube`` — a fresh in-memory Kubernetes API server per test (``calsync_operator.kubeemu``, kmock
based; see docs/testing.md). It runs in its own thread, so sync code (the official ``kubernetes``
client), async tests and kopf (in its own thread) can all use it without blocking each other.
Namespaces ``default``, ``kube-system``, ``kube-public``, ``kube-node-lease`` exist and the
CalendarSync CRD from ``crds/calendarsync.yaml`` is installed (schema pruning and defaults on)::

    def test_x(kube):
        kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "src-a"},
                     "stringData": {...}})                      # namespace "default" unless given
        obj = kube.get("CalendarSync", "demo", namespace="default")
        kube.patch("CalendarSync", "demo", {"status": {...}}, subresource="status")
        kube.wait_for("CalendarSync", "demo", lambda o: o and o.get("status"), timeout=10)
        client = kube.api_client()            # kubernetes.client.ApiClient for this server
        kube.write_kubeconfig(tmp_path / "kubeconfig")          # for kubectl / load_kube_config
        with run_operator(kube, registry=my_registry) as op:   # kopf, in its own thread
            ...

    from calsync_operator.kubeemu import run_operator

Fault injection goes through kmock's DSL on ``kube.server`` (reactions win over the store):
``kube.server["patch", kube.server.resource("calsync.dev", "v1alpha1", "calendarsyncs")] << 500``.

``cluster`` — a real Kubernetes API for the whole session (``support.cluster``): a control plane
started from ``KUBEBUILDER_ASSETS``, or the cluster of ``CALSYNC_TEST_KUBECONFIG``; tests that
use it are skipped when there is neither. Mark such tests ``cluster``: the summary at the end
counts how many ran, so a run where they silently skipped shows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _pytest.terminal import TerminalReporter

from calsync_operator.emulator import EmulatorServer
from calsync_operator.kubeemu import ThreadedKubeEmulator
from support.cluster import SKIP_REASON, TestCluster, open_cluster


@pytest.fixture
def kube() -> Iterator[ThreadedKubeEmulator]:
    """A running in-memory Kubernetes API server with the CalendarSync CRD (see module docstring)."""
    with ThreadedKubeEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def _emulator_server() -> Iterator[EmulatorServer]:
    # One server per session: starting uvicorn costs ~0.2 s, a reset costs nothing.
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def emulator(_emulator_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """The Google Calendar emulator (docs/emulator.md) over real HTTP, empty for every test:
    ``emulator.root_url``, ``token_json()``, ``inject_fault()``, ``counters``, ``events()``..."""
    _emulator_server.reset()
    yield _emulator_server
    _emulator_server.reset()


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[TestCluster]:
    """The session's real Kubernetes API (see ``support.cluster``); skips without one."""
    with open_cluster() as found:
        if found is None:
            pytest.skip(SKIP_REASON)
        request.config.stash[_CLUSTER_ORIGIN] = found.origin
        yield found


_CLUSTER_ORIGIN = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    """One line: how many ``cluster`` tests passed, failed and were skipped, and on what."""
    counts: dict[str, int] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        reports = terminalreporter.stats.get(outcome, [])
        seen = {r.nodeid for r in reports if "cluster" in getattr(r, "keywords", {})}
        if seen:
            counts[outcome] = len(seen)
    if not counts:
        return
    origin = terminalreporter.config.stash.get(_CLUSTER_ORIGIN, "none")
    parts = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
    terminalreporter.write_sep("=", f"cluster tests: {parts} (cluster: {origin})")
