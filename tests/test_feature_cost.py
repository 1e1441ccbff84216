"""Cost per feature: clients name a feature in ``x-llm-feature``; the guard keeps a listed one and writes ``other``
or ``none`` otherwise (run for real on loopback with prod's rendered config), the gateway tags metrics and spans
with it, and the usage rules record tokens and $ per (tenant, feature) (promtool)."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.request

import pytest
import yaml

from conftest import overrides, stack_values
from llm_tiers.config.schema import ConfigError, TierConfig, parse
from llm_tiers.gateway import aigw, guard
from llm_tiers.gateway.scripts import max_tokens_guard as script
from llm_tiers.observability import rules as mr
from llm_tiers.observability import usage
from llm_tiers.testing import render as render_tool

TIER = TierConfig.model_validate({"name": "chat", "modelId": "o/m", "gpuClass": "l4", "maxInputTokens": 10,
                                  "maxTotalTokens": 20})


@pytest.fixture(scope="module")
def prod_guard(tmp_path_factory, rendered):
    cm = rendered("prod").objects_named("ConfigMap")[guard.NAME]
    config = json.loads(cm["data"][guard.CONFIG_KEY])
    keys = tmp_path_factory.mktemp("keys")
    (keys / "search").write_text("sk-search")
    server = script.serve(config, script.Keys(keys, config["previousSuffix"]), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", config
    server.shutdown()


@pytest.mark.parametrize("sent, written", [
    ("summarize", "summarize"), (" Summarize ", "summarize"), ("made-up-123", "other"), (None, "none"), ("", "none"),
])
def test_the_guard_bounds_the_feature_header(prod_guard, sent, written):
    base, config = prod_guard
    assert config["features"] == ["answer", "classify", "extract", "summarize"]
    headers = {"Authorization": "Bearer sk-search", "Content-Type": "application/json"}
    if sent is not None:
        headers[guard.FEATURE_HEADER] = sent
    body = json.dumps({"model": "chat-small", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
    req = urllib.request.Request(f"{base}/check/v1/chat/completions", data=body.encode(), headers=headers)
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200 and resp.headers[guard.FEATURE_HEADER] == written


def test_without_features_the_guard_writes_no_header(rendered):
    config = json.loads(rendered("dev").objects_named("ConfigMap")[guard.NAME]["data"][guard.CONFIG_KEY])
    assert "features" not in config
    assert script.feature(config, {guard.FEATURE_HEADER: "anything"}) is None


def test_the_gateway_replaces_the_header_and_labels_metrics_and_spans_with_it(rendered):
    r = rendered("prod")
    (policy,) = [o for o in r.kubernetes_objects() if o["kind"] == "SecurityPolicy" and "extAuth" in o["spec"]]
    ext = policy["spec"]["extAuth"]
    assert ext["headersToExtAuth"] == ["authorization", "x-llm-feature"]
    assert ext["http"]["headersToBackend"] == ["x-llm-feature"]
    (ai,) = [h for h in r.helm_releases() if h["name"] == "ai-gateway"]
    assert ai["values"]["controller"]["metricsRequestHeaderAttributes"] == \
        "x-tenant-id:tenant.id,x-llm-feature:llm.feature"
    proxy = r.objects_named("EnvoyProxy")["llm-gateway"]
    assert proxy["spec"]["telemetry"]["tracing"]["tags"] == {"tenant": "%REQ(x-tenant-id)%",
                                                            "feature": "%REQ(x-llm-feature)%"}
    # dev lists no features: no header to the guard, none to the backend, no metric label.
    (dev_policy,) = [o for o in rendered("dev").kubernetes_objects() if o["kind"] == "SecurityPolicy"
                     and "extAuth" in o["spec"]]
    assert dev_policy["spec"]["extAuth"]["headersToExtAuth"] == ["authorization"]
    assert "headersToBackend" not in dev_policy["spec"]["extAuth"]["http"]


def test_prod_traces_with_backend_and_model_attributes(rendered):
    """Prod enables tracing: its collector adds inference.backend and model_id to the engines' spans."""
    (otel,) = [h for h in rendered("prod").helm_releases() if h["name"] == "otel-collector"]
    text = yaml.safe_dump(otel["values"])
    assert "inference.backend" in text and "model_id" in text
    assert parse(stack_values("prod")).observability.tracing.enabled


def test_usage_rules_per_tenant_and_feature(promtool, tmp_path):
    rules = tmp_path / "rules.yaml"
    groups = [*mr.rule_groups([TIER], "llm-tiers", {"chat": 2.0}), *usage.rule_groups([TIER])]
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    tok = "gen_ai_client_token_usage_sum"
    t, f = aigw.TENANT_METRIC_LABEL, aigw.FEATURE_METRIC_LABEL
    # Tenant a: 60 output tokens/s for "summarize", 20 for "other"; tenant b: 20 for "answer". $2/h for the tier.
    series = [
        {"series": f'{tok}{{{t}="a",{f}="summarize",gen_ai_request_model="chat",gen_ai_token_type="output"}}',
         "values": "0+3600x20"},
        {"series": f'{tok}{{{t}="a",{f}="other",gen_ai_request_model="chat",gen_ai_token_type="output"}}',
         "values": "0+1200x20"},
        {"series": f'{tok}{{{t}="b",{f}="answer",gen_ai_request_model="chat",gen_ai_token_type="output"}}',
         "values": "0+1200x20"},
        {"series": 'llm:tier_hourly_usd{tier="chat",release="live"}', "values": "2x20"},
    ]
    expect = [
        {"expr": 'round(sum by (tenant, feature) (llm:tenant_tokens_rate), 0.001)',
         "exp_samples": [{"labels": '{tenant="a",feature="summarize"}', "value": 60},
                         {"labels": '{tenant="a",feature="other"}', "value": 20},
                         {"labels": '{tenant="b",feature="answer"}', "value": 20}]},
        # $2/h shared 60:20:20 by tokens, per (tenant, feature, tier).
        {"expr": "round(llm:tenant_hourly_usd, 0.001)",
         "exp_samples": [{"labels": '{tenant="a",feature="summarize",tier="chat"}', "value": 1.2},
                         {"labels": '{tenant="a",feature="other",tier="chat"}', "value": 0.4},
                         {"labels": '{tenant="b",feature="answer",tier="chat"}', "value": 0.4}]},
        {"expr": "round(sum by (tenant) (llm:tenant_hourly_usd), 0.001)",
         "exp_samples": [{"labels": '{tenant="a"}', "value": 1.6}, {"labels": '{tenant="b"}', "value": 0.4}]},
    ]
    test = tmp_path / "test.yaml"
    test.write_text(yaml.safe_dump({"rule_files": [str(rules)], "evaluation_interval": "30s", "tests": [
        {"interval": "1m", "input_series": series,
         "promql_expr_test": [{**e, "eval_time": "15m"} for e in expect]}]}, sort_keys=False))
    out = subprocess.run([promtool, "test", "rules", str(test)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_dashboard_shows_tokens_and_cost_per_tenant_and_feature():
    queries = [t["expr"] for p in usage.dashboard()["panels"] for t in p.get("targets", [])]
    assert 'sum by (tenant, feature) (llm:tenant_tokens_rate{tenant=~"$tenant",tier=~"$tier"})' in queries
    assert 'sum by (tenant, feature) (llm:tenant_hourly_usd{tenant=~"$tenant",tier=~"$tier"})' in queries


@pytest.mark.parametrize("features, path", [
    (["answer", "other"], "gateway.features[1]"),
    (["answer", "answer"], "gateway.features[1]"),
    (["Not_A_Label"], "gateway.features[0]"),
    ([f"f{i}" for i in range(51)], "gateway.features"),
])
def test_bad_features_name_their_key(features, path):
    values = stack_values("prod")
    values["gateway"]["features"] = features
    with pytest.raises(ConfigError) as err:
        parse(values)
    assert path in {i.path for i in err.value.issues}, err.value
