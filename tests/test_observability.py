"""Observability as rendered: monitoring releases, rules, Alertmanager routing, secrets by reference."""

from __future__ import annotations

import json

import pytest

from llm_tiers.observability import rules as monitoring_rules
from llm_tiers.observability import usage
from llm_tiers.observability import component as observability
from llm_tiers import versions
from llm_tiers.config.schema import AlertReceiverConfig
from llm_tiers.stack.parse import parse
from conftest import STACKS, stack_values
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import validate


def releases(result):
    return {r["name"]: r for r in result.helm_releases()}


@pytest.mark.parametrize("stack", STACKS)
def test_monitoring_releases_are_pinned_and_stay_off_gpu_nodes(rendered, stack):
    r = rendered(stack)
    rel = releases(r)
    for name in ("kube-prometheus-stack", "dcgm-exporter", "keda"):
        chart = versions.CHARTS[name]
        assert (rel[name]["chart"], rel[name]["repository"], rel[name]["version"]) == (
            chart.chart, chart.repository, chart.version)
    v = rel["kube-prometheus-stack"]["values"]
    system = {"llm-tiers.io/node-role": "system"}
    for part in (v["prometheus"]["prometheusSpec"], v["alertmanager"]["alertmanagerSpec"], v["grafana"],
                 v["prometheusOperator"], v["kube-state-metrics"], rel["keda"]["values"]):
        assert part["nodeSelector"] == system
    assert v["prometheus-node-exporter"]["tolerations"] == [{"operator": "Exists"}]
    dcgm = rel["dcgm-exporter"]["values"]
    assert f'{dcgm["image"]["repository"]}:{dcgm["image"]["tag"]}' == versions.IMAGES["dcgm-exporter"]
    (term,) = dcgm["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [{"key": "llm-tiers.io/gpu-class", "operator": "Exists"}]
    assert dcgm["serviceMonitor"]["enabled"] is True
    # The GPU's pod/namespace labels must win over the exporter pod's (rules join DCGM to pods on them).
    assert dcgm["serviceMonitor"]["honorLabels"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_prometheus_settings_come_from_config(rendered, stack):
    cfg = parse(stack_values(stack)).observability
    spec = releases(rendered(stack))["kube-prometheus-stack"]["values"]["prometheus"]["prometheusSpec"]
    assert spec["retention"] == cfg.prometheus.retention and spec["replicas"] == cfg.prometheus.replicas
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == f"{cfg.prometheus.storage_gib}Gi"
    # A protected stack keeps Prometheus's EBS volume when it is destroyed.
    assert claim["storageClassName"] == ("gp3-encrypted-retain" if stack_values(stack).get("protect")
                                         else "gp3-encrypted")
    assert spec["ruleSelectorNilUsesHelmValues"] is False and spec["podMonitorSelectorNilUsesHelmValues"] is False
    ksm = releases(rendered(stack))["kube-prometheus-stack"]["values"]["kube-state-metrics"]
    assert ksm["metricLabelsAllowlist"] == ["pods=[llm-tiers.io/tier,llm-tiers.io/release]"]


@pytest.mark.parametrize("stack", STACKS)
def test_rules_are_one_prometheus_rule_with_alerts_for_every_tier(rendered, stack, crd_schemas):
    objs = [o for o in rendered(stack).kubernetes_objects() if o["kind"] == "PrometheusRule"]
    assert len(objs) == 1
    (rule,) = objs
    groups = {g["name"]: g for g in rule["spec"]["groups"]}
    assert set(groups) == {monitoring_rules.ENGINE_GROUP, monitoring_rules.SIGNALS_GROUP, monitoring_rules.ALERTS_GROUP,
                           usage.GROUP}
    tiers = {t["name"] for t in stack_values(stack)["tiers"]}
    assert {a["labels"]["tier"] for a in groups[monitoring_rules.ALERTS_GROUP]["rules"]} == tiers
    problems, _ = validate.validate_objects([rule], "1.34", crd_schemas)
    assert not problems, problems


def test_grafana_password_and_receiver_urls_never_reach_helm_values(rendered):
    r = rendered("prod")
    v = releases(r)["kube-prometheus-stack"]["values"]
    assert v["grafana"]["admin"] == {"existingSecret": "grafana-admin", "userKey": "admin-user",
                                     "passwordKey": "admin-password"}
    assert v["alertmanager"]["alertmanagerSpec"]["secrets"] == ["alertmanager-receivers"]
    dumped = json.dumps(v)
    assert "render-placeholder" not in dumped and "http" not in json.dumps(v["alertmanager"]["config"])
    secrets = r.objects_named("Secret")
    assert secrets["grafana-admin"]["stringData"] == {"admin-password": "[secret]", "admin-user": "[secret]"}
    assert secrets["alertmanager-receivers"]["stringData"] == {"ml-platform": "[secret]", "oncall": "[secret]"}


def test_alertmanager_routes_each_receiver_its_severities():
    cfg = observability.alertmanager_config([
        AlertReceiverConfig(name="oncall", type="pagerduty", severities=["critical"]),
        AlertReceiverConfig(name="chat", type="slack"),
        AlertReceiverConfig(name="hook", type="webhook", severities=["info"])])
    receivers = {r["name"]: r for r in cfg["receivers"]}
    assert receivers["oncall"]["pagerduty_configs"][0]["routing_key_file"].endswith("/alertmanager-receivers/oncall")
    assert receivers["chat"]["slack_configs"][0]["api_url_file"].endswith("/alertmanager-receivers/chat")
    assert receivers["hook"]["webhook_configs"][0]["url_file"].endswith("/alertmanager-receivers/hook")
    routes = {r["receiver"]: r["matchers"] for r in cfg["route"]["routes"]}
    assert routes == {"oncall": ['severity=~"critical"'], "chat": ['severity=~"critical|warning"'],
                      "hook": ['severity=~"info"']}
    assert cfg["route"]["receiver"] == "null"


def test_a_receiver_without_a_url_is_refused_at_preview():
    with pytest.raises(render_tool.RenderError, match=r"receivers\[1\]\.name: no URL for receiver 'ml-platform'"):
        render_tool.render("prod", secrets={"alertReceiverUrls": {"oncall": "https://x.invalid"}})


def test_monitoring_namespace_allows_the_exporters(rendered):
    ns = rendered("prod").objects_named("Namespace")
    assert ns["monitoring"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_dashboard_is_provisioned_and_costs_come_from_the_catalog(rendered):
    import json as _json
    r = rendered("prod")
    cm = r.objects_named("ConfigMap")["llm-tiers-dashboard"]
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1" and cm["metadata"]["namespace"] == "monitoring"
    assert _json.loads(cm["data"]["llm-tiers.json"])["uid"] == "llm-tiers-overview"
    (rule,) = [o for o in r.kubernetes_objects() if o["kind"] == "PrometheusRule"]
    costs = {x["expr"] for g in rule["spec"]["groups"] for x in g["rules"] if x.get("record") == "llm:tier_hourly_usd"}
    # The whole node each replica gets, root volume included (components/llm_tiers/cost/bill.py): chat-small a
    # g6.2xlarge (the cheapest l4 type that holds its requests); chat-large a p5.48xlarge of its own (its
    # hostname spread), though it uses 4 of 8 GPUs. One price per replica: the bill's $/node-hour.
    assert costs == {'llm:tier_replicas{tier="chat-small"} * 1.0406', 'llm:tier_replicas{tier="chat-large"} * 55.1359'}
    bill = {t["tier"]: t["nodeUsdPerHour"] for t in r.outputs()["bill"]["tiers"] if t["release"] == "live"}
    assert bill == {"chat-small": 1.0406, "chat-large": 55.1359}
