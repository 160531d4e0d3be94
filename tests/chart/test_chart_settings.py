"""The environment the chart gives each pod is accepted, and read as meant, by the very
settings code the processes run (`OperatorSettings.from_env`, `WebhookSettings.from_env`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
from chart_render import NAMESPACE, REPO, Manifest, Rendered, env_of, pod_spec

from calsync_operator.cli.main import build_parser
from calsync_operator.mail import Mailer
from calsync_operator.settings import OperatorSettings
from calsync_webhook.settings import WebhookSettings

# What the kubelet would resolve each secretKeyRef to.
SECRET_VALUES = {
    ("calsync-sendgrid", "api-key"): "SG.test-key",
    ("calsync-heartbeat", "url"): "https://kuma.example.com/api/push/abc",
}


def process_env(rendered: Rendered, deployment: str, container_name: str) -> dict[str, str]:
    pod = pod_spec(rendered.get("Deployment", deployment, NAMESPACE))
    assert pod is not None
    container: Manifest = next(c for c in pod["containers"] if c["name"] == container_name)
    env: dict[str, str] = {}
    for name, item in env_of(container).items():
        if "value" in item:
            env[name] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[name] = SECRET_VALUES[(ref["name"], ref["key"])]
    return env


def test_operator_reads_the_chart_environment(render: Callable[..., Rendered]) -> None:
    rendered = render(
        {
            "watchNamespaces": ["team-a", "team-b"],
            "logging": {"format": "json", "level": "WARNING"},
            "google": {"apiRoot": "http://emulator.calsync:8765/", "ratePerMinute": 300, "batchSize": 50},
            "operator": {"channelTtlSeconds": 86400},
            "cloudflared": {"enabled": True, "existingSecret": "t", "hostname": "calsync.example.com"},
            "alerts": {
                "from": "calsync@example.com",
                "to": ["me@example.com", "ops@example.com"],
                "sendgrid": {"apiKey": "SG.test-key", "apiHost": "https://relay.example.com"},
            },
            "heartbeat": {"url": "https://kuma.example.com/api/push/abc"},
        }
    )
    settings = OperatorSettings.from_env(process_env(rendered, "calsync-operator", "operator"))
    assert settings.webhook_url == "https://calsync.example.com/push"
    assert settings.namespaces == ("team-a", "team-b")
    assert settings.log_format == "json"
    assert settings.log_level == logging.WARNING
    assert settings.google.api_root == "http://emulator.calsync:8765/"
    assert settings.google.rate_per_minute == 300
    assert settings.google.batch_size == 50
    assert settings.channel_ttl_seconds == 86400
    assert settings.sendgrid_api_host == "https://relay.example.com"
    assert settings.alert_from == "calsync@example.com"
    assert settings.alert_to == ("me@example.com", "ops@example.com")
    assert settings.sendgrid_api_key == "SG.test-key"
    assert Mailer.from_settings(settings) is not None
    assert settings.heartbeat_url == "https://kuma.example.com/api/push/abc"
    # The ports the Deployment probes and the Service exposes are the ones the process serves.
    assert (settings.health_port, settings.metrics_port) == (8080, 9090)


def test_operator_defaults_mean_cluster_wide_and_poll_only(render: Callable[..., Rendered]) -> None:
    settings = OperatorSettings.from_env(process_env(render({}), "calsync-operator", "operator"))
    assert settings.namespaces == ()
    assert settings.webhook_url is None
    assert Mailer.from_settings(settings) is None
    assert settings.google.api_root == "https://www.googleapis.com/"
    assert settings.google.token_uri is None
    assert settings.google.batch_size == 1000
    assert settings.channel_ttl_seconds == 7 * 24 * 3600
    assert settings.sendgrid_api_host == "https://api.sendgrid.com"


def test_webhook_reads_the_chart_environment(render: Callable[..., Rendered]) -> None:
    rendered = render(
        {"rbac": {"namespaced": True}, "webhook": {"coalesceWindowMs": 100}, "logging": {"level": "DEBUG"}}
    )
    settings = WebhookSettings.from_env(process_env(rendered, "calsync-webhook", "webhook"))
    assert settings.namespaces == (NAMESPACE,)
    assert settings.coalesce_window == 0.1
    assert settings.log_format == "json"
    assert settings.log_level == logging.DEBUG


def test_container_args_are_commands_of_the_calsync_cli(render: Callable[..., Rendered]) -> None:
    """The image's ENTRYPOINT is `calsync`: each container's args must parse as one of its commands."""
    parser = build_parser()
    rendered = render({"check": {"enabled": True}})
    args_by_container = {container["name"]: container["args"] for _, container in rendered.containers()}
    operator = parser.parse_args(args_by_container["operator"])
    assert (operator.command, operator.namespace) == ("operator", [])
    webhook = parser.parse_args(args_by_container["webhook"])
    assert (webhook.command, webhook.host, webhook.port) == ("webhook", "0.0.0.0", 8080)
    assert parser.parse_args(args_by_container["check"]).command == "check"


def test_check_reads_the_cronjob_environment(
    render: Callable[..., Rendered], monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = render({"check": {"enabled": True, "extraArgs": ["--max-age", "20m", "-o", "json"]}})
    cronjob = rendered.get("CronJob", "calsync-check", NAMESPACE)
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    for name, item in env_of(container).items():
        if "value" in item:
            monkeypatch.setenv(name, item["value"])
    # `calsync check` takes its defaults from the environment when its parser is built.
    args = build_parser().parse_args(container["args"])
    assert args.command == "check"
    assert args.operator_url == "http://calsync-operator.calsync.svc:8080/healthz"
    assert args.webhook_url == "http://calsync-webhook.calsync.svc:8080/healthz"
    assert args.state_configmap == "calsync-check-state"
    assert (args.max_age, args.output) == ("20m", "json")
    # The namespace of the state ConfigMap comes from the downward API, as the check expects.
    assert env_of(container)["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"


# Every variable the shipped code reads, found in its source, so a variable added later cannot be
# forgotten by the chart or the docs (docs/design.md §7: "all documented in the README and the chart").
PACKAGES = [REPO / "operator" / "calsync_operator", REPO / "webhook" / "calsync_webhook"]
ENV_NAME = re.compile(r"""["'`]((?:CALSYNC|SENDGRID)_[A-Z0-9_]+)["'`=]""")
# Read by the code but deliberately not set by the chart, with the reason.
NOT_FROM_CHART: dict[str, str] = {
    "CALSYNC_SHARD": "the StatefulSet's pods take their shard from the ordinal in POD_NAME",
    # A deployment's webhook is public https (Google pushes nowhere else); plain http on
    # loopback exists only for tests and the demo, which set it themselves.
    "CALSYNC_WEBHOOK_INSECURE_LOOPBACK": "tests and the demo only",
}


def variables_the_code_reads() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in package.rglob("*.py"):
            found.update(ENV_NAME.findall(path.read_text(encoding="utf-8")))
    return found


def test_the_code_reads_the_variables_design_names() -> None:
    """The scan below must see what docs/design.md §7 lists, else it proves nothing."""
    design = {
        "CALSYNC_WEBHOOK_URL", "CALSYNC_GOOGLE_API_ROOT", "CALSYNC_GOOGLE_TOKEN_URI",
        "CALSYNC_RATE_PER_MINUTE", "SENDGRID_API_KEY", "CALSYNC_ALERT_FROM", "CALSYNC_ALERT_TO",
        "CALSYNC_HEARTBEAT_URL", "CALSYNC_NAMESPACES", "CALSYNC_LOG_FORMAT", "CALSYNC_LOG_LEVEL",
    }  # fmt: skip
    assert design <= variables_the_code_reads()


def test_every_variable_the_code_reads_is_set_by_the_chart(render: Callable[..., Rendered]) -> None:
    rendered = render(
        {
            "check": {"enabled": True},
            "cloudflared": {"enabled": True, "existingSecret": "t", "hostname": "calsync.example.com"},
            "google": {"tokenUri": "https://oauth2.example.com/token"},
            "alerts": {
                "from": "calsync@example.com",
                "to": ["me@example.com"],
                "sendgrid": {"existingSecret": "sendgrid", "apiHost": "https://relay.example.com"},
            },
            "heartbeat": {"existingSecret": "kuma"},
            "operator": {"shards": 3},
        }
    )
    set_by_chart = {name for _, container in rendered.containers() for name in env_of(container)}
    missing = variables_the_code_reads() - set_by_chart - NOT_FROM_CHART.keys()
    assert missing == set(), "add these to the chart (values.yaml, schema, template) or to NOT_FROM_CHART"


def test_every_variable_the_code_reads_is_documented() -> None:
    pages = [REPO / "README.md", *REPO.glob("docs/*.md")]
    docs = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    undocumented = sorted(name for name in variables_the_code_reads() if f"`{name}`" not in docs)
    assert undocumented == []
