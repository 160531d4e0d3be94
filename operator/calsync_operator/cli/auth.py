"""``calsync auth``: sign in to Google once and keep the token in a Kubernetes Secret.

It replaces the old bot's token script, which had people edit paths inside the script. This
module holds the options; the work is ``calsync_operator.auth.command``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from calsync_operator.kube.connect import add_cluster_arguments

_NAME_HELP = "the Secret your CalendarSync names in credentials.secretRef.name, e.g. personal-token"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "auth",
        help="sign in to Google and store the token in a Kubernetes Secret",
        description=(
            "Run Google's sign-in for a Desktop-app OAuth client (scope: Google Calendar) and write "
            "the token JSON into a Secret in the current kubeconfig's cluster, creating or updating "
            "it; or print the Secret manifest with -o yaml. Run it once per Google account."
        ),
        epilog=("example: calsync auth --client-secrets client.json --secret personal-token -n calsync"),
    )
    parser.add_argument(
        "--client-secrets",
        required=True,
        type=Path,
        metavar="FILE",
        help="the OAuth client JSON downloaded from Google Cloud Console (docs/google-cloud.md)",
    )
    parser.add_argument("--secret", required=True, metavar="NAME", help=_NAME_HELP)
    parser.add_argument(
        "-n",
        "--namespace",
        metavar="NS",
        help="namespace of the Secret (default: the kubeconfig context's, else default)",
    )
    parser.add_argument("--key", default="token.json", help="key inside the Secret (default: token.json)")
    parser.add_argument(
        "-o",
        "--output",
        choices=["yaml"],
        help="print the Secret manifest (with the token) instead of writing it to the cluster",
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="do not start a local server: print the sign-in URL and paste back where the browser "
        "ended (for SSH sessions)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        metavar="PORT",
        help="local port for Google's redirect (default: any free port)",
    )
    add_cluster_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from calsync_operator.auth import flow
    from calsync_operator.auth.command import execute

    return execute(args, show_url=flow.default_show_url)
