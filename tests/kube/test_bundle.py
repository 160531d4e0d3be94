"""The emulator boots with calsync's CRD, and the packaged copy of it stays equal to the source."""

from __future__ import annotations

import pathlib

from calsync_operator.kubeemu import ThreadedKubeEmulator
from calsync_operator.kubeemu.bundle import packaged_crd_path

SOURCE = pathlib.Path(__file__).resolve().parents[2] / "crds" / "calendarsync.yaml"


def test_packaged_crd_copy_equals_the_source() -> None:
    assert packaged_crd_path().read_text(encoding="utf-8") == SOURCE.read_text(encoding="utf-8"), (
        "the CRD changed: run `cp crds/calendarsync.yaml operator/calsync_operator/kubeemu/crds/`"
    )


def test_emulator_serves_calendarsyncs_with_status_subresource(kube: ThreadedKubeEmulator) -> None:
    rtype = kube.resource("CalendarSync")
    assert (rtype.group, rtype.version, rtype.plural, rtype.namespaced) == (
        "calsync.dev",
        "v1alpha1",
        "calendarsyncs",
        True,
    )
    assert rtype.has_status_subresource
    assert kube.resource("csync") == rtype
    assert kube.get("customresourcedefinitions", "calendarsyncs.calsync.dev", namespace=None)["status"]
