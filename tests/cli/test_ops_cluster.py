"""``calsync status | sync | suspend | resume | confirm-delete`` end to end on a real control
plane, with the operator running and Google = the shipped emulator (``ops_harness``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_support import unreachable_kubeconfig
from ops_harness import CENTRAL, NAME, PERSONAL, OpsWorld, condition, ops_world

from calsync_operator.api.names import CONFIRM_DELETE_ANNOTATION, REQUESTED_AT_ANNOTATION
from calsync_operator.emulator import EmulatorServer
from support.cluster import TestCluster

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def world(cluster: TestCluster, _emulator_server: EmulatorServer) -> Iterator[OpsWorld]:
    _emulator_server.reset()
    cluster.apply_crd()
    with (
        cluster.scratch_namespace("calsync-ops") as namespace,
        ops_world(cluster, _emulator_server, namespace) as found,
    ):
        found.until(lambda o: condition(o, "Ready").get("status") == "True")
        yield found
    _emulator_server.reset()


def error_lines(done: Any) -> list[str]:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith("calsync: error: ")
    assert lines[1].startswith("hint: ")
    return lines


def test_status_shows_conditions_with_their_fixes_sources_and_events(world: OpsWorld) -> None:
    done = world.calsync("status", NAME)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith(f"CalendarSync {world.namespace}/{NAME} -> {CENTRAL}")
    assert "Ready          True    Synced" in text
    assert "PushActive     False   NoWebhookURL" in text  # no webhook URL: the message says the fix
    assert f"Source {PERSONAL} (key " in text
    assert "  last sync     20" in text
    assert "  last push     never" in text
    assert "  counts        created " in text
    assert "\nEvents: none\n" in text or "\nEvents (latest first):\n" in text

    as_json = json.loads(world.calsync("status", NAME, "-o", "json").stdout)
    as_yaml = yaml.safe_load(world.calsync("status", NAME, "-o", "yaml").stdout)
    # The same facts either way (times may move between the two calls: compare the stable ones).
    assert as_yaml.keys() == as_json.keys()
    assert (as_yaml["namespace"], as_yaml["name"], as_yaml["target"]) == (world.namespace, NAME, CENTRAL)
    assert [c["type"] for c in as_yaml["conditions"]] == [
        "Ready",
        "Authenticated",
        "PushActive",
        "DeleteGuard",
    ]
    ready = as_json["conditions"][0]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "True", "Synced")
    assert as_json["sources"][0]["calendarId"] == PERSONAL
    assert isinstance(as_json["events"], list)  # readable with the admin login


def test_sync_wait_requests_a_pass_and_prints_what_it_did(world: OpsWorld) -> None:
    world.add_event(PERSONAL, "Dentist", day=3)  # no push (no webhook): only a sync brings it

    done = world.calsync("sync", NAME, "--wait", "--timeout", "60s")

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{world.namespace}/{NAME}: sync requested at ")
    assert f"{world.namespace}/{NAME}: synced — Ready=True Synced" in lines
    assert f"  {PERSONAL}: created 1, updated 0, deleted 0, skipped 0" in lines
    assert any(str(e.get("summary")).endswith("Dentist") for e in world.emulator.events(CENTRAL))
    obj = world.get()
    assert obj["metadata"]["annotations"][REQUESTED_AT_ANNOTATION] == obj["status"]["lastHandledRequestAt"]


def test_sync_all_without_wait_only_writes_the_annotation(world: OpsWorld) -> None:
    done = world.calsync("sync", "--all", "--no-wait")
    assert done.returncode == 0, done.stderr
    value = done.stdout.split("sync requested at ")[1].strip()
    assert world.get()["metadata"]["annotations"][REQUESTED_AT_ANNOTATION] == value


def test_suspend_and_resume(world: OpsWorld) -> None:
    done = world.calsync("suspend", NAME)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"CalendarSync {world.namespace}/{NAME} suspended\n"
    world.until(lambda o: condition(o, "Ready").get("reason") == "Suspended")
    assert "[SUSPENDED]" in world.calsync("status", NAME).stdout
    assert world.calsync("suspend", NAME).stdout.endswith("is already suspended\n")
    refused = error_lines(world.calsync("sync", NAME, "--wait"))
    assert refused[1] == f"hint: calsync resume {NAME} -n {world.namespace}"

    done = world.calsync("resume", NAME)

    assert done.returncode == 0, done.stderr
    assert world.get()["spec"]["suspend"] is False
    world.until(lambda o: condition(o, "Ready").get("status") == "True")


def test_confirm_delete_shows_the_held_deletions_and_lets_them_through(world: OpsWorld) -> None:
    ids = [world.add_event(PERSONAL, f"Class {n}", day=10 + n) for n in range(8)]
    assert world.calsync("sync", NAME, "--wait").returncode == 0
    copies = len(world.emulator.events(CENTRAL))
    for event_id in ids[:6]:
        world.delete_event(PERSONAL, event_id)
    held = world.calsync("sync", NAME, "--wait")
    assert held.returncode == 1, held.stdout  # the pass stopped at the guard
    assert "FAILED — Ready=False DeleteGuard" in held.stdout
    assert world.calsync("confirm-delete", NAME, stdin="").returncode == 2  # no terminal, no --yes
    shown = world.calsync("status", NAME).stdout
    assert "DeleteGuard    True    TooManyDeletes" in shown
    assert "Warning DeleteGuardTripped: " in shown  # the latest Events
    assert len(world.emulator.events(CENTRAL)) == copies

    done = world.calsync("confirm-delete", NAME, "--yes")

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"CalendarSync {world.namespace}/{NAME}: the delete guard holds deletions back"
    )
    assert "Confirmed: the next pass deletes them" in done.stdout
    # The operator writes the status, then removes the annotation: the guard is armed again.
    world.until(
        lambda o: (
            condition(o, "DeleteGuard").get("status") != "True"
            and condition(o, "Ready").get("status") == "True"
            and CONFIRM_DELETE_ANNOTATION not in o["metadata"].get("annotations", {})
        )
    )
    assert len(world.emulator.events(CENTRAL)) == copies - 6
    nothing = world.calsync("confirm-delete", NAME, "--yes")
    assert nothing.stdout.endswith("the delete guard holds nothing; nothing to confirm\n")


def test_failures_are_one_line_and_a_hint(world: OpsWorld, tmp_path: Path) -> None:
    missing = error_lines(world.calsync("status", "no-such-sync"))
    assert (
        missing[0]
        == f'calsync: error: CalendarSync "no-such-sync" not found in namespace "{world.namespace}"'
    )

    down = error_lines(world.calsync("suspend", NAME, kubeconfig=unreachable_kubeconfig(tmp_path)))
    assert down[0].startswith("calsync: error: cannot reach the Kubernetes API at http://127.0.0.1:9")

    world.cluster.kubectl("create", "serviceaccount", "nobody", "-n", world.namespace)  # granted nothing
    nobody = world.cluster.service_account_kubeconfig(world.namespace, "nobody")
    forbidden = error_lines(world.calsync("sync", NAME, "--no-wait", kubeconfig=nobody))
    assert "403" in forbidden[0]
    assert "kubectl auth can-i" in forbidden[1]

    neither = error_lines(world.calsync("sync"))
    assert neither[0] == "calsync: error: name one CalendarSync or pass --all"
