"""``SecretWatch``: the watched token Secrets, and a change reaches exactly the CalendarSyncs
that reference it."""

from __future__ import annotations

from calsync_operator.controller.memory import SecretWatch
from calsync_operator.kube.client import SecretData


def secret(namespace: str, name: str, version: str) -> SecretData:
    return SecretData(namespace, name, version, {"token.json": "{}"})


def test_a_change_reaches_the_users_of_that_secret_in_that_namespace_only() -> None:
    heard: list[tuple[str, str, str]] = []
    watch = SecretWatch()

    def listener(name: str) -> object:
        return lambda secret, version: heard.append((name, secret, version))

    watch.register("ns", "a", frozenset({"home", "central"}), listener("a"))
    watch.register("ns", "b", frozenset({"work", "central"}), listener("b"))
    watch.register("other", "c", frozenset({"central"}), listener("c"))

    assert watch.changed(secret("ns", "central", "7")) == 2
    assert watch.changed(secret("ns", "home", "8")) == 1
    assert watch.changed(secret("ns", "nobody", "9")) == 0
    assert heard == [("a", "central", "7"), ("b", "central", "7"), ("a", "home", "8")]
    assert watch.lookup("ns", "central") == secret("ns", "central", "7")
    assert watch.lookup("other", "central") is None  # never watched there
    watch.forget("ns", "central")  # deleted: the next pass reads it (and finds it missing)
    assert watch.lookup("ns", "central") is None


def test_registering_again_replaces_and_unregistering_forgets() -> None:
    heard: list[str] = []
    watch = SecretWatch()
    watch.register("ns", "a", frozenset({"home"}), lambda secret, version: heard.append(secret))
    watch.register("ns", "a", frozenset({"work"}), lambda secret, version: heard.append(secret))
    assert watch.changed(secret("ns", "home", "1")) == 0  # the spec no longer names it
    assert watch.changed(secret("ns", "work", "2")) == 1
    watch.unregister("ns", "a")
    watch.unregister("ns", "a")  # twice is harmless
    assert watch.changed(secret("ns", "work", "3")) == 0
    assert heard == ["work"]
