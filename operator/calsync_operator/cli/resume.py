"""``calsync resume NAME``: sync a suspended CalendarSync again (``spec.suspend: false``), like
``flux resume``. The operator renews its channels and catches up in one incremental pass."""

from __future__ import annotations

import argparse
from typing import Any

from calsync_operator.cli.resource import add_target_arguments


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "resume",
        help="sync a suspended CalendarSync again (spec.suspend: false)",
        description=(
            "Set spec.suspend to false: the operator creates push channels again and catches up "
            "with everything that changed meanwhile. Exit 0 done, 2 cannot."
        ),
        epilog="example: calsync resume personal-to-central -n calsync",
    )
    add_target_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from calsync_operator.cli.resource import set_suspend

    return set_suspend(args, suspend=False)
