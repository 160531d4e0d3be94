"""``calsync check``'s work: probe the endpoints, list and judge the CalendarSyncs, print, mail.

The verdict is ``health`` (pure); this module does the I/O around it: the HTTP probes, the
Kubernetes reads, the output, and the mail sent only when the overall state changes — the
state last mailed about is kept in a ConfigMap, so a CronJob every 5 minutes sends one mail per
incident and one when it is over. The command's options are in ``cli/check.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, cast

from calsync_operator.api.names import PART_OF_LABEL, PART_OF_VALUE
from calsync_operator.errors import CliError

if TYPE_CHECKING:
    from calsync_operator.check.health import EndpointResult, Report
    from calsync_operator.kube.connect import Cluster
    from calsync_operator.mail import Mailer
    from calsync_operator.settings import Environment

EXIT_HEALTHY, EXIT_UNHEALTHY = 0, 1


def run_check(args: argparse.Namespace) -> int:
    import json
    from datetime import UTC, datetime

    from calsync_operator.api.spec import parse_duration
    from calsync_operator.check.health import build_report, render_table
    from calsync_operator.kube.connect import connect

    try:
        max_age = None if args.max_age is None else float(parse_duration(args.max_age))
    except ValueError as exc:
        raise CliError(f"--max-age: {exc}") from None
    namespaces = args.namespace or list(_environment().namespaces())
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


def _environment() -> Environment:
    from calsync_operator.settings import Environment

    return Environment()


def _mailer() -> Mailer | None:
    """The operator's SendGrid ``Mailer`` from the same environment, or None when not configured."""
    from calsync_operator.errors import SettingsError
    from calsync_operator.mail import Mailer
    from calsync_operator.settings import OperatorSettings

    try:
        return Mailer.from_settings(OperatorSettings.from_env())
    except SettingsError as exc:
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
                found = cast(dict[str, Any], listed).get("items") or []
                if namespace is not None and not found and _namespace_missing(cluster, namespace):
                    # An empty list from a namespace that does not exist is a typo, not health.
                    raise CliError(
                        f"namespace {namespace!r} does not exist",
                        hint="check the name: kubectl get namespaces",
                    )
                items += found
        except ApiException as exc:
            if exc.status != 404:
                raise
            raise CliError(
                f"cannot list CalendarSyncs in {where}: the API server does not know them",
                hint="install the CRD: helm install calsync ./helm/calsync (or kubectl apply -f crds/)",
            ) from None
    return items


def _namespace_missing(cluster: Cluster, namespace: str) -> bool:
    """True only when the API server says the namespace does not exist (no permission to read
    namespaces, as with the chart's namespaced RBAC, tells nothing: then it is not missing)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from calsync_operator.kube.connect import REQUEST_TIMEOUT

    try:
        client.CoreV1Api(cluster.api_client).read_namespace(namespace, _request_timeout=REQUEST_TIMEOUT)
    except ApiException as exc:
        return bool(exc.status == 404)
    return False


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
                        labels={PART_OF_LABEL: PART_OF_VALUE},
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
