"""Fixtures of the operator tests; the parts are described in ``operator_harness``.

``world`` is a running Kubernetes API, the Google emulator, the real webhook and a SendGrid
sink, with operator settings pointing at all of them; ``world.operator()`` runs the real kopf
operator (in its own thread) for the duration of a ``with`` block.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from operator_endpoints import MailSink, WebhookThread
from operator_harness import LogKeeper, World, prepare_emulator, settings_for

from calsync_operator.emulator import EmulatorServer
from calsync_operator.kubeemu import ThreadedKubeEmulator


@pytest.fixture
def mail() -> Iterator[MailSink]:
    with MailSink() as sink:
        yield sink


@pytest.fixture
def webhook(kube: ThreadedKubeEmulator) -> Iterator[WebhookThread]:
    with WebhookThread(kube.api_client()) as live:
        yield live


@pytest.fixture
def world(
    kube: ThreadedKubeEmulator, emulator: EmulatorServer, webhook: WebhookThread, mail: MailSink
) -> World:
    return World(kube, prepare_emulator(emulator), webhook, mail, settings_for(emulator, webhook, mail))


@pytest.fixture
def all_logs() -> Iterator[list[str]]:
    """Every log line of every thread during the test, at DEBUG and above."""
    handler = LogKeeper()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
