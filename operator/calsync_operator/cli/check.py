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
import sys
from typing import TYPE_CHECKING, Any, cast

from calsync_operator.errors import CliError
from calsync_operator.kube.connect import add_cluster_arguments

if TYPE_CHECKING:
    from calsync_operator.check.health import EndpointResult, Report
    from calsync_operator.kube.connect import Cluster
    from calsync_operator.mail import Mailer

ENV_OPERATOR_URL = "CALSYNC_OPERATOR_HEALTH_URL"
ENV_WEBHOOK_URL = "CALSYNC_WEBHOOK_HEALTH_URL"
ENV_STATE_CONFIGMAP = "CALSYNC_CHECK_STATE_CONFIGMAP"
DEFAULT_STATE_CONFIGMAP = "calsync-check-state"
EXIT_HEALTHY, EXIT_UNHEALTHY = 0, 1  # 2 (cannot check): CliError's exit code


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
    parser.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="check CalendarSyncs in this namespace (repeatable; default: $CALSYNC_NAMESPACES, else all)",
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
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds per endpoint probe (default: 5)",
    )
    add_cluster_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from datetime import UTC, datetime

    from calsync_operator.api.spec import parse_duration
    from calsync_operator.check.health import build_report, render_table
    from calsync_operator.kube.connect import connect

    try:
        max_age = None if args.max_age is None else float(parse_duration(args.max_age))
    except ValueError as exc:
        raise CliError(f"--max-age: {exc}") from None
    namespaces = args.namespace or _env_namespaces()
    mailer = _mailer()
    cluster = connect(args.kubeconfig, args.context)
    try:
        objects = _list_calendarsyncs(cluster, namespaces)
        endpoints = [
            probe("operator", args.operator_url, args.timeout),
            probe("webhook", args.webhook_url, args.timeout),
        ]
        report = build_report(datetime.now(UTC), endpoints, objects, max_age)
        if args.output == "json":
            print(json.dumps(report.to_json(), indent=2), flush=True)
        else:
            print(render_table(report), end="", flush=True)
        if mailer is not None:
            state_namespace = args.state_namespace or os.environ.get("POD_NAMESPACE") or cluster.namespace
            _notify_on_change(cluster, mailer, report, state_namespace, args.state_configmap)
    finally:
        cluster.close()
    return EXIT_HEALTHY if report.state == "healthy" else EXIT_UNHEALTHY


def _env_namespaces() -> list[str]:
    return [ns.strip() for ns in os.environ.get("CALSYNC_NAMESPACES", "").split(",") if ns.strip()]


def _mailer() -> Mailer | None:
    """The operator's SendGrid ``Mailer`` from the same environment, or None when not configured."""
    from calsync_operator.google.endpoints import SettingsError as GoogleSettingsError
    from calsync_operator.mail import Mailer
    from calsync_operator.settings import OperatorSettings, SettingsError

    try:
        return Mailer.from_settings(OperatorSettings.from_env())
    except (SettingsError, GoogleSettingsError) as exc:
        raise CliError(str(exc), hint="fix the environment variable (see docs/cli.md)") from None


def probe(name: str, url: str | None, timeout: float) -> EndpointResult:
    """GET a health endpoint: healthy on any 2xx."""
    import httpx

    from calsync_operator.check.health import EndpointResult

    if not url:
        return EndpointResult(name, None, True, "not probed (no URL)")
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.TimeoutException:
        return EndpointResult(name, url, False, f"no answer within {timeout:g}s")
    except httpx.HTTPError as exc:
        return EndpointResult(name, url, False, f"unreachable ({type(exc).__name__})")
    return EndpointResult(name, url, response.is_success, f"HTTP {response.status_code}")


def _list_calendarsyncs(cluster: Cluster, namespaces: list[str]) -> list[dict[str, Any]]:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from calsync_operator.api.names import GROUP, PLURAL, VERSION
    from calsync_operator.kube.connect import REQUEST_TIMEOUT

    api = client.CustomObjectsApi(cluster.api_client)
    where = ", ".join(namespaces) if namespaces else "all namespaces"
    items: list[dict[str, Any]] = []
    with cluster.calling(f"list CalendarSyncs in {where}"):
        try:
            scopes: list[str | None] = list(namespaces) or [None]  # None: every namespace
            for namespace in scopes:
                listed = (
                    api.list_cluster_custom_object(GROUP, VERSION, PLURAL, _request_timeout=REQUEST_TIMEOUT)
                    if namespace is None
                    else api.list_namespaced_custom_object(
                        GROUP, VERSION, namespace, PLURAL, _request_timeout=REQUEST_TIMEOUT
                    )
                )
                items += cast(dict[str, Any], listed).get("items") or []
        except ApiException as exc:
            if exc.status != 404:
                raise
            raise CliError(
                f"cannot list CalendarSyncs in {where}: the API server does not know them",
                hint="install the CRD: helm install calsync ./helm/calsync (or kubectl apply -f crds/)",
            ) from None
    return items


def _notify_on_change(cluster: Cluster, mailer: Mailer, report: Report, namespace: str, name: str) -> None:
    """Mail when the state differs from the one last mailed about; remember it only once sent,
    so a mail that failed is tried again by the next run."""
    from calsync_operator.check.health import mail_subject, render_table, should_notify
    from calsync_operator.mail import MailMessage

    state_store = StateConfigMap(cluster, namespace, name)
    previous = state_store.read()
    if not should_notify(previous, report.state):
        return
    subject = mail_subject(report)
    if mailer.send(MailMessage(subject=subject, body=render_table(report))):
        print(f"calsync check: mailed {subject!r} to {', '.join(mailer.recipients)}", file=sys.stderr)
        state_store.write(report)
    else:
        print("calsync check: the alert mail was not sent; the next run tries again", file=sys.stderr)


class StateConfigMap:
    """The last state mailed about, in ``data.state`` of one ConfigMap. Failures to read or write
    are warnings: the health verdict (the exit code) must not depend on this memory."""

    def __init__(self, cluster: Cluster, namespace: str, name: str) -> None:
        from kubernetes import client

        self._core = client.CoreV1Api(cluster.api_client)
        self._cluster = cluster
        self.namespace = namespace
        self.name = name
        self._exists = False

    def read(self) -> str | None:
        from kubernetes.client.exceptions import ApiException

        try:
            found = self._core.read_namespaced_config_map(self.name, self.namespace, _request_timeout=15)
        except ApiException as exc:
            if exc.status != 404:
                self._warn("read", exc)
            return None
        except Exception as exc:
            self._warn("read", exc)
            return None
        self._exists = True
        return str((found.data or {}).get("state") or "") or None

    def write(self, report: Report) -> None:
        from kubernetes import client

        data = {
            "state": report.state,
            "since": report.checked_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "problems": "\n".join(report.problems),
        }
        try:
            if self._exists:
                self._core.patch_namespaced_config_map(
                    self.name, self.namespace, {"data": data}, _request_timeout=15
                )
            else:
                body = client.V1ConfigMap(
                    metadata=client.V1ObjectMeta(
                        name=self.name,
                        namespace=self.namespace,
                        labels={"app.kubernetes.io/part-of": "calsync"},
                    ),
                    data=data,
                )
                self._core.create_namespaced_config_map(self.namespace, body, _request_timeout=15)
        except Exception as exc:
            self._warn("write", exc)

    def _warn(self, verb: str, exc: Exception) -> None:
        from calsync_operator.kube.connect import describe_failure

        error = describe_failure(exc, self._cluster, f"{verb} ConfigMap {self.namespace}/{self.name}")
        print(f"calsync check: warning: {error or exc} (mails may repeat)", file=sys.stderr)
