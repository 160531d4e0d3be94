"""``calsync webhook``: serve the push webhook with uvicorn.

Cheap to import (``calsync --help`` loads every subcommand): the app, the kubernetes client and
uvicorn are imported only when the command runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from calsync_operator.errors import CliError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "webhook",
        help="serve the webhook that receives Google push notifications",
        description=(
            "Receive Google Calendar push notifications on POST /push, verify them against the "
            "channels in CalendarSync status and signal the operator through an annotation. "
            "Configured by CALSYNC_NAMESPACES, CALSYNC_COALESCE_WINDOW_MS, CALSYNC_LOG_FORMAT "
            "and CALSYNC_LOG_LEVEL (docs/webhook.md)."
        ),
        epilog="example: calsync webhook --host 0.0.0.0 --port 8080 --kubeconfig ~/.kube/config",
    )
    parser.add_argument(
        "--host", default="0.0.0.0", metavar="ADDRESS", help="address to listen on (default: 0.0.0.0)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, metavar="PORT", help="port to listen on (default: 8080)"
    )
    parser.add_argument(
        "--kubeconfig",
        default=None,
        metavar="PATH",
        help="kubeconfig file (default: in-cluster config, else $KUBECONFIG or ~/.kube/config)",
    )
    parser.add_argument("--access-log", action="store_true", help="log every HTTP request")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from kubernetes import client

    from calsync_operator.kube.connect import NoKubeConfig, load_configuration
    from calsync_webhook.app import create_app
    from calsync_webhook.index import ChannelIndex
    from calsync_webhook.logs import configure_logging
    from calsync_webhook.patcher import KubePatcher
    from calsync_webhook.settings import SettingsError, WebhookSettings
    from calsync_webhook.watcher import IndexWatcher

    try:
        settings = WebhookSettings.from_env()
    except SettingsError as exc:
        raise CliError(str(exc), hint="fix the environment variable (see docs/webhook.md)") from None
    configure_logging(settings.log_format, settings.log_level)
    try:
        configuration, _namespace = load_configuration(args.kubeconfig)
    except NoKubeConfig as exc:
        hint = "run inside a Pod with a ServiceAccount, or pass --kubeconfig PATH"
        raise CliError(str(exc), hint=hint) from None
    api_client = client.ApiClient(configuration)

    index = ChannelIndex()
    patcher = KubePatcher(api_client)
    app = create_app(
        index=index,
        patcher=patcher,
        settings=settings,
        background=IndexWatcher(api_client, index, settings.namespaces),
    )
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=args.access_log)
    finally:
        patcher.close()
    return 0
