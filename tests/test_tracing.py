"""Tracing: the collector's rendered pipeline (receivers, processors and the attributes they set, the exporter
endpoint from config, no credential in its config), its RBAC, NetworkPolicies, placement, and the engines and
Envoy pointed at it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_tiers import versions
from llm_tiers.stack import system_capacity as sc
from llm_tiers.stack.parse import parse
from llm_tiers.preview import render as render_tool
from conftest import overrides, stack_values

ENDPOINT = "https://otlp.example.com:4317"


def _values() -> dict[str, Any]:
    v = stack_values("prod")
    v.setdefault("observability", {})["tracing"] = {"enabled": True, "otlpEndpoint": ENDPOINT, "samplingPercent": 25}
    return v


@pytest.fixture(scope="module")
def traced():
    return render_tool.render("prod", overrides=overrides(_values()))


def _release(r, name: str) -> dict[str, Any]:
    (rel,) = [h for h in r.helm_releases() if h["name"] == name]
    return rel


def _obj(r, kind: str, name: str) -> dict[str, Any]:
    (o,) = [o for o in r.kubernetes_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    return o


def test_no_collector_without_tracing(rendered):
    # dev and staging leave tracing off (prod turns it on).
    assert not [h for h in rendered("dev").helm_releases() if h["name"] == "otel-collector"]
    proxy = rendered("dev").objects_named("EnvoyProxy")
    assert all("telemetry" not in p["spec"] for ns in proxy.values() for p in [ns])


def test_the_collector_release_is_pinned_and_placed(traced):
    rel = _release(traced, "otel-collector")
    chart = versions.CHARTS["opentelemetry-collector"]
    assert (rel["chart"], rel["version"]) == (chart.chart, chart.version) and rel["namespace"] == "monitoring"
    v = rel["values"]
    assert v["mode"] == "deployment"
    assert f"{v['image']['repository']}:{v['image']['tag']}" == versions.IMAGES["otel-collector"]
    assert v["nodeSelector"] == {"llm-tiers.io/node-role": "system"}
    assert v["resources"] == sc.OTEL_COLLECTOR.resources() and v["resources"]["limits"]["memory"]
    assert v["securityContext"]["readOnlyRootFilesystem"] is True and v["podSecurityContext"]["runAsNonRoot"] is True
    counted = {w.name: w for w in sc.system_workloads(parse(_values()))}
    assert counted["otel-collector"].replicas == v["replicaCount"] == 1


def test_the_pipeline_adds_tier_engine_model_and_exports_to_the_configured_endpoint(traced):
    config = _release(traced, "otel-collector")["values"]["alternateConfig"]
    traces = config["service"]["pipelines"]["traces"]
    assert list(config["service"]["pipelines"]) == ["traces"]
    assert traces["receivers"] == ["otlp"] and traces["exporters"] == ["otlp"]
    assert traces["processors"] == ["memory_limiter", "k8s_attributes", "batch"]
    assert "health_check" in config["service"]["extensions"]  # the chart's probes need it
    k8s = config["processors"]["k8s_attributes"]
    labels = {x["key"]: x["tag_name"] for x in k8s["extract"]["labels"]}
    annotations = {x["key"]: x["tag_name"] for x in k8s["extract"]["annotations"]}
    assert labels["llm-tiers.io/tier"] == "tier" and labels["llm-tiers.io/engine"] == "inference.backend"
    assert annotations == {"llm-tiers.io/model": "model_id"}
    assert {"sources": [{"from": "connection"}]} in k8s["pod_association"]
    # The keys it reads are the ones the serving pods carry.
    pod = _obj(traced, "Deployment", "chat-small-live")["spec"]["template"]["metadata"]
    assert "llm-tiers.io/tier" in pod["labels"] and "llm-tiers.io/release" in pod["labels"]
    assert "llm-tiers.io/model" in pod["annotations"]
    assert config["exporters"]["otlp"] == {"endpoint": ENDPOINT}  # https: TLS, no insecure flag


def test_a_plaintext_endpoint_is_marked_insecure():
    from llm_tiers.tracing import manifests as otm
    assert otm.exporter("http://tempo.tracing:4317") == {"endpoint": "http://tempo.tracing:4317",
                                                          "tls": {"insecure": True}}


def test_the_collector_config_holds_no_credential(traced):
    text = json.dumps(_release(traced, "otel-collector")["values"]).lower()
    for word in ("token", "password", "authorization", "api_key", "apikey", "secret", "render-placeholder"):
        assert word not in text, word


def test_rbac_is_read_only_on_pods_and_namespaces(traced):
    role = _release(traced, "otel-collector")["values"]["clusterRole"]
    assert role["create"] is True
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods", "namespaces"],
                              "verbs": ["get", "watch", "list"]}]


def test_engines_and_envoy_send_to_the_collector(traced):
    endpoint = "http://otel-collector.monitoring.svc.cluster.local:4317"
    for name in ("chat-small-live", "chat-large-live"):
        c = _obj(traced, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        assert c["args"][c["args"].index("--otlp-endpoint") + 1] == endpoint
        env = {e["name"]: e["value"] for e in c["env"]}
        assert "inference.backend=" in env["OTEL_RESOURCE_ATTRIBUTES"]
    (proxy,) = [p for ns in traced.objects_named("EnvoyProxy").values() for p in [ns]]
    tracing = proxy["spec"]["telemetry"]["tracing"]
    assert tracing["provider"] == {"type": "OpenTelemetry",
                                   "backendRefs": [{"name": "otel-collector", "namespace": "monitoring", "port": 4317}]}
    # prod lists gateway.features, so spans carry the (guard-bounded) feature too.
    assert tracing["tags"] == {"tenant": "%REQ(x-tenant-id)%", "feature": "%REQ(x-llm-feature)%"}
    assert tracing["samplingRate"] == 25


def test_network_policies_let_spans_in_and_out(traced):
    own = _obj(traced, "NetworkPolicy", "otel-collector")["spec"]
    senders = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
               for r in own["ingress"] for p in r["from"] if "namespaceSelector" in p}
    assert senders == {"llm-tiers", "envoy-gateway-system"}
    assert {"port": 443, "protocol": "TCP"} in [p for e in own["egress"] for p in e["ports"]]
    # The chart's pod labels (selectorLabels: chart name + release name) are what the policy selects.
    assert own["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "opentelemetry-collector",
                                                 "app.kubernetes.io/instance": "otel-collector"}
    proxies = _obj(traced, "NetworkPolicy", "envoy-proxies")["spec"]
    to_collector = [e for e in proxies["egress"] for p in e.get("to", [])
                    if p.get("podSelector", {}).get("matchLabels") == own["podSelector"]["matchLabels"]]
    assert to_collector and to_collector[0]["ports"] == [{"port": 4317, "protocol": "TCP"}]
    tier = _obj(traced, "NetworkPolicy", "chat-small")["spec"]
    assert any({"port": 4317, "protocol": "TCP"} in e.get("ports", []) for e in tier["egress"])


def test_the_traced_render_validates(traced, crd_schemas):
    """The EnvoyProxy with telemetry (and every other object) passes the pinned CRDs and strict core schemas."""
    from llm_tiers.preview import validate
    problems, _ = validate.validate_objects(traced.kubernetes_objects(), "1.34", crd_schemas)
    assert not problems, problems
