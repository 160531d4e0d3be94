"""The pods get exactly the runtime contract of docs/design.md §7 and §9: args, ports, probes,
environment, Secrets by reference, and the public push URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chart_render import NAMESPACE, Manifest, Rendered, env_of, pod_spec, render_chart

TUNNEL = {"enabled": True, "existingSecret": "cloudflared-token", "hostname": "calsync.example.com"}


def container(rendered: Rendered, kind: str, name: str, container_name: str) -> Manifest:
    pod = pod_spec(rendered.get(kind, name, NAMESPACE))
    assert pod is not None
    return next(c for c in pod["containers"] if c["name"] == container_name)


def plain_env(c: Manifest) -> dict[str, str]:
    return {name: item["value"] for name, item in env_of(c).items() if "value" in item}


def secret_ref(c: Manifest, name: str) -> dict[str, str]:
    ref: dict[str, str] = env_of(c)[name]["valueFrom"]["secretKeyRef"]
    return ref


def test_operator_runs_one_replica_with_recreate(render: Callable[..., Rendered]) -> None:
    deployment = render({}).get("Deployment", "calsync-operator", NAMESPACE)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_operator_container_contract(render: Callable[..., Rendered]) -> None:
    operator = container(render({}), "Deployment", "calsync-operator", "operator")
    assert operator["image"] == "ghcr.io/calsync/calsync:0.1.0"
    assert operator["args"] == ["operator"]
    assert {p["name"]: p["containerPort"] for p in operator["ports"]} == {"health": 8080, "metrics": 9090}
    assert operator["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert plain_env(operator) == {
        "CALSYNC_NAMESPACES": "",
        "CALSYNC_LOG_FORMAT": "json",
        "CALSYNC_LOG_LEVEL": "INFO",
        "CALSYNC_GOOGLE_API_ROOT": "https://www.googleapis.com/",
        "CALSYNC_RATE_PER_MINUTE": "500",
        "CALSYNC_GOOGLE_BATCH_SIZE": "1000",
        "CALSYNC_CHANNEL_TTL_SECONDS": "604800",
        "CALSYNC_FULL_SYNC_INTERVAL_SECONDS": "86400",
        "CALSYNC_HEALTH_PORT": "8080",
        "CALSYNC_METRICS_PORT": "9090",
        "CALSYNC_ALERT_FROM": "",
        "CALSYNC_ALERT_TO": "",
    }
    # No public URL configured: push stays off rather than pointing Google at nothing.
    assert "CALSYNC_WEBHOOK_URL" not in env_of(operator)
    assert "SENDGRID_API_KEY" not in env_of(operator)


def test_operator_settings_from_values(render: Callable[..., Rendered]) -> None:
    rendered = render(
        {
            "image": {"repository": "registry.local/calsync", "tag": "0.2.0-rc1", "pullPolicy": "Always"},
            "watchNamespaces": ["team-a", "team-b"],
            "logging": {"format": "text", "level": "DEBUG"},
            "google": {
                "apiRoot": "http://emulator.calsync:8765/",
                "tokenUri": "http://emulator.calsync:8765/token",
                "ratePerMinute": 120,
                "batchSize": 100,
            },
            "operator": {
                "webhookUrl": "https://hooks.example.com/calsync/push",
                "channelTtlSeconds": 3600,
                "extraEnv": [{"name": "EXTRA", "value": "1"}],
            },
            "alerts": {
                "from": "calsync@example.com",
                "to": ["me@example.com", "ops@example.com"],
                "sendgrid": {
                    "existingSecret": "sendgrid",
                    "existingSecretKey": "key",
                    "apiHost": "https://relay.example.com",
                },
            },
            "heartbeat": {"existingSecret": "kuma", "existingSecretKey": "push-url"},
        }
    )
    operator = container(rendered, "Deployment", "calsync-operator", "operator")
    assert operator["image"] == "registry.local/calsync:0.2.0-rc1"
    assert operator["imagePullPolicy"] == "Always"
    assert plain_env(operator) == {
        "CALSYNC_NAMESPACES": "team-a,team-b",
        "CALSYNC_LOG_FORMAT": "text",
        "CALSYNC_LOG_LEVEL": "DEBUG",
        "CALSYNC_WEBHOOK_URL": "https://hooks.example.com/calsync/push",
        "CALSYNC_GOOGLE_API_ROOT": "http://emulator.calsync:8765/",
        "CALSYNC_GOOGLE_TOKEN_URI": "http://emulator.calsync:8765/token",
        "CALSYNC_RATE_PER_MINUTE": "120",
        "CALSYNC_GOOGLE_BATCH_SIZE": "100",
        "CALSYNC_CHANNEL_TTL_SECONDS": "3600",
        "CALSYNC_FULL_SYNC_INTERVAL_SECONDS": "86400",
        "CALSYNC_HEALTH_PORT": "8080",
        "CALSYNC_METRICS_PORT": "9090",
        "CALSYNC_SENDGRID_API_HOST": "https://relay.example.com",
        "CALSYNC_ALERT_FROM": "calsync@example.com",
        "CALSYNC_ALERT_TO": "me@example.com,ops@example.com",
        "EXTRA": "1",
    }
    assert secret_ref(operator, "SENDGRID_API_KEY") == {"name": "sendgrid", "key": "key"}
    assert secret_ref(operator, "CALSYNC_HEARTBEAT_URL") == {"name": "kuma", "key": "push-url"}
    # Existing Secrets are referenced, never copied into a chart-made Secret.
    assert rendered.of_kind("Secret") == []


def test_inline_secrets_go_into_chart_made_secrets_and_roll_the_pods(render: Callable[..., Rendered]) -> None:
    values: dict[str, Any] = {
        "alerts": {"from": "calsync@example.com", "to": ["me@example.com"], "sendgrid": {"apiKey": "SG.one"}},
        "heartbeat": {"url": "https://kuma.example.com/api/push/abc"},
        "cloudflared": {"enabled": True, "tunnelToken": "tunnel-one", "hostname": "calsync.example.com"},
    }
    rendered = render(values)
    secrets = {s["metadata"]["name"]: s for s in rendered.of_kind("Secret")}
    assert sorted(secrets) == ["calsync-heartbeat", "calsync-sendgrid", "calsync-tunnel"]
    operator = container(rendered, "Deployment", "calsync-operator", "operator")
    assert secret_ref(operator, "SENDGRID_API_KEY") == {"name": "calsync-sendgrid", "key": "api-key"}
    assert secret_ref(operator, "CALSYNC_HEARTBEAT_URL") == {"name": "calsync-heartbeat", "key": "url"}
    tunnel = container(rendered, "Deployment", "calsync-webhook", "cloudflared")
    assert secret_ref(tunnel, "TUNNEL_TOKEN") == {"name": "calsync-tunnel", "key": "token"}
    # The values never appear in plain text in a pod spec.
    for deployment in rendered.of_kind("Deployment"):
        text = str(deployment)
        for secret_value in ("SG.one", "tunnel-one", "api/push/abc"):
            assert secret_value not in text

    def checksums(r: Rendered) -> list[str]:
        return [
            d["spec"]["template"]["metadata"]["annotations"]["checksum/secrets"]
            for d in r.of_kind("Deployment")
        ]

    rotated = render({**values, "cloudflared": {**values["cloudflared"], "tunnelToken": "tunnel-two"}})
    assert all(a != b for a, b in zip(checksums(rendered), checksums(rotated), strict=True))


def test_webhook_container_contract(render: Callable[..., Rendered]) -> None:
    rendered = render({"webhook": {"coalesceWindowMs": 100}})
    deployment = rendered.get("Deployment", "calsync-webhook", NAMESPACE)
    assert deployment["spec"]["replicas"] == 2
    webhook = container(rendered, "Deployment", "calsync-webhook", "webhook")
    assert webhook["args"] == ["webhook", "--host", "0.0.0.0", "--port", "8080"]
    assert webhook["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert webhook["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert webhook["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert plain_env(webhook) == {
        "CALSYNC_NAMESPACES": "",
        "CALSYNC_COALESCE_WINDOW_MS": "100",
        "CALSYNC_LOG_FORMAT": "json",
        "CALSYNC_LOG_LEVEL": "INFO",
    }
    # The webhook never sees Google or SendGrid credentials.
    assert set(env_of(webhook)) == set(plain_env(webhook))
    service = rendered.get("Service", "calsync-webhook", NAMESPACE)
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]
    assert [c["name"] for c in pod_spec(deployment)["containers"]] == ["webhook"]  # type: ignore[index]


def test_cloudflared_sidecar(render: Callable[..., Rendered]) -> None:
    rendered = render({"cloudflared": TUNNEL})
    pod = pod_spec(rendered.get("Deployment", "calsync-webhook", NAMESPACE))
    assert pod is not None
    assert [c["name"] for c in pod["containers"]] == ["webhook", "cloudflared"]
    tunnel = pod["containers"][1]
    assert tunnel["image"] == "cloudflare/cloudflared:2025.11.1"
    assert tunnel["args"] == ["tunnel", "--no-autoupdate", "--metrics", "0.0.0.0:2000", "run"]
    assert secret_ref(tunnel, "TUNNEL_TOKEN") == {"name": "cloudflared-token", "key": "token"}
    for probe in ("livenessProbe", "readinessProbe"):
        assert tunnel[probe]["httpGet"] == {"path": "/ready", "port": "tunnel-metrics"}
    assert tunnel["ports"] == [{"name": "tunnel-metrics", "containerPort": 2000, "protocol": "TCP"}]
    operator = container(rendered, "Deployment", "calsync-operator", "operator")
    assert plain_env(operator)["CALSYNC_WEBHOOK_URL"] == "https://calsync.example.com/push"
    assert rendered.of_kind("Ingress") == []


@pytest.mark.parametrize(
    ("values", "url"),
    [
        ({"ingress": {"enabled": True, "host": "calsync.example.com"}}, "https://calsync.example.com/push"),
        (
            {"cloudflared": TUNNEL, "operator": {"webhookUrl": "https://other.example.com/push"}},
            "https://other.example.com/push",
        ),
        ({"operator": {"webhookUrl": "https://lb.example.com/push"}}, "https://lb.example.com/push"),
    ],
)
def test_webhook_url_precedence(render: Callable[..., Rendered], values: dict[str, Any], url: str) -> None:
    operator = container(render(values), "Deployment", "calsync-operator", "operator")
    assert plain_env(operator)["CALSYNC_WEBHOOK_URL"] == url


def test_ingress_exposes_only_the_push_path(render: Callable[..., Rendered]) -> None:
    rendered = render({"ingress": {"enabled": True, "host": "calsync.example.com"}})
    [ingress] = rendered.of_kind("Ingress")
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert ingress["spec"]["tls"] == [{"hosts": ["calsync.example.com"], "secretName": "calsync-webhook-tls"}]
    assert ingress["spec"]["rules"] == [
        {
            "host": "calsync.example.com",
            "http": {
                "paths": [
                    {
                        "path": "/push",
                        "pathType": "Exact",
                        "backend": {"service": {"name": "calsync-webhook", "port": {"name": "http"}}},
                    }
                ]
            },
        }
    ]


def test_check_cronjob_points_at_the_services(render: Callable[..., Rendered]) -> None:
    rendered = render(
        {
            "check": {"enabled": True},
            "alerts": {
                "from": "calsync@example.com",
                "to": ["me@example.com"],
                "sendgrid": {"apiKey": "SG.x"},
            },
        }
    )
    [cronjob] = rendered.of_kind("CronJob")
    assert cronjob["spec"]["schedule"] == "*/5 * * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    check = container(rendered, "CronJob", "calsync-check", "check")
    assert check["args"] == ["check"]
    env = plain_env(check)
    assert env["CALSYNC_OPERATOR_HEALTH_URL"] == "http://calsync-operator.calsync.svc:8080/healthz"
    assert env["CALSYNC_WEBHOOK_HEALTH_URL"] == "http://calsync-webhook.calsync.svc:8080/healthz"
    assert env["CALSYNC_CHECK_STATE_CONFIGMAP"] == "calsync-check-state"
    assert env["CALSYNC_ALERT_TO"] == "me@example.com"
    assert secret_ref(check, "SENDGRID_API_KEY") == {"name": "calsync-sendgrid", "key": "api-key"}
    assert env_of(check)["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    # The health URLs name Services that exist and serve the probe port.
    for component in ("operator", "webhook"):
        service = rendered.get("Service", f"calsync-{component}", NAMESPACE)
        assert 8080 in {p["port"] for p in service["spec"]["ports"]}
    assert render({}).of_kind("CronJob") == []


def test_full_name_follows_the_release_and_overrides(chart: Any) -> None:
    rendered = render_chart(chart, {"fullnameOverride": "sync"})
    assert {d["metadata"]["name"] for d in rendered.of_kind("Deployment")} == {
        "sync-operator",
        "sync-webhook",
    }
