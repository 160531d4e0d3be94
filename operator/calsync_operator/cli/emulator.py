"""``calsync emulator``: run the Google Calendar emulator standalone.

Prints the root URL (what ``CALSYNC_GOOGLE_API_ROOT`` and a token JSON's ``token_uri`` point
at) and a ready-to-use token JSON, then serves until interrupted. Cheap to import: uvicorn and
the app load only when the command runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from calsync_operator.errors import CliError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="run the Google Calendar v3 emulator (for tests, demos and your own code)",
        description=(
            "Serve a Google Calendar v3 emulator over HTTP: events, sync tokens, batches, push "
            "channels, OAuth token refresh, plus a control API under /_emulator/. "
            "See docs/emulator.md for pointing google-api-python-client at it."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8765, help="port to listen on (default: 8765; 0 = any free)"
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (default: info)",
    )
    parser.add_argument(
        "--calendar",
        action="append",
        default=[],
        metavar="ID",
        help="create this calendar at start-up (repeatable; unknown calendars get 404, as on Google)",
    )
    parser.add_argument(
        "--instance-ids",
        choices=["opaque", "legacy"],
        default="opaque",
        help="occurrence ids of recurring events: opaque like Google (default) or legacy <id>_<start>",
    )
    parser.add_argument(
        "--allow-http-push",
        action="store_true",
        help="let events.watch use http://127.0.0.1 addresses (Google accepts only https)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    import uvicorn

    from calsync_operator.emulator.app import create_app
    from calsync_operator.emulator.server import KEEP_ALIVE_SECONDS, PortInUse, bind_socket
    from calsync_operator.emulator.state import EmulatorOptions, EmulatorState

    try:
        sock = bind_socket(args.host, args.port)
    except PortInUse as exc:
        raise CliError(str(exc), hint="pick another port with --port, or stop what listens there") from None
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    root = f"http://{host}:{port}/"
    print(f"Google Calendar emulator listening on {root}", flush=True)
    print(f"  CALSYNC_GOOGLE_API_ROOT={root}", flush=True)
    print(f"  token_uri={root}token   batch_uri={root}batch/calendar/v3", flush=True)
    state = EmulatorState(EmulatorOptions(args.instance_ids, args.allow_http_push))
    for calendar_id in args.calendar:
        state.create_calendar(calendar_id)
    config = uvicorn.Config(
        create_app(state),
        log_level=args.log_level,
        lifespan="on",
        timeout_graceful_shutdown=2,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    try:
        asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
    finally:
        sock.close()
    return 0
