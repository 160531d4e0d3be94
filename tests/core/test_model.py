"""parse_spec: defaults applied, and every problem reported with its field path and fix."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from calsync_operator.api.spec import (
    CalendarSyncSpec,
    Delivery,
    OnDelete,
    Privacy,
    RecurringMode,
    SecretRef,
    SourceCleanup,
    SpecError,
    parse_duration,
    parse_spec,
)

MINIMAL: dict[str, Any] = {
    "target": {"calendarId": "central@example.com", "credentials": {"secretRef": {"name": "central-token"}}},
    "sources": [
        {"calendarId": "home@example.com", "credentials": {"secretRef": {"name": "personal-token"}}},
        {
            "calendarId": "work@example.com",
            "credentials": {"secretRef": {"name": "work-token", "key": "w.json"}},
        },
    ],
}


def spec_with(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(MINIMAL)
    raw.update(changes)
    return raw


def problems_of(raw: Any) -> str:
    with pytest.raises(SpecError) as info:
        parse_spec(raw)
    return str(info.value)


def test_minimal_spec_gets_design_defaults() -> None:
    spec = parse_spec(MINIMAL)
    assert isinstance(spec, CalendarSyncSpec)
    assert spec.target.credentials == SecretRef("central-token", "token.json")
    assert [s.credentials for s in spec.sources] == [
        SecretRef("personal-token", "token.json"),
        SecretRef("work-token", "w.json"),
    ]
    assert (spec.delivery, spec.privacy, spec.recurring) == (
        Delivery.COPY,
        Privacy.FULL,
        RecurringMode.SERIES,
    )
    assert (spec.source_cleanup, spec.on_delete) == (SourceCleanup.KEEP, OnDelete.KEEP_COPIES)
    assert (spec.poll_interval_seconds, spec.push_enabled, spec.suspend, spec.dry_run) == (
        300,
        True,
        False,
        False,
    )
    assert spec.max_delete_fraction == 0.2
    filters = spec.filters
    assert (filters.skip_declined, filters.skip_free, filters.skip_all_day) == (True, False, False)
    assert filters.event_types == ("default", "outOfOffice", "focusTime")
    assert (filters.title_include, filters.title_exclude) == (None, None)
    assert (filters.window.past_days, filters.window.future_days) == (7, 365)
    assert spec.secret_names() == {"central-token", "personal-token", "work-token"}
    assert not spec.target.default_reminders  # copies alert nobody unless asked to


def test_every_field_is_read() -> None:
    raw = spec_with(
        delivery="copy",
        privacy="busy",
        filters={
            "skipDeclined": False,
            "skipFree": True,
            "skipAllDay": True,
            "eventTypes": ["default", "workingLocation"],
            "titleInclude": "(?i)standup",
            "titleExclude": "^Private:",
            "window": {"pastDays": 0, "futureDays": 30},
        },
        recurring="instances",
        sourceCleanup="delete",
        onDelete="deleteCopies",
        pollInterval="1h",
        push={"enabled": False},
        suspend=True,
        dryRun=True,
        maxDeleteFraction=1,
    )
    raw["sources"][0].update(titlePrefix="[home] ", colorId="11")
    raw["target"]["defaultReminders"] = True
    spec = parse_spec(raw)
    assert spec.target.default_reminders
    assert spec.privacy is Privacy.BUSY
    assert spec.filters.title_include is not None
    assert spec.filters.title_include.search("Daily STANDUP")
    assert spec.filters.title_exclude == re.compile("^Private:")
    assert spec.filters.event_types == ("default", "workingLocation")
    assert (spec.filters.window.past_days, spec.filters.window.future_days) == (0, 30)
    assert (spec.recurring, spec.source_cleanup, spec.on_delete) == (
        RecurringMode.INSTANCES,
        SourceCleanup.DELETE,
        OnDelete.DELETE_COPIES,
    )
    assert (spec.poll_interval_seconds, spec.push_enabled, spec.suspend, spec.dry_run) == (
        3600,
        False,
        True,
        True,
    )
    assert spec.max_delete_fraction == 1.0
    assert (spec.sources[0].title_prefix, spec.sources[0].color_id) == ("[home] ", "11")


def test_invite_delivery_needs_email_not_target_credentials() -> None:
    raw = spec_with(
        delivery="invite", target={"calendarId": "central@example.com", "email": "central@example.com"}
    )
    spec = parse_spec(raw)
    assert spec.delivery is Delivery.INVITE
    assert spec.target.credentials is None
    assert spec.target.email == "central@example.com"
    assert spec.secret_names() == {"personal-token", "work-token"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            spec_with(filters={"titleInclude": "(["}),
            r"spec\.filters\.titleInclude: '\(\[' is not a valid regular",
        ),
        (
            spec_with(filters={"titleExclude": "*x"}),
            r"spec\.filters\.titleExclude: .*fix it or remove the filter",
        ),
        (spec_with(pollInterval="10s"), r"spec\.pollInterval: '10s' is out of range: use 30s to 24h"),
        (
            spec_with(pollInterval="2d"),
            r"spec\.pollInterval: '2d' is not a duration: use a number and a unit",
        ),
        (spec_with(pollInterval=300), r"spec\.pollInterval: 300 is not a duration"),
        (
            spec_with(target={"calendarId": "central@example.com"}),
            r"spec\.target\.credentials\.secretRef: is required for delivery copy",
        ),
        (
            spec_with(delivery="invite", target={"calendarId": "central@example.com"}),
            r"spec\.target\.email: is required for delivery invite",
        ),
        (
            spec_with(
                delivery="invite",
                sourceCleanup="delete",
                target={"calendarId": "c@example.com", "email": "c@example.com"},
            ),
            r"spec\.sourceCleanup: delete needs delivery copy",
        ),
        (spec_with(delivery="fax"), r"spec\.delivery: must be one of copy, invite, not 'fax'"),
        (spec_with(privacy="secret"), r"spec\.privacy: must be one of full, busy"),
        (spec_with(onDelete="purge"), r"spec\.onDelete: must be one of keepCopies, deleteCopies"),
        (spec_with(maxDeleteFraction=1.5), r"spec\.maxDeleteFraction: must be a number from 0 to 1"),
        (spec_with(maxDeleteFraction=True), r"spec\.maxDeleteFraction"),
        (spec_with(suspend="yes"), r"spec\.suspend: must be true or false, not 'yes'"),
        (
            spec_with(filters={"window": {"pastDays": -1}}),
            r"spec\.filters\.window\.pastDays: must be a whole",
        ),
        (
            spec_with(filters={"eventTypes": ["meeting"]}),
            r"spec\.filters\.eventTypes: unknown event types \['meeting'\]",
        ),
        (spec_with(sources=[]), r"spec\.sources: needs at least one source calendar"),
        (spec_with(target="central@example.com"), r"spec\.target: must be an object"),
        ({"sources": MINIMAL["sources"]}, r"spec\.target: is required"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_problem_names_field_and_fix(raw: dict[str, Any], expected: str) -> None:
    assert re.search(expected, problems_of(raw))


def test_duplicate_source_names_both_positions() -> None:
    raw = copy.deepcopy(MINIMAL)
    raw["sources"][1]["calendarId"] = "home@example.com"
    message = problems_of(raw)
    assert (
        "spec.sources[1].calendarId: 'home@example.com' is already sources[0]: list each source calendar once"
        in message
    )


def test_source_equal_to_target_is_refused() -> None:
    raw = copy.deepcopy(MINIMAL)
    raw["sources"][0]["calendarId"] = "central@example.com"
    assert "spec.sources[0].calendarId: 'central@example.com' is the target" in problems_of(raw)


def test_source_without_secret_says_how_to_make_one() -> None:
    raw = copy.deepcopy(MINIMAL)
    del raw["sources"][1]["credentials"]
    assert (
        "spec.sources[1].credentials.secretRef: is required: name the Secret written by `calsync auth`"
        in (problems_of(raw))
    )


def test_bad_secret_name_and_color_id() -> None:
    raw = copy.deepcopy(MINIMAL)
    raw["sources"][0]["credentials"]["secretRef"]["name"] = "Personal_Token"
    raw["sources"][0]["colorId"] = "12"
    message = problems_of(raw)
    assert (
        "spec.sources[0].credentials.secretRef.name: 'Personal_Token' is not a valid Secret name" in message
    )
    assert "spec.sources[0].colorId: must be a Google event color id" in message


def test_too_many_sources() -> None:
    sources = [
        {"calendarId": f"s{i}@example.com", "credentials": {"secretRef": {"name": "t"}}} for i in range(51)
    ]
    assert "spec.sources: has 51 entries; at most 50" in problems_of(spec_with(sources=sources))


def test_all_problems_are_reported_at_once() -> None:
    raw = spec_with(pollInterval="1s", privacy="x", filters={"titleInclude": "("})
    with pytest.raises(SpecError) as info:
        parse_spec(raw)
    assert [problem.split(":")[0] for problem in info.value.problems] == [
        "spec.filters.titleInclude",
        "spec.pollInterval",
        "spec.privacy",
    ]
    assert str(info.value) == "; ".join(info.value.problems)


def test_spec_must_be_a_mapping() -> None:
    assert problems_of(["not", "a", "spec"]) == "spec must be an object, not list"


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("24h", 86400), (" 90s ", 90)]
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "0s", "1h30m", "5 m", "-5m", "1d", "m"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="use a number and a unit s, m or h"):
        parse_duration(text)
