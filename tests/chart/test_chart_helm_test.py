"""`helm test`: a hook Pod runs `calsync check` against the release and fails on any problem."""

from __future__ import annotations

from collections.abc import Callable

from chart_render import NAMESPACE, Rendered, env_of
from test_chart_rbac import CHECK, WEBHOOK, bindings, roles

OPERATOR_HEALTH = f"http://calsync-operator.{NAMESPACE}.svc:8080/healthz"
WEBHOOK_HEALTH = f"http://calsync-webhook.{NAMESPACE}.svc:8080/healthz"


def test_the_test_pod_is_a_helm_test_hook_running_calsync_check(render: Callable[..., Rendered]) -> None:
    pod = render({}).get("Pod", "calsync-test", NAMESPACE)
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    # Kept after the run for `helm test --logs`, replaced by the next run.
    assert pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation"
    assert pod["spec"]["restartPolicy"] == "Never"
    (container,) = pod["spec"]["containers"]
    assert container["args"] == ["check"]
    env = env_of(container)
    assert env["CALSYNC_OPERATOR_HEALTH_URL"]["value"] == OPERATOR_HEALTH
    assert env["CALSYNC_WEBHOOK_HEALTH_URL"]["value"] == WEBHOOK_HEALTH
    # Neither mails nor rewrites the CronJob's remembered verdict.
    assert not {"SENDGRID_API_KEY", "CALSYNC_CHECK_STATE_CONFIGMAP", "CALSYNC_ALERT_TO"} & set(env)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp"}


def test_the_check_checks_the_served_namespaces_only(render: Callable[..., Rendered]) -> None:
    rendered = render({"rbac": {"namespaced": True}, "watchNamespaces": ["team-a"]})
    (container,) = rendered.get("Pod", "calsync-test", NAMESPACE)["spec"]["containers"]
    assert env_of(container)["CALSYNC_NAMESPACES"]["value"] == "team-a"


def test_the_pod_reads_calendarsyncs_with_an_account_that_may(render: Callable[..., Rendered]) -> None:
    """The check CronJob's account when there is one (get/list only), else the webhook's."""
    for values, account, expected in [
        ({}, "calsync-webhook", WEBHOOK),
        ({"check": {"enabled": True}}, "calsync-check", CHECK),
    ]:
        rendered = render(values)
        assert rendered.get("Pod", "calsync-test", NAMESPACE)["spec"]["serviceAccountName"] == account
        role, subjects = bindings(rendered)[("ClusterRoleBinding", None, account)]
        assert subjects == [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}]
        assert roles(rendered)[("ClusterRole", None, role)] == expected


def test_extra_arguments_and_opting_out(render: Callable[..., Rendered]) -> None:
    pod = render({"tests": {"extraArgs": ["--max-age", "30m"]}}).get("Pod", "calsync-test", NAMESPACE)
    assert pod["spec"]["containers"][0]["args"] == ["check", "--max-age", "30m"]
    assert render({"tests": {"enabled": False}}).of_kind("Pod") == []
