"""``calsync demo``: the subcommand. Cheap to import; the parts load when it runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from calsync_operator.errors import CliError

# What `pip install 'calsync[demo]'` adds: the in-memory Kubernetes API (kubeemu) runs on them.
DEMO_EXTRA = frozenset({"kmock", "attrs", "jsonpatch"})


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="see calsync work in one process: no cluster, no Google account",
        description=(
            "Run an in-memory Kubernetes API, the Google Calendar emulator, the webhook and the "
            "operator on loopback; apply examples/calendarsync.yaml; then create, edit, move and "
            "delete events in the source calendars and watch the CalendarSync status and the target "
            "calendar change, with the latency of each change. Exit 0 when every change arrived."
        ),
    )
    parser.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop after this many seconds (default: run until Ctrl-C); the scripted story takes under 10 s",
    )
    parser.add_argument(
        "--no-tty",
        action="store_true",
        help="plain log lines instead of a screen redrawn in place (automatic when not a terminal)",
    )
    parser.add_argument(
        "--log-file",
        type=Path,
        metavar="PATH",
        help="where the operator's, webhook's and emulator's logs go (default: calsync-demo.log in the "
        "temporary directory)",
    )
    parser.add_argument(
        "--emulator-port",
        type=int,
        default=0,
        metavar="PORT",
        help="port of the Google emulator (default: any free port)",
    )
    parser.add_argument(
        "--kubeconfig",
        nargs="?",
        const="",
        metavar="PATH",
        help="run on a real cluster instead of the in-memory API: this kubeconfig (no PATH: $KUBECONFIG or "
        "~/.kube/config). The CRD is applied if missing; everything else goes into a fresh namespace, "
        "deleted at the end",
    )
    parser.add_argument("--context", metavar="NAME", help="with --kubeconfig: the kubeconfig context to use")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging
    import tempfile

    on_cluster = args.kubeconfig is not None or args.context is not None
    try:
        from calsync_operator.demo.cluster import ClusterChoice
        from calsync_operator.demo.runner import run_demo

        if not on_cluster:  # only the in-memory Kubernetes API needs the demo extra
            import calsync_operator.kubeemu  # noqa: F401
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in DEMO_EXTRA:
            raise
        raise CliError(
            f"calsync demo needs the demo extra ({missing} is missing): pip install 'calsync[demo]'"
        ) from None

    if args.duration is not None and args.duration <= 0:
        raise CliError("--duration must be a positive number of seconds", hint="e.g. --duration 20")
    try:
        log_file = args.log_file or Path(tempfile.gettempdir()) / "calsync-demo.log"
    except FileNotFoundError:  # tempfile found no writable directory (read-only root filesystem)
        raise CliError(
            "no writable temporary directory for the demo's log file (TMPDIR, /tmp, /var/tmp)",
            hint="give it one (docker run --tmpfs /tmp, or TMPDIR=DIR) or pass --log-file PATH",
        ) from None
    try:
        handler = logging.FileHandler(log_file, mode="w", encoding="utf-8")
    except OSError as exc:
        raise CliError(
            f"cannot write the log file {log_file}: {exc.strerror}", hint="pass --log-file PATH"
        ) from None
    # Every part logs through the root logger: into the file, never over the screen.
    handler.setFormatter(logging.Formatter("%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)
    tty = sys.stdout.isatty() and not args.no_tty
    cluster = None
    if on_cluster:
        cluster = ClusterChoice(kubeconfig=args.kubeconfig or None, context=args.context)
    code = run_demo(
        duration=args.duration, tty=tty, out=sys.stdout, emulator_port=args.emulator_port, cluster=cluster
    )
    print(f"logs of the operator, webhook and emulator: {log_file}", flush=True)
    return code
