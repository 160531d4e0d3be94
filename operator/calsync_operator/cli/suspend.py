"""``calsync suspend NAME``: stop syncing a CalendarSync (``spec.suspend: true``), like
``flux suspend``. Its push channels are stopped; copies stay as they are until ``resume``."""

from __future__ import annotations

import argparse
from typing import Any

from calsync_operator.cli.resource import add_target_arguments


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "suspend",
        help="stop syncing a CalendarSync (spec.suspend: true) until calsync resume",
        description=(
            "Set spec.suspend to true: the operator stops syncing and stops the push channels; "
            "copies in the target stay. calsync resume NAME undoes it. Exit 0 done, 2 cannot."
        ),
        epilog="example: calsync suspend personal-to-central -n calsync",
    )
    add_target_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from calsync_operator.cli.resource import set_suspend

    return set_suspend(args, suspend=True)
