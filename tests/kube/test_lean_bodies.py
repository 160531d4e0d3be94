"""Watch events reach kopf without managedFields and with shared strings
(``kube/lean_bodies.py``), through the one
kopf internal it wraps, at the pinned kopf version. On the real API server: the main flow in
``tests/operator/test_operator_cluster.py`` checks the bodies kopf hands to handlers."""

from __future__ import annotations

import inspect
import json

from kopf._core.reactor import queueing

from calsync_operator.kube import lean_bodies
from calsync_operator.kubeemu import internals


def test_an_event_loses_managed_fields_and_keeps_everything_else() -> None:
    event = {
        "type": "MODIFIED",
        "object": {
            "metadata": {"name": "x", "resourceVersion": "7", "managedFields": [{"manager": "kopf"}]},
            "spec": {"pollInterval": "5m"},
        },
    }
    lean_bodies.strip_managed_fields(event)
    assert event == {
        "type": "MODIFIED",
        "object": {"metadata": {"name": "x", "resourceVersion": "7"}, "spec": {"pollInterval": "5m"}},
    }
    lean_bodies.strip_managed_fields(object())  # kopf's bookmarks pass untouched


def test_two_bodies_share_their_keys_and_short_values_and_stay_equal() -> None:
    raw = json.dumps(
        {
            "type": "MODIFIED",
            "object": {
                "metadata": {"name": "cs1", "managedFields": [{"manager": "kopf"}], "labels": {"a": "b"}},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 3}],
                    "note": "x" * 200,
                    "flag": True,
                    "gone": None,
                },
            },
        }
    )
    first, second = lean_bodies.lean_event(json.loads(raw)), lean_bodies.lean_event(json.loads(raw))
    expected = json.loads(raw)
    del expected["object"]["metadata"]["managedFields"]
    assert first == second == expected
    one, other = first["object"]["status"], second["object"]["status"]
    assert one is not other  # each event keeps its own containers
    key_of_one = next(iter(one["conditions"][0]))
    key_of_other = next(iter(other["conditions"][0]))
    assert key_of_one is key_of_other  # "type": one string for both bodies
    assert one["conditions"][0]["status"] is other["conditions"][0]["status"]  # "True"
    assert one["note"] is not other["note"]  # long values are left alone
    assert lean_bodies.lean_event("bookmark") == "bookmark"  # what is not an event passes


def test_kopf_looks_the_wrapped_stream_up_at_each_watch() -> None:
    assert internals.KOPF_VERSION == "1.45.2"  # the version this seam was read at
    lean_bodies.install()
    from kopf._cogs.clients import watching

    assert watching.infinite_watch is lean_bodies.lean_infinite_watch
    # The reactor calls it through the module, so the wrapper is what it runs.
    assert "watching.infinite_watch(" in inspect.getsource(queueing.watcher)
