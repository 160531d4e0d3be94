"""The ``calsync`` console script: one subcommand per role.

Each subcommand lives next to the code it runs, in a module that exposes
``register(subparsers)``; the module must stay cheap to import (heavy imports go inside the
command's function), so ``calsync --help`` is instant. A subcommand exists only once it works.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from calsync_operator import __version__
from calsync_operator.errors import CliError

# Modules that provide ``register(subparsers: argparse._SubParsersAction) -> None``.
COMMANDS: tuple[str, ...] = (
    "calsync_operator.cli.webhook",
    "calsync_operator.cli.emulator",
    "calsync_operator.cli.operator_cmd",
    "calsync_operator.cli.auth",
    "calsync_operator.cli.check",
    "calsync_operator.cli.demo",
    "calsync_operator.cli.status",
    "calsync_operator.cli.sync",
    "calsync_operator.cli.suspend",
    "calsync_operator.cli.confirm_delete",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calsync",
        description="Keep Google calendars in sync from inside Kubernetes.",
        epilog="New here? `calsync demo` shows it working (no cluster, no Google account). "
        "`calsync COMMAND --help` explains each command.",
    )
    parser.add_argument("--version", action="version", version=f"calsync {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMANDS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"calsync: error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
