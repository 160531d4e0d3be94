"""``calsync check``: one health pass, for the ``check`` CronJob and for people.

The old bot's health-monitor container, done as a CronJob: probe the operator's liveness
endpoint and the webhook's ``/healthz``, read every CalendarSync, judge them (``health``), print
a table or JSON, and exit 0 healthy / 1 unhealthy / 2 cannot check. With SendGrid configured it
mails only when the overall state changes; the state last mailed about is kept in a ConfigMap,
so a CronJob every 5 minutes sends one mail per incident and one when it is over. A person
running the command without SendGrid never touches that ConfigMap (the CronJob's memory).

Environment (set by the chart): ``CALSYNC_OPERATOR_HEALTH_URL``, ``CALSYNC_WEBHOOK_HEALTH_URL``,
``CALSYNC_NAMESPACES``, ``CALSYNC_CHECK_STATE_CONFIGMAP``, ``POD_NAMESPACE`` and the mail
settings the operator uses (``SENDGRID_API_KEY``, ``CALSYNC_ALERT_FROM``, ``CALSYNC_ALERT_TO``,
``CALSYNC_SENDGRID_API_HOST``).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from calsync_operator.kube.connect import add_cluster_arguments, add_namespaces_argument

ENV_OPERATOR_URL = "CALSYNC_OPERATOR_HEALTH_URL"
ENV_WEBHOOK_URL = "CALSYNC_WEBHOOK_HEALTH_URL"
ENV_STATE_CONFIGMAP = "CALSYNC_CHECK_STATE_CONFIGMAP"
DEFAULT_STATE_CONFIGMAP = "calsync-check-state"
# Exit codes: 0 healthy, 1 unhealthy (``check.command``), 2 cannot check (``CliError``).


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="one health pass: operator, webhook and every CalendarSync (exit 0/1/2)",
        description=(
            "Probe the operator's liveness endpoint and the webhook's /healthz, and judge every "
            "CalendarSync: Ready condition, age of the last sync (default limit: 3 x its "
            "pollInterval) and expired push channels. Exit 0 healthy, 1 unhealthy, 2 cannot check. "
            "With SENDGRID_API_KEY, CALSYNC_ALERT_FROM and CALSYNC_ALERT_TO set, mail when the "
            "overall state changes (remembered in a ConfigMap)."
        ),
        epilog="examples: calsync check | calsync check -n calsync -o json --max-age 15m",
    )
    _add_target_arguments(parser)
    _add_state_arguments(parser)
    add_cluster_arguments(parser)
    parser.set_defaults(func=run)


def _add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """What to probe and which CalendarSyncs to judge, how strictly, and how to print it."""
    parser.add_argument(
        "--operator-url",
        default=os.environ.get(ENV_OPERATOR_URL) or None,
        metavar="URL",
        help=f"operator liveness URL (default: ${ENV_OPERATOR_URL}; unset: not probed)",
    )
    parser.add_argument(
        "--webhook-url",
        default=os.environ.get(ENV_WEBHOOK_URL) or None,
        metavar="URL",
        help=f"webhook /healthz URL (default: ${ENV_WEBHOOK_URL}; unset: not probed)",
    )
    add_namespaces_argument(
        parser, "check CalendarSyncs in this namespace (repeatable; default: $CALSYNC_NAMESPACES, else all)"
    )
    parser.add_argument(
        "--max-age",
        metavar="DURATION",
        help="a last sync older than this is unhealthy, e.g. 15m (default: 3 x each pollInterval)",
    )
    parser.add_argument(
        "-o", "--output", choices=["table", "json"], default="table", help="output format (default: table)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds per endpoint probe (default: 5)",
    )


def _add_state_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the state last mailed about is remembered."""
    parser.add_argument(
        "--state-configmap",
        default=os.environ.get(ENV_STATE_CONFIGMAP) or DEFAULT_STATE_CONFIGMAP,
        metavar="NAME",
        help="ConfigMap remembering the last mailed state (default: %(default)s)",
    )
    parser.add_argument(
        "--state-namespace",
        metavar="NS",
        help="namespace of that ConfigMap (default: $POD_NAMESPACE, else the kubeconfig context's)",
    )


def run(args: argparse.Namespace) -> int:
    from calsync_operator.check.command import run_check

    return run_check(args)
