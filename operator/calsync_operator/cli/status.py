"""``calsync status NAME``: one screen a person can act on (cmctl's ``status certificate``).

Conditions with their reasons and the fix each message names, every source's timeline, the
dry-run plan and the latest Events; ``-o json|yaml`` prints the same facts for scripts.
"""

from __future__ import annotations

import argparse
from typing import Any

from calsync_operator.cli.resource import add_target_arguments
from calsync_operator.errors import CliError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "status",
        help="show one CalendarSync: conditions and their fixes, sources, channels, plan, Events",
        description=(
            "Show a CalendarSync the way you act on it: Ready, Authenticated, PushActive and "
            "DeleteGuard with their reasons and the fix each message names; per source the last "
            "sync, the last push handled, the push channel's expiry and when its renewal is due, "
            "and the counts; the plan when dryRun is on; the latest Events. "
            "Exit 0 when shown (whatever its state), 2 when it cannot be read."
        ),
        epilog="examples: calsync status personal-to-central -n calsync | calsync status NAME -o json",
    )
    add_target_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        choices=["text", "json", "yaml"],
        default="text",
        help="text for people (default), json or yaml for scripts",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import os
    from datetime import UTC, datetime, timedelta

    import yaml

    from calsync_operator.cli.resource import open_target
    from calsync_operator.cli.status_view import render, summarize
    from calsync_operator.settings import ENV_CHANNEL_TTL, GOOGLE_DEFAULT_CHANNEL_TTL

    target = open_target(args)
    try:
        obj = target.get()
        events = target.events()
    finally:
        target.close()
    # The operator replaces a channel when a fifth of the lifetime it asked for is left.
    try:
        ttl = float(os.environ.get(ENV_CHANNEL_TTL) or GOOGLE_DEFAULT_CHANNEL_TTL)
    except ValueError:
        raise CliError(
            f"{ENV_CHANNEL_TTL}={os.environ[ENV_CHANNEL_TTL]!r} is not a number of seconds",
            hint=f"unset it or set it as the operator has it (default {GOOGLE_DEFAULT_CHANNEL_TTL})",
        ) from None
    now = datetime.now(UTC)
    summary = summarize(obj, events, now, timedelta(seconds=ttl * 0.2))
    if args.output == "json":
        print(json.dumps(summary, indent=2))
    elif args.output == "yaml":
        print(yaml.safe_dump(summary, sort_keys=False), end="")
    else:
        print(render(summary, now), end="")
    return 0
