"""``calsync operator``: run the operator against the cluster (in-cluster or the kubeconfig).

Configuration comes from the environment (``settings.OperatorSettings``, docs/design.md §7); the only
flags are the ones people reach for when running it by hand: which namespaces to watch, which
kubeconfig to use, and which shard this replica is (they win over the environment).
"""

from __future__ import annotations

import argparse
from typing import Any

from calsync_operator.kube.connect import add_namespaces_argument


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "operator",
        help="run the CalendarSync operator",
        description=(
            "Run the kopf operator that keeps CalendarSyncs in sync: push channels, incremental "
            "syncs, status, Events, alert mails, the heartbeat, /healthz on :8080 and /metrics "
            "on :9090. Configured by CALSYNC_* environment variables (see docs/operator.md)."
        ),
    )
    add_namespaces_argument(
        parser, "watch only this namespace (repeatable; default: CALSYNC_NAMESPACES, else all namespaces)"
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: in-cluster, else $KUBECONFIG)")
    parser.add_argument(
        "--shard",
        type=int,
        metavar="I",
        help="serve shard I (0..N-1; default: CALSYNC_SHARD, else the StatefulSet pod's ordinal)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        metavar="N",
        help="the number of operator replicas sharing the CalendarSyncs (default: CALSYNC_SHARDS, else 1)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from calsync_operator import process

    with process.hidden_official_client():  # kopf would import it: ~32 MB for nothing
        from calsync_operator.controller.runner import configure_logging, serve
    from calsync_operator.errors import CliError, SettingsError
    from calsync_operator.kube.connect import NoKubeConfig
    from calsync_operator.kube.login import OperatorLogin
    from calsync_operator.settings import OperatorSettings

    process.limit_malloc_arenas()  # before any I/O thread exists

    try:
        settings = OperatorSettings.from_env(_shard_overrides(args))
    except SettingsError as exc:
        raise CliError(str(exc), hint="fix the environment variable and start again") from None
    configure_logging(settings)
    login = OperatorLogin(args.kubeconfig)
    try:
        login()  # fail at start-up, with what was tried, when there is no way in
    except NoKubeConfig as exc:
        raise CliError(str(exc), hint="set KUBECONFIG or pass --kubeconfig") from None
    process.freeze_imports()
    asyncio.run(serve(settings, login, namespaces=args.namespace))
    return 0


def _shard_overrides(args: argparse.Namespace) -> dict[str, str]:
    """The environment with ``--shard``/``--shards`` in place of their variables."""
    import os

    from calsync_operator.settings import ENV_SHARD, ENV_SHARDS

    environ = dict(os.environ)
    if args.shard is not None:
        environ[ENV_SHARD] = str(args.shard)
    if args.shards is not None:
        environ[ENV_SHARDS] = str(args.shards)
    return environ
