"""Cost per feature: clients name a feature in ``x-llm-feature``; the guard keeps a listed one and writes ``other``
or ``none`` otherwise (the Rego policy and data.json of prod's rendered guard ConfigMap, under OPA's engine), the
gateway tags metrics and spans with it, and the usage rules record tokens and $ per (tenant, feature) (promtool)."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import require_opa, run_promtool_test, stack_values
from llm_tiers.config.schema import ConfigError, TierConfig
from llm_tiers.stack.parse import parse
from llm_tiers.gateway import aigw, aigw_controller, guard
from llm_tiers.observability import rules as mr
from llm_tiers.observability import usage

from llm_tiers.preview import guard_corpus as gc  # imports OPA's engine only when it loads one (require_opa)

TIER = TierConfig.model_validate({"name": "chat", "modelId": "o/m", "gpuClass": "l4", "maxInputTokens": 10,
                                  "maxTotalTokens": 20})


@pytest.fixture(scope="module")
def prod_guard(prod_guard_engine, rendered):
    """OPA's engine with prod's rendered guard ConfigMap, and that ConfigMap's guard data."""
    data = rendered("prod").objects_named("ConfigMap")[guard.NAME]["data"]
    return prod_guard_engine, json.loads(data[guard.DATA_KEY])[guard.DATA_ROOT]


def feature_decision(engine, sent, body=None, path="/v1/chat/completions", tenant="search"):
    """OPA-Envoy's decision for a request with ``x-llm-feature: sent`` (None: no header)."""
    body = body or {"model": "chat-small", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    headers = {} if sent is None else {guard.FEATURE_HEADER: sent}
    return gc.decide(engine, tenant, json.dumps(body), path=path, headers=headers)


@pytest.mark.parametrize("sent, written", [
    ("summarize", "summarize"), (" Summarize ", "summarize"), ("made-up-123", "other"), (None, "none"), ("", "none"),
    # a client cannot put an arbitrary value past the allow-list: repeated headers (Envoy joins them with ","),
    # a listed name with more around it, the reserved words
    ("summarize,answer", "other"), ("summarize answer", "other"), ("answer\r\nx-tenant-id: other", "other"),
    ("other", "other"), ("none", "other"), ("summarize" + "x" * 4000, "other"),
])
def test_the_guard_bounds_the_feature_header(prod_guard, sent, written):
    engine, data = prod_guard
    assert data["features"] == ["answer", "classify", "extract", "summarize"]
    status, _, decision = feature_decision(engine, sent)
    assert status is None and decision["allowed"] is True
    # the decision's only header: OPA-Envoy passes a decision's headers to Envoy as the OK answer's headers,
    # all of which reach the upstream request (no allow-list for a gRPC authorizer)
    assert decision["headers"] == {guard.FEATURE_HEADER: written}


def test_refused_requests_name_no_feature(prod_guard):
    engine, _ = prod_guard
    status, code, decision = feature_decision(engine, "summarize", {"model": "chat-small", "max_tokens": 10**6})
    assert (status, code) == (400, "max_tokens_too_large")
    assert guard.FEATURE_HEADER not in decision["headers"]


def test_other_paths_get_the_feature_too(prod_guard):
    """GET /v1/models is not judged but still allowed by the guard: its feature is bounded the same way."""
    engine, _ = prod_guard
    status, _, decision = feature_decision(engine, "scraper", path="/v1/models")
    assert status is None and decision["headers"] == {guard.FEATURE_HEADER: "other"}


def test_without_features_the_guard_writes_no_header(rendered):
    data = rendered("dev").objects_named("ConfigMap")[guard.NAME]["data"]
    assert "features" not in json.loads(data[guard.DATA_KEY])[guard.DATA_ROOT]
    require_opa("the feature rule is")
    engine = gc.load_engine(data)
    try:
        tenant = parse(stack_values("dev")).tenants[0].name
        status, _, decision = feature_decision(engine, "anything", {"model": "x", "max_tokens": 1}, tenant=tenant)
        assert status is None and decision["headers"] == {}
    finally:
        engine.close()


def test_the_gateway_replaces_the_header_and_labels_metrics_and_spans_with_it(rendered, crd_schemas):
    r = rendered("prod")
    policies = [o for o in r.kubernetes_objects() if o["kind"] == "SecurityPolicy" and "extAuth" in o["spec"]]
    assert policies
    for policy in policies:  # every route group's policy
        ext = policy["spec"]["extAuth"]
        # the authorizer gets the authenticated tenant and the client's feature, never the credentials
        assert ext["headersToExtAuth"] == [aigw.gm.TENANT_HEADER, guard.FEATURE_HEADER]
        # gRPC: the OK answer's headers go upstream as they are; headersToBackend is an HTTP-authorizer field only
        assert "http" not in ext and "headersToBackend" not in ext["grpc"]
    props = crd_schemas[(aigw.gm.EG_API, "SecurityPolicy")]["properties"]["spec"]["properties"]["extAuth"]["properties"]
    assert "headersToBackend" not in props["grpc"]["properties"] and "headersToBackend" in props["http"]["properties"]
    (ai,) = [h for h in r.helm_releases() if h["name"] == "ai-gateway"]
    assert ai["values"]["controller"]["metricsRequestHeaderAttributes"] == \
        "x-tenant-id:tenant.id,x-llm-feature:llm.feature"
    proxy = r.objects_named("EnvoyProxy")["llm-gateway"]
    assert proxy["spec"]["telemetry"]["tracing"]["tags"] == {"tenant": "%REQ(x-tenant-id)%",
                                                            "feature": "%REQ(x-llm-feature)%"}
    # the tenant the policy reads is the API-key filter's: api_key_auth runs before ext_authz
    assert {"name": "envoy.filters.http.api_key_auth", "before": "envoy.filters.http.ext_authz"} in \
        proxy["spec"]["filterOrder"]
    # dev lists no features: no header to the guard, no metric label.
    (dev_policy,) = [o for o in rendered("dev").kubernetes_objects() if o["kind"] == "SecurityPolicy"
                     and "extAuth" in o["spec"]]
    assert dev_policy["spec"]["extAuth"]["headersToExtAuth"] == [aigw.gm.TENANT_HEADER]


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
    t, f = aigw_controller.TENANT_METRIC_LABEL, aigw_controller.FEATURE_METRIC_LABEL
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
    run_promtool_test(promtool, rules, series, expect, tmp_path)


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
