"""``calsync sync NAME``: ask for a sync of every source now (Flux's ``reconcile``).

Writes ``calsync.dev/requested-at`` (the time, RFC 3339 with milliseconds) and, with ``--wait``
(the default on a terminal), follows the object with a watch until ``status.lastHandledRequestAt``
reaches that time, then prints what the pass did: per source, the counts it added and its error.
Exit 0 done, 1 the pass failed or did not finish within ``--timeout``, 2 cannot ask.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from calsync_operator.cli.resource import add_target_arguments
from calsync_operator.errors import CliError

if TYPE_CHECKING:
    from datetime import datetime

    from calsync_operator.cli.resource import Target

EXIT_DONE, EXIT_FAILED = 0, 1
# Ready reasons after which a pass counts as done without failure.
GOOD_REASONS = {"Synced", "DryRun"}


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="sync a CalendarSync now (the requested-at annotation) and wait for the result",
        description=(
            "Ask the operator for a sync pass of every source now by writing the "
            "calsync.dev/requested-at annotation. With --wait (the default on a terminal) wait "
            "until the operator has handled it (status.lastHandledRequestAt) and print what the "
            "pass did. Exit 0 done, 1 the pass failed or timed out, 2 cannot ask."
        ),
        epilog="examples: calsync sync personal-to-central | calsync sync --all -n calsync --no-wait",
    )
    add_target_arguments(parser, name_required=False)
    parser.add_argument("--all", action="store_true", help="every CalendarSync in the namespace")
    parser.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="wait for the pass and print its result (default: on a terminal only)",
    )
    parser.add_argument(
        "--timeout",
        default="60s",
        metavar="DURATION",
        help="how long --wait waits, e.g. 90s or 5m (default: 60s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from calsync_operator.api.names import REQUESTED_AT_ANNOTATION
    from calsync_operator.api.spec import parse_duration
    from calsync_operator.cli.resource import list_names, open_target

    if bool(args.name) == bool(args.all):
        raise CliError(
            "name one CalendarSync or pass --all", hint="calsync sync NAME [-n NS], or calsync sync --all"
        )
    try:
        timeout = float(parse_duration(args.timeout))
    except ValueError as exc:
        raise CliError(f"--timeout: {exc}") from None
    wait = sys.stdout.isatty() if args.wait is None else args.wait
    target = open_target(args, name=args.name or "")
    try:
        names = list_names(target) if args.all else [args.name]
        if not names:
            raise CliError(f"no CalendarSync in namespace {target.namespace!r}", hint="-n NS picks another")
        before = {name: _checked(target, name) for name in names}
        stamp = datetime.now(UTC)
        value = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
        versions = {}
        for name in names:
            patched = _on(target, name).patch(
                {"metadata": {"annotations": {REQUESTED_AT_ANNOTATION: value}}},
                f"set {REQUESTED_AT_ANNOTATION}",
            )
            versions[name] = patched["metadata"]["resourceVersion"]
            print(f"{target.namespace}/{name}: sync requested at {value}", flush=True)
        if not wait:
            return EXIT_DONE
        after = _wait_for(target, names, stamp, timeout)
    finally:
        target.close()
    return _report(target.namespace, before, after, stamp, timeout)


def _on(target: Target, name: str) -> Target:
    from calsync_operator.cli.resource import Target

    return Target(target.cluster, target.namespace, name)


def _checked(target: Target, name: str) -> dict[str, Any]:
    obj = _on(target, name).get()
    if (obj.get("spec") or {}).get("suspend"):
        raise CliError(
            f"CalendarSync {target.namespace}/{name} is suspended: the operator does not sync it",
            hint=f"calsync resume {name} -n {target.namespace}",
        )
    return obj


def handled(obj: Mapping[str, Any], stamp: datetime) -> bool:
    from calsync_operator.api.times import try_parse_time

    seen = try_parse_time((obj.get("status") or {}).get("lastHandledRequestAt"))
    return seen is not None and seen >= stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)


def _wait_for(target: Target, names: list[str], stamp: datetime, timeout: float) -> dict[str, dict[str, Any]]:
    """Follow the namespace's CalendarSyncs with a watch until each named one handled the
    request, or the timeout passes; returns the last version seen of each."""
    import time

    from kubernetes import watch

    from calsync_operator.api.names import GROUP, PLURAL, VERSION

    latest = {name: _on(target, name).get() for name in names}
    deadline = time.monotonic() + timeout
    selector = f"metadata.name={names[0]}" if len(names) == 1 else None
    with target.cluster.calling(f"watch CalendarSyncs in {target.namespace}"):
        while not all(handled(latest[n], stamp) for n in names) and time.monotonic() < deadline:
            stream = watch.Watch()  # type: ignore[no-untyped-call]
            for event in stream.stream(  # type: ignore[no-untyped-call]
                target.api().list_namespaced_custom_object,
                GROUP,
                VERSION,
                target.namespace,
                PLURAL,
                field_selector=selector,
                timeout_seconds=max(1, int(deadline - time.monotonic())),
            ):
                obj = event["object"]
                if obj.get("metadata", {}).get("name") in latest:
                    latest[obj["metadata"]["name"]] = obj
                if all(handled(latest[n], stamp) for n in names):
                    stream.stop()  # type: ignore[no-untyped-call]
    return latest


def _report(
    namespace: str,
    before: Mapping[str, Mapping[str, Any]],
    after: Mapping[str, Mapping[str, Any]],
    stamp: datetime,
    timeout: float,
) -> int:
    failed = False
    for name, obj in after.items():
        if not handled(obj, stamp):
            print(f"{namespace}/{name}: not handled within {timeout:g}s (is the operator running?)")
            failed = True
            continue
        ready: dict[str, Any] = next(
            (c for c in obj["status"].get("conditions") or [] if c.get("type") == "Ready"), {}
        )
        ok = ready.get("status") == "True" or ready.get("reason") in GOOD_REASONS
        verdict = "synced" if ok else "FAILED"
        print(f"{namespace}/{name}: {verdict} — Ready={ready.get('status')} {ready.get('reason')}")
        if not ok and ready.get("message"):
            print(f"  {ready['message']}")
        failed |= not ok
        previous = {s.get("key"): s for s in (before[name].get("status") or {}).get("sources") or []}
        for source in obj["status"].get("sources") or []:
            old = (previous.get(source.get("key")) or {}).get("counts") or {}
            new = source.get("counts") or {}
            done = ", ".join(
                f"{k} {int(new.get(k, 0)) - int(old.get(k, 0))}"
                for k in ("created", "updated", "deleted", "skipped")
            )
            line = f"  {source.get('calendarId')}: {done}"
            if source.get("lastError"):
                line += f"; error: {source['lastError']}"
                failed = True
            print(line)
    return EXIT_FAILED if failed else EXIT_DONE
