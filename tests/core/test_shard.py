"""Shards (pure): the shard key, a stable hash, one owner per CalendarSync, the settings that
pick a replica's shard, and the guarded status write that keeps two owners from overwriting
each other."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import pytest

from calsync_operator.controller.rules.shard import Shard, shard_key, shard_of
from calsync_operator.controller.rules.status import (
    REVISION,
    guarded_status_write,
    same_status,
    status_to_start_from,
)
from calsync_operator.settings import OperatorSettings, SettingsError


def copy_spec(secret: str | None) -> dict[str, Any]:
    target: dict[str, Any] = {"calendarId": "team@example.com"}
    if secret is not None:
        target["credentials"] = {"secretRef": {"name": secret}}
    return {"target": target, "sources": []}


def test_the_key_is_the_target_secret_so_one_account_stays_on_one_shard() -> None:
    assert shard_key("team", "alice", copy_spec("google-team")) == "team/google-team"
    assert shard_key("team", "bob", copy_spec("google-team")) == "team/google-team"


def test_without_target_credentials_the_key_is_the_calendarsync_itself() -> None:
    invite = {"delivery": "invite", "target": {"calendarId": "x@example.com", "email": "x@example.com"}}
    assert shard_key("team", "alice", invite) == "team/alice"
    assert shard_key("team", "alice", copy_spec(None)) == "team/alice"  # invalid spec: still one owner
    assert shard_key("team", "alice", {}) == "team/alice"
    # invite delivery writes with the sources' accounts: a leftover target Secret is not the key
    assert shard_key("team", "alice", {**copy_spec("google-team"), "delivery": "invite"}) == "team/alice"


def test_the_hash_is_sha256_not_the_salted_builtin() -> None:
    expected = int.from_bytes(hashlib.sha256(b"team/google-team").digest()[:8], "big") % 3
    assert shard_of("team/google-team", 3) == expected
    assert shard_of("team/google-team", 1) == 0


def test_every_calendarsync_has_exactly_one_owner_and_shards_share_the_load() -> None:
    shards = [Shard(i, 3) for i in range(3)]
    owners: Counter[int] = Counter()
    for n in range(300):
        spec = copy_spec(f"google-{n}")
        owning = [s.index for s in shards if s.owns("team", f"cr-{n}", spec)]
        assert len(owning) == 1
        owners[owning[0]] += 1
    assert sorted(owners) == [0, 1, 2]
    assert min(owners.values()) > 60  # 100 each on average; sha256 spreads well


def test_one_shard_owns_everything() -> None:
    assert Shard().owns("any", "thing", copy_spec("s"))
    assert Shard().label == "0/1"
    assert Shard(2, 4).label == "2/4"


@pytest.mark.parametrize(("index", "count"), [(3, 3), (-1, 3), (0, 0)])
def test_a_shard_that_cannot_exist_is_refused(index: int, count: int) -> None:
    with pytest.raises(ValueError, match="shard"):
        Shard(index, count)


def test_settings_take_the_shard_from_the_environment() -> None:
    settings = OperatorSettings.from_env({"CALSYNC_SHARD": "1", "CALSYNC_SHARDS": "3"})
    assert (settings.shard, settings.shards) == (1, 3)
    assert (OperatorSettings.from_env({}).shard, OperatorSettings.from_env({}).shards) == (0, 1)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"POD_NAME": "calsync-operator-2", "HOSTNAME": "calsync-operator-1"}, 2),
        ({"HOSTNAME": "calsync-operator-1"}, 1),
        ({"HOSTNAME": "calsync-operator-1", "CALSYNC_SHARD": "0"}, 0),
    ],
)
def test_in_a_statefulset_the_shard_is_the_pod_ordinal(environ: dict[str, str], expected: int) -> None:
    assert OperatorSettings.from_env({"CALSYNC_SHARDS": "3", **environ}).shard == expected


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"CALSYNC_SHARDS": "3", "CALSYNC_SHARD": "3"}, "CALSYNC_SHARD=3"),
        ({"CALSYNC_SHARDS": "0"}, "CALSYNC_SHARDS"),
        ({"CALSYNC_SHARDS": "3", "HOSTNAME": "laptop"}, "CALSYNC_SHARD is unset"),
        ({"CALSYNC_SHARDS": "3", "POD_NAME": "calsync-operator-5"}, "CALSYNC_SHARD=5"),
    ],
)
def test_bad_shard_settings_name_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        OperatorSettings.from_env(environ)


STATUS = {"observedGeneration": 1, "shard": "0/3", "sourceCount": 1}


def test_a_status_write_tests_the_revision_it_was_computed_from() -> None:
    write = guarded_status_write({**STATUS, REVISION: 7}, {**STATUS, "shard": "1/4"}, "123")
    assert write.operations == [
        {"op": "test", "path": "/status/revision", "value": 7},
        {"op": "add", "path": "/status", "value": {**STATUS, "shard": "1/4", REVISION: 8}},
    ]
    assert write.status[REVISION] == 8


def test_the_first_guarded_write_tests_the_resource_version() -> None:
    write = guarded_status_write({}, STATUS, "123")
    assert write.operations[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "123"}
    assert write.status == {**STATUS, REVISION: 1}


def test_nothing_changed_means_nothing_to_write_and_the_revision_is_kept() -> None:
    write = guarded_status_write({**STATUS, REVISION: 7}, STATUS, "123")
    assert write.operations == []
    assert write.status == {**STATUS, REVISION: 7}


def test_a_status_is_the_same_write_only_with_the_same_revision_and_fields() -> None:
    assert same_status({**STATUS, REVISION: 3}, {**STATUS, REVISION: 3})
    assert same_status({}, None)
    assert not same_status({**STATUS, REVISION: 3}, {**STATUS, REVISION: 4})
    assert not same_status(STATUS, {**STATUS, "shard": "2/3"})


def test_a_pass_starts_from_its_own_last_write_unless_another_replica_wrote_since() -> None:
    ours = {**STATUS, "shard": "1/4", REVISION: 7}
    assert status_to_start_from(None, STATUS) == STATUS  # nothing written yet: the watch
    assert status_to_start_from(ours, {**STATUS, REVISION: 6}) == ours  # the watch lags behind
    assert status_to_start_from(ours, {**STATUS, "shard": "1/4", REVISION: 7}) == ours
    theirs = {**STATUS, "shard": "2/3", REVISION: 8}  # a replica of the old generation wrote last
    assert status_to_start_from(ours, theirs) == theirs
    assert status_to_start_from(ours, {**STATUS, REVISION: True}) == ours  # not a revision
    # From the other replica's status, the owner's next pass has something to write: its shard.
    write = guarded_status_write(status_to_start_from(ours, theirs), {**STATUS, "shard": "1/4"}, "9")
    assert write.operations[0] == {"op": "test", "path": "/status/revision", "value": 8}
    assert write.status == {**STATUS, "shard": "1/4", REVISION: 9}
    # From its own last write it would have nothing to write (the idle pass of the bug).
    assert guarded_status_write(ours, {**STATUS, "shard": "1/4"}, "9").operations == []


def test_the_command_line_flags_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from calsync_operator.cli.main import main

    monkeypatch.setenv("CALSYNC_SHARDS", "4")
    monkeypatch.setenv("CALSYNC_SHARD", "1")
    assert main(["operator", "--shard", "3", "--shards", "3"]) == 2  # refused before connecting
    assert "CALSYNC_SHARD=3 does not exist with CALSYNC_SHARDS=3" in capsys.readouterr().err
