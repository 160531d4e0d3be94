"""``calsync suspend NAME`` / ``calsync resume NAME``: set ``spec.suspend``, like ``flux suspend``
and ``flux resume``. Suspending stops the push channels and leaves the copies as they are;
resuming renews the channels and catches up in one incremental pass."""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

from calsync_operator.cli.resource import add_target_arguments


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    _add_verb(
        subparsers,
        "suspend",
        suspend=True,
        help="stop syncing a CalendarSync (spec.suspend: true) until calsync resume",
        description=(
            "Set spec.suspend to true: the operator stops syncing and stops the push channels; "
            "copies in the target stay. calsync resume NAME undoes it. Exit 0 done, 2 cannot."
        ),
    )
    _add_verb(
        subparsers,
        "resume",
        suspend=False,
        help="sync a suspended CalendarSync again (spec.suspend: false)",
        description=(
            "Set spec.suspend to false: the operator creates push channels again and catches up "
            "with everything that changed meanwhile. Exit 0 done, 2 cannot."
        ),
    )


def _add_verb(
    subparsers: argparse._SubParsersAction[Any], verb: str, *, suspend: bool, help: str, description: str
) -> None:
    parser = subparsers.add_parser(
        verb,
        help=help,
        description=description,
        epilog=f"example: calsync {verb} personal-to-central -n calsync",
    )
    add_target_arguments(parser)
    parser.set_defaults(func=partial(run, suspend=suspend))


def run(args: argparse.Namespace, *, suspend: bool) -> int:
    from calsync_operator.cli.resource import set_suspend

    return set_suspend(args, suspend=suspend)
