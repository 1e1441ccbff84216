"""A tier's fallback provider (gateway/fallback.py): what the API server, AI Gateway, Envoy Gateway, External
Secrets and Prometheus receive when ``tiers[].fallback`` is set, and the config errors at their key paths.

The stack: dev (its scale-to-zero tier ``chat-small``) with a fallback, rendered through the real program and
the API-server validation (CRD schemas + CEL) the render runs."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from conftest import overrides, stack_values, run_promtool_test
from llm_tiers.config.schema import TierConfig
from llm_tiers.gateway import aigw_controller, fallback
from llm_tiers.observability import rules as mr
from llm_tiers.observability import usage
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import documents, stack_file

KEY = "sk-fallback-test-4b7f0c1e9a"  # a value that must never appear outside Secrets Manager's SecretVersion
FALLBACK = {"baseUrl": "https://api.example.com/openai/v1", "model": "qwen2.5-7b-instruct", "apiKeySecret": "example"}
GATEWAY_NS = "llm-gateway"


def dev_with_fallback(**changes):
    values = stack_values("dev")
    values["tiers"][0]["fallback"] = {**FALLBACK, **changes}
    values["cost"]["managedPriceByTier"] = {"chat-small": 0.3}
    return values


@pytest.fixture(scope="module")
def result():
    return render_tool.render("dev", overrides=overrides(dev_with_fallback()),
                              secrets={"fallbackApiKeys": {"example": KEY}})


def named(result, kind):
    return result.objects_named(kind)


def test_the_route_tries_the_tier_then_the_fallback(result):
    (route,) = named(result, "AIGatewayRoute").values()
    (rule,) = [r for r in route["spec"]["rules"] if r["name"] == "chat-small"]
    assert rule["backendRefs"] == [
        {"name": "chat-small", "priority": 0},
        {"name": "chat-small-fallback", "priority": 1, "modelNameOverride": "qwen2.5-7b-instruct"}]
    # The client keeps calling the tier's own name; the rule still matches only it.
    assert [m["headers"][0]["value"] for m in rule["matches"]] == ["chat-small"]


def test_the_fallback_backend_is_the_provider_over_verified_tls(result):
    backend = named(result, "Backend")["chat-small-fallback"]
    assert backend["metadata"]["namespace"] == GATEWAY_NS
    assert backend["spec"] == {"endpoints": [{"fqdn": {"hostname": "api.example.com", "port": 443}}],
                               "tls": {"wellKnownCACertificates": "System", "sni": "api.example.com"}}
    # The tier's own Backend is unchanged: plain HTTP to its Service.
    assert named(result, "Backend")["chat-small"]["spec"] == {
        "endpoints": [{"fqdn": {"hostname": "chat-small.llm-tiers.svc.cluster.local", "port": 80}}]}
    ai = named(result, "AIServiceBackend")["chat-small-fallback"]
    assert ai["spec"] == {"schema": {"name": "OpenAI", "prefix": "openai/v1"},
                          "backendRef": {"group": "gateway.envoyproxy.io", "kind": "Backend",
                                         "name": "chat-small-fallback"}}


def test_the_key_comes_from_secrets_manager_through_external_secrets(result):
    bsp = named(result, "BackendSecurityPolicy")["chat-small-fallback"]
    assert bsp["spec"] == {
        "targetRefs": [{"group": "aigateway.envoyproxy.io", "kind": "AIServiceBackend", "name": "chat-small-fallback"}],
        "type": "APIKey", "apiKey": {"secretRef": {"name": "fallback-example", "namespace": GATEWAY_NS}}}
    es = named(result, "ExternalSecret")["fallback-example"]
    assert es["metadata"]["namespace"] == GATEWAY_NS
    assert es["spec"]["target"]["name"] == "fallback-example"
    (data,) = es["spec"]["data"]
    assert data["secretKey"] == "apiKey"  # the key AI Gateway's APIKey policy reads
    (secret,) = [r for r in result.of_type("aws:secretsmanager/secret:Secret") if r.name == "secrets-fallback-example"]
    assert secret.inputs["namePrefix"] == "llm-dev/fallback/example/api-key-"
    assert data["remoteRef"]["key"].startswith("llm-dev/fallback/example/api-key-")
    # External Secrets may read it (and nothing else new).
    (policy,) = [r for r in result.of_type("aws:iam/rolePolicy:RolePolicy") if "SecretStore" in r.urn]
    assert secret.id in json.loads(policy.inputs["policy"])["Statement"][0]["Resource"]
    (version,) = [r for r in result.of_type("aws:secretsmanager/secretVersion:SecretVersion")
                  if r.name == "secrets-fallback-example"]
    assert documents.redact(version.inputs)["secretString"] == "[secret]"


def test_the_key_is_nowhere_else(result):
    everywhere = json.dumps([documents.redact(r.inputs) for r in result.recording.resources])
    assert KEY not in everywhere
    assert KEY not in json.dumps(result.outputs())
    for cm in named(result, "ConfigMap").values():
        assert KEY not in json.dumps(cm)


def test_the_route_retries_once_on_the_next_priority(result):
    btp = named(result, "BackendTrafficPolicy")["llm-router"]
    assert btp["spec"]["retry"] == {
        "numRetries": 1, "numAttemptsPerPriority": 1,
        "retryOn": {"triggers": ["connect-failure", "reset-before-request", "refused-stream", "retriable-status-codes"],
                    "httpStatusCodes": [503]}}
    assert "perRetry" not in btp["spec"]["retry"], "a per-try timeout would cut long answers"
    # The route's own settings stay (rate limits, buffer, OpenAI error bodies).
    assert btp["spec"]["requestBuffer"] and btp["spec"]["responseOverride"]


def test_the_proxies_may_reach_public_https_only(result):
    (proxies,) = [o for o in result.kubernetes_objects()
                  if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "envoy-proxies"]
    rule = proxies["spec"]["egress"][-1]
    assert rule["ports"] == [{"port": 443, "protocol": "TCP"}]
    (peer,) = rule["to"]
    assert peer["ipBlock"]["cidr"] == "0.0.0.0/0"
    # The VPC (10.10.0.0/16) and the metadata service stay out of reach through this rule.
    assert {"10.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"} <= set(peer["ipBlock"]["except"])


def test_fallback_usage_and_cost_are_recorded_per_tenant(result):
    (rule_obj,) = [o for o in result.kubernetes_objects() if o["kind"] == "PrometheusRule"]
    records = [r for g in rule_obj["spec"]["groups"] for r in g["rules"]]
    cost = [r for r in records if r.get("record") == "llm:tenant_hourly_usd" and r.get("labels") == {"via": "fallback"}]
    assert len(cost) == 1 and "* 3600 * 0.3 / 1e6" in cost[0]["expr"]


def test_a_stack_without_fallback_gets_none_of_it(rendered):
    r = rendered("dev")
    assert not [n for n in named(r, "Backend") if n.endswith("-fallback")]
    assert not named(r, "BackendSecurityPolicy")
    assert "retry" not in named(r, "BackendTrafficPolicy")["llm-router"]["spec"]
    (route,) = named(r, "AIGatewayRoute").values()
    assert all(rule["backendRefs"] == [{"name": rule["name"]}] for rule in route["spec"]["rules"])


TIER = TierConfig.model_validate({"name": "chat", "aliases": ["llama-8b"], "modelId": "o/m", "gpuClass": "l4",
                                  "maxInputTokens": 10, "maxTotalTokens": 20,
                                  "fallback": {"baseUrl": "https://api.example.com/v1", "model": "llama-3.1-8b",
                                               "apiKeySecret": "p"}})


def test_usage_splits_tier_and_fallback_and_prices_the_fallback(promtool, tmp_path):
    """AI Gateway labels a request the fallback served with the overridden model as gen_ai_request_model and the
    client's as gen_ai_original_model (internal/extproc/processor_impl.go at v1.1.0)."""
    rules = tmp_path / "rules.yaml"
    groups = [*mr.rule_groups([TIER], "llm-tiers", {"chat": 2.0}), *usage.rule_groups([TIER], {"chat": 0.5})]
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    check = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    tok, dur = "gen_ai_client_token_usage_sum", "gen_ai_server_request_duration_seconds_count"
    label = aigw_controller.TENANT_METRIC_LABEL
    served = 'gen_ai_original_model="chat",gen_ai_request_model="chat"'
    via_fallback = 'gen_ai_original_model="llama-8b",gen_ai_request_model="llama-3.1-8b"'
    series = [
        # Tenant a: 60 output tokens/s from the tier; 1000 output tokens/s from the fallback (2 req/s).
        {"series": f'{tok}{{{label}="a",{served},gen_ai_token_type="output"}}', "values": "0+3600x20"},
        {"series": f'{tok}{{{label}="a",{via_fallback},gen_ai_token_type="output"}}', "values": "0+60000x20"},
        {"series": f'{tok}{{{label}="a",{via_fallback},gen_ai_token_type="input"}}', "values": "0+6000x20"},
        {"series": f'{dur}{{{label}="a",{via_fallback}}}', "values": "0+120x20"},
        {"series": 'llm:tier_hourly_usd{tier="chat",release="live"}', "values": "2x20"},
    ]
    expect = [
        # The tier's own series see only what the tier served.
        {"expr": 'round(sum by (tenant, tier) (llm:tenant_tokens_rate), 0.001)',
         "exp_samples": [{"labels": '{tenant="a",tier="chat"}', "value": 60}]},
        {"expr": 'round(sum by (tenant, tier, token_type) (llm:tenant_fallback_tokens_rate), 0.001)',
         "exp_samples": [{"labels": '{tenant="a",tier="chat",token_type="input"}', "value": 100},
                         {"labels": '{tenant="a",tier="chat",token_type="output"}', "value": 1000}]},
        {"expr": 'round(sum by (tenant) (llm:tenant_fallback_request_rate), 0.001)',
         "exp_samples": [{"labels": '{tenant="a"}', "value": 2}]},
        # 1000 output tokens/s x 3600 s at $0.5 per 1M = $1.8/h, beside the tier's $2/h.
        {"expr": 'round(llm:tenant_hourly_usd{via="fallback"}, 0.001)',
         "exp_samples": [{"labels": '{tenant="a",tier="chat",via="fallback"}', "value": 1.8}]},
        {"expr": 'round(sum by (tenant) (llm:tenant_hourly_usd), 0.001)',
         "exp_samples": [{"labels": '{tenant="a"}', "value": 3.8}]},
    ]
    run_promtool_test(promtool, rules, series, expect, tmp_path)


def test_no_price_records_usage_but_no_cost():
    rules = usage.fallback_rules([TIER])
    assert {r["record"] for r in rules} == {"llm:tenant_fallback_tokens_rate", "llm:tenant_fallback_request_rate"}


@pytest.mark.parametrize("changes, path, words", [
    ({"baseUrl": "http://api.example.com/v1"}, "tiers[0].fallback.baseUrl", "http:// sends the API key"),
    ({"baseUrl": "api.example.com/v1"}, "tiers[0].fallback.baseUrl", "is not https"),
    ({"baseUrl": "https://10.0.0.5/v1"}, "tiers[0].fallback.baseUrl", "is not a DNS name"),
    ({"baseUrl": "https://user:pw@api.example.com/v1"}, "tiers[0].fallback.baseUrl", "credentials in the URL"),
    ({"baseUrl": "https://api.example.com:99999/v1"}, "tiers[0].fallback.baseUrl", "not a URL"),
    ({"model": "chat-small"}, "tiers[0].fallback.model", "also one of the tier's own model names"),
    ({"apiKeySecret": "Not_A_Name"}, "tiers[0].fallback.apiKeySecret", ""),
])
def test_bad_fallback_config_is_refused_at_its_key(changes, path, words):
    with pytest.raises(render_tool.RenderError) as info:
        render_tool.render("dev", overrides=overrides(dev_with_fallback(**changes)),
                           secrets={"fallbackApiKeys": {"example": KEY}})
    message = str(info.value)
    assert f"  - {path}: " in message, message
    assert words in message.split(f"  - {path}: ", 1)[1].split("\n")[0], message
    assert info.value.recording.resources == []


def test_an_unknown_key_name_is_refused_with_the_command_to_set_it():
    with pytest.raises(render_tool.RenderError) as info:
        render_tool.render("dev", overrides=overrides(dev_with_fallback(apiKeySecret="other")),
                           secrets={"fallbackApiKeys": {"example": KEY}})
    message = str(info.value)
    assert ("tiers[0].fallback.apiKeySecret: unknown secret 'other' (fallbackApiKeys holds: example); run "
            "`pulumi config set --secret --path 'fallbackApiKeys.other' <key>`") in message
    assert info.value.recording.resources == []


def test_an_unset_key_is_refused_when_rendered_as_configured():
    with pytest.raises(render_tool.RenderError, match=r"tiers\[0\]\.fallback\.apiKeySecret: unknown secret 'example' "
                                                      r"\(fallbackApiKeys holds: none\)"):
        render_tool.render("dev", overrides=overrides(dev_with_fallback()), omit_secrets=True)


def test_a_plaintext_key_is_refused():
    config, secret_keys = stack_file.stack_config("dev", overrides=overrides(dev_with_fallback()), omit_secrets=True)
    config[f"{stack_file.project_name()}:fallbackApiKeys"] = json.dumps({"example": KEY})
    with pytest.raises(render_tool.RenderError, match=r"fallbackApiKeys: is stored in plaintext"):
        render_tool.run_program("dev", config, secret_keys)


def test_base_url_parts():
    from llm_tiers.config.tiers import parse_base_url
    assert parse_base_url("https://api.example.com/v1") == ("api.example.com", 443, "v1")
    assert parse_base_url("https://api.example.com:8443/openai/v1/") == ("api.example.com", 8443, "openai/v1")
    assert parse_base_url("https://api.example.com") == ("api.example.com", 443, "")
    assert fallback.egress_rule([TIER])[0]["ports"] == [{"port": 443, "protocol": "TCP"}]


def test_rollout_and_plan_say_the_client_sees_no_cold_start(result):
    from llm_tiers.preview.plan_markdown import plan_markdown
    from llm_tiers.preview import rollout, rollout_markdown

    zero = rollout._scale_from_zero(result.recording)
    (z,) = [z for z in zero if z["deployment"] == "llm-tiers/chat-small-live"]
    assert z["fallback"] == {"host": "api.example.com", "model": "qwen2.5-7b-instruct"}
    text = "\n".join(rollout_markdown.scale_from_zero_markdown(zero))
    assert ("llm-tiers/chat-small-live: with its fallback (api.example.com, model `qwen2.5-7b-instruct`) the client "
            "sees no cold start") in text
    md = plan_markdown("dev", [], scale_from_zero=zero)
    assert "the client sees no cold start" in md and "billed per token at the provider's price" in md


def test_without_fallback_the_scale_from_zero_rows_do_not_mention_one(rendered):
    from llm_tiers.preview import rollout

    zero = rollout._scale_from_zero(rendered("dev").recording)
    assert zero and not any("fallback" in z for z in zero)


@pytest.mark.parametrize("with_fallback", [True, False])
def test_preflight_validates_the_gateway_objects_the_program_registers(result, rendered, with_fallback):
    """``pulumi preview`` validates, before anything is registered, the gateway objects preflight builds from the
    config: they must be the very objects the Gateway registers, fallback backendRefs and retry included."""
    from llm_tiers.preview import preflight
    from llm_tiers.stack.parse import parse

    values, got = (dev_with_fallback(), result) if with_fallback else (stack_values("dev"), rendered("dev"))
    built = {(o["kind"], o["metadata"]["name"]): o for o in preflight.gateway_objects(parse(values))}
    registered = {(o["kind"], o["metadata"].get("name")): o for o in got.kubernetes_objects()
                  if (o["kind"], o["metadata"].get("name")) in built}
    assert set(registered) == set(built)
    for key, obj in built.items():
        assert registered[key] == obj, key
