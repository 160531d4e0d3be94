"""``calsync confirm-delete NAME``: let the deletions the delete guard holds go ahead.

Shows what is held first (the ``DeleteGuard`` condition and each source's held deletions), asks
unless ``--yes``, then writes ``calsync.dev/confirm-delete``; the operator's next pass (started by
that annotation) deletes them and removes the annotation, so the guard is armed again.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from calsync_operator.cli.resource import add_target_arguments
from calsync_operator.errors import CliError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "confirm-delete",
        help="let the deletions the delete guard holds go ahead (after showing them)",
        description=(
            "When a CalendarSync's DeleteGuard condition holds deletions back (more than "
            "maxDeleteFraction of the copies), show them and, once confirmed, write the "
            "calsync.dev/confirm-delete annotation: the next pass deletes them and re-arms the "
            "guard. Exit 0 done or nothing held, 1 declined, 2 cannot."
        ),
        epilog="example: calsync confirm-delete personal-to-central -n calsync --yes",
    )
    add_target_arguments(parser)
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask (for scripts)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from calsync_operator.api.names import CONFIRM_DELETE_ANNOTATION
    from calsync_operator.cli.resource import open_target

    target = open_target(args)
    try:
        obj = target.get()
        status = obj.get("status") or {}
        guard = next((c for c in status.get("conditions") or [] if c.get("type") == "DeleteGuard"), None)
        if guard is None or guard.get("status") != "True":
            print(f"CalendarSync {target.ref}: the delete guard holds nothing; nothing to confirm")
            return 0
        print(f"CalendarSync {target.ref}: the delete guard holds deletions back")
        print(f"  {guard.get('message', '')}")
        for source in status.get("sources") or []:
            if source.get("heldDeletes"):
                print(f"  {source.get('calendarId')}: {source['heldDeletes']} copies to delete")
        if not args.yes and not _confirmed():
            print("Nothing changed.")
            return 1
        target.patch({"metadata": {"annotations": {CONFIRM_DELETE_ANNOTATION: "true"}}}, "confirm deletions")
    finally:
        target.close()
    follow = f"calsync status {target.name} -n {target.namespace}"
    print(f"Confirmed: the next pass deletes them ({follow} shows it).")
    return 0


def _confirmed() -> bool:
    if not sys.stdin.isatty():
        raise CliError("not on a terminal, so cannot ask", hint="pass --yes to confirm the deletions")
    answer = input("Delete these copies from the target? [y/N] ")
    return answer.strip().lower() in {"y", "yes"}
