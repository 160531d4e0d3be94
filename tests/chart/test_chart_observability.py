"""The Grafana dashboard and the alert rules: opt-in, and every query names only series and
labels that the code's prometheus-client definitions export, parsed by a real PromQL parser."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chart_render import CHART_DIR, MONITORING_API, NAMESPACE, Rendered
from exported_metrics import TARGET_LABELS, exported_series, families
from prometheus_client import generate_latest
from promql_check import parse, problems, uses

from calsync_operator.api.conditions import ReadyReason
from calsync_webhook.metrics import Outcome, WebhookMetrics

DASHBOARD = json.loads((CHART_DIR / "dashboards" / "calsync.json").read_text())
ALL_ON = {
    "monitoring": {
        "serviceMonitor": {"enabled": True},
        "dashboard": {"enabled": True},
        "prometheusRule": {"enabled": True},
    }
}
# Closed sets of label values the queries may match on, from the code's own enums.
KNOWN_VALUES = {
    ("calsync_webhook_pushes_total", "outcome"): {o.value for o in Outcome},
    ("calsync_calendarsync_ready", "reason"): {r.value for r in ReadyReason},
}
# The dashboard's panels, as the issue lists them: each must be there.
PANEL_METRICS = {
    "calsync_calendarsync_ready",
    "calsync_syncs_total",
    "calsync_operations_total",
    "calsync_push_to_write_seconds_bucket",
    "calsync_google_calls_total",
    "calsync_google_retries_total",
    "calsync_channel_seconds_to_expiry",
    "calsync_google_ratelimit_wait_seconds_sum",
    "calsync_webhook_pushes_total",
}


def dashboard_queries() -> Iterator[tuple[str, str]]:
    for panel in DASHBOARD["panels"]:
        for target in panel["targets"]:
            yield panel["title"], target["expr"]


def rule_expressions(rendered: Rendered) -> dict[str, str]:
    (rule,) = rendered.of_kind("PrometheusRule")
    return {r["alert"]: r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]}


def test_exported_series_follow_prometheus_client_naming() -> None:
    """The names derived from the definitions are those prometheus-client writes."""
    exposition = generate_latest(WebhookMetrics(channel_count=lambda: 0).registry).decode()
    written = {
        line.split("{")[0].split(" ")[0] for line in exposition.splitlines() if not line.startswith("#")
    }
    assert written
    assert written <= exported_series().keys()
    assert "calsync_webhook_pushes_total" in written
    assert len({f.name for f in families()}) == len(list(families())), "a metric is defined twice"


def test_observability_is_opt_in(render: Callable[..., Rendered]) -> None:
    assert render({}, api_versions=[MONITORING_API]).of_kind("PrometheusRule") == []
    assert [
        c for c in render({}).of_kind("ConfigMap") if "grafana_dashboard" in c["metadata"]["labels"]
    ] == []
    # The rule needs the Prometheus Operator's API, like the ServiceMonitors.
    assert render(ALL_ON).of_kind("PrometheusRule") == []


def test_dashboard_config_map_is_labelled_for_the_grafana_sidecar(render: Callable[..., Rendered]) -> None:
    values = {
        "monitoring": {"dashboard": {"enabled": True, "namespace": "monitoring", "labels": {"team": "a"}}}
    }
    (config_map,) = render(values).of_kind("ConfigMap")
    assert config_map["metadata"]["namespace"] == "monitoring"
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["labels"]["team"] == "a"
    assert json.loads(config_map["data"]["calsync.json"]) == DASHBOARD
    (default,) = render({"monitoring": {"dashboard": {"enabled": True}}}).of_kind("ConfigMap")
    assert default["metadata"]["namespace"] == NAMESPACE


def test_dashboard_has_the_panels_operators_need() -> None:
    assert DASHBOARD["uid"]
    assert DASHBOARD["title"] == "calsync"
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    named = {
        use_series
        for _, expr in dashboard_queries()
        for use in uses(parse(expr))
        for use_series in use.series
    }
    assert named >= PANEL_METRICS
    for panel in DASHBOARD["panels"]:
        assert panel["description"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


@pytest.mark.parametrize(("title", "expr"), list(dashboard_queries()))
def test_dashboard_queries_name_only_exported_series_and_labels(title: str, expr: str) -> None:
    assert problems(expr, exported_series()) == [], title


def test_dashboard_variables_query_exported_series() -> None:
    exported = exported_series()
    for variable in DASHBOARD["templating"]["list"]:
        if variable["type"] != "query":
            continue
        match = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["query"]["query"])
        assert match, variable["name"]
        assert match[1] in exported
        assert match[2] in exported[match[1]]


def test_alert_rules_cover_the_failure_modes(render: Callable[..., Rendered]) -> None:
    rendered = render(ALL_ON, api_versions=[MONITORING_API])
    (rule,) = rendered.of_kind("PrometheusRule")
    assert rule["apiVersion"] == MONITORING_API
    assert rule["metadata"]["namespace"] == NAMESPACE
    assert sorted(rule_expressions(rendered)) == [
        "CalSyncChannelExpiring",
        "CalSyncNotReady",
        "CalSyncOperatorMetricsAbsent",
        "CalSyncPushLatencyHigh",
        "CalSyncQuotaExceeded",
        "CalSyncWebhookErrors",
    ]
    for group in rule["spec"]["groups"]:
        for alert in group["rules"]:
            assert alert["labels"]["severity"] == "warning"
            assert alert["annotations"]["summary"]
            assert alert["annotations"]["description"]


@pytest.mark.parametrize(
    "values",
    [
        {},
        {
            "notReadyFor": "30m",
            "channelExpiryWithinSeconds": 3600,
            "pushLatencyP99Seconds": 2.5,
            "webhookErrorRatio": 0.2,
            "severity": "critical",
        },
    ],
)
def test_alert_expressions_parse_and_name_only_exported_series_and_labels(
    render: Callable[..., Rendered], values: dict[str, Any]
) -> None:
    settings = {**ALL_ON["monitoring"], "prometheusRule": {"enabled": True, **values}}
    exprs = rule_expressions(render({"monitoring": settings}, api_versions=[MONITORING_API]))
    exported = exported_series()
    for alert, expr in exprs.items():
        assert problems(expr, exported) == [], alert
        for use in uses(parse(expr)):
            for label, _op, value in use.matchers:
                if label == "job":  # the Services the ServiceMonitors scrape
                    assert value in {"calsync-operator", "calsync-webhook"}, alert
                for series in use.series:
                    known = KNOWN_VALUES.get((series, label))
                    if known is not None:
                        assert set(value.split("|")) <= known, (alert, value)


def test_alert_thresholds_come_from_values(render: Callable[..., Rendered]) -> None:
    settings = {
        "enabled": True,
        "channelExpiryWithinSeconds": 3600,
        "pushLatencyP99Seconds": 2.5,
        "webhookErrorRatio": 0.2,
        "notReadyFor": "30m",
    }
    rendered = render({"monitoring": {"prometheusRule": settings}}, api_versions=[MONITORING_API])
    exprs = rule_expressions(rendered)
    assert exprs["CalSyncChannelExpiring"].endswith("< 3600")
    assert exprs["CalSyncPushLatencyHigh"].endswith("> 2.5")
    assert exprs["CalSyncWebhookErrors"].endswith("> 0.2")
    (rule,) = rendered.of_kind("PrometheusRule")
    fors = {r["alert"]: r.get("for") for g in rule["spec"]["groups"] for r in g["rules"]}
    assert fors["CalSyncNotReady"] == "30m"


def test_target_labels_are_not_mistaken_for_exported_ones() -> None:
    """Guard of the guard: a label no series has, or a made-up metric, is reported."""
    exported = exported_series()
    assert problems('sum by (calendar) (calsync_syncs_total{job="x"})', exported)
    assert problems("rate(calsync_sync_total[5m])", exported)
    assert problems('calsync_calendarsync_ready{outcome="x"}', exported)
    assert not problems("sum by (pod) (calsync_syncs_total)", exported)
    assert "pod" in TARGET_LABELS
