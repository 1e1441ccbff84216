"""The request guard: the Rego policy as the render ships it (ConfigMap policy + data), evaluated by OPA's own
engine on inputs shaped as OPA-Envoy builds them; its wiring (filter order, extAuth over gRPC, an authorizer
pod with no keys); and the route's error answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import require_opa, stack_values
from llm_tiers.config.schema import ConfigError
from llm_tiers.stack.parse import parse
from llm_tiers.gateway import aigw, aigw_rate_limits, guard
from llm_tiers.gateway import manifests as gm
from llm_tiers.gateway import tenant_policies
from llm_tiers.preview import validate

try:
    from llm_tiers.preview import guard_corpus as gc
    from opa_bindings import OpaEngine  # noqa: F401
    HAVE_OPA = True
except ImportError:  # pragma: no cover - the Makefile installs it
    HAVE_OPA = False


def objs(result, kind):
    return result.objects_named(kind)


@pytest.fixture(scope="module")
def opa(prod_guard_engine):
    """OPA with the prod render's ConfigMap policy and data. CI must have the engine (requirements-opa.txt)."""
    return prod_guard_engine


def decide(opa, tenant, body, path="/v1/chat/completions", **kw):
    if isinstance(body, dict):
        body = json.dumps(body)
    return gc.decide(opa, tenant, body, path=path, **kw)


def chat(model="chat-small", **extra):
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


def large_cap():
    large = parse(stack_values("prod")).tiers[1]
    return large.max_total_tokens - large.max_input_tokens


# Every decision allowed and refused (prod: search has a token budget; support-bot a budget and
# requireMaxTokens, and a previous key while rotating; analytics neither).
@pytest.mark.parametrize("tenant,body,path,status,code", [
    ("support-bot", chat(), "/v1/chat/completions", 400, "max_tokens_required"),
    ("support-bot", chat(max_tokens=256), "/v1/chat/completions", None, None),
    ("support-bot", chat("llama-3.1-8b-instruct", max_completion_tokens=2048), "/v1/chat/completions", None, None),
    ("support-bot", {"model": "chat-small", "prompt": "hi"}, "/v1/completions", 400, "max_tokens_required"),
    ("support-bot", {"model": "chat-small", "prompt": "hi", "max_tokens": 5}, "/v1/completions", None, None),
    ("support-bot", {"model": "chat-small", "input": "hi"}, "/v1/responses", 400, "max_tokens_required"),
    ("support-bot", {"model": "chat-small", "input": "hi", "max_output_tokens": 5}, "/v1/responses", None, None),
    ("search", chat(), "/v1/chat/completions", None, None),                            # not required for search
    ("search", chat(max_tokens=2048), "/v1/chat/completions", None, None),             # exactly the cap
    ("search", chat(max_tokens=2049), "/v1/chat/completions", 400, "max_tokens_too_large"),
    ("search", chat("llama-3.1-8b-instruct", max_completion_tokens=4000), "/v1/chat/completions", 400,
     "max_tokens_too_large"),
    ("search", {"model": "chat-small", "input": "hi", "max_output_tokens": 2049}, "/v1/responses", 400,
     "max_tokens_too_large"),
    ("search", {"model": "chat-small", "prompt": "hi", "max_tokens": 2049}, "/v1/completions", 400,
     "max_tokens_too_large"),
    ("search", chat(max_tokens=0), "/v1/chat/completions", 400, "invalid_max_tokens"),
    ("search", chat(max_tokens="10"), "/v1/chat/completions", 400, "invalid_max_tokens"),
    ("analytics", chat("chat-large", max_tokens="CAP"), "/v1/chat/completions", None, None),
    ("analytics", chat("chat-large", max_tokens="CAP+1"), "/v1/chat/completions", 400, "max_tokens_too_large"),
    ("support-bot", chat("gpt-4o"), "/v1/chat/completions", None, None),               # unknown model: route's 404
    ("search", None, "/v1/models", None, None),
])
def test_decisions(opa, tenant, body, path, status, code):
    if body and body.get("max_tokens") in ("CAP", "CAP+1"):
        body = {**body, "max_tokens": large_cap() + (body["max_tokens"] == "CAP+1")}
    got, got_code, result = decide(opa, tenant, body or "", path=path, method="GET" if body is None else "POST")
    assert (got, got_code) == (status, code), result
    if status:
        assert result["headers"]["content-type"] == "application/json"
        err = json.loads(result["body"])["error"]
        assert err["message"] and err["type"] == "invalid_request_error"


def test_the_previous_key_is_the_same_tenant():
    """While a key rotates, Envoy forwards ``<tenant>-previous`` as the client id: the same rules apply."""
    require_opa("the request guard's Rego policy is")
    values = stack_values("prod")
    values["tenants"][1]["rotate"] = 1
    cfg = parse(values)
    cm = guard.manifests(cfg.tiers, cfg.tenants, "llm-gateway", "img", {})[0]
    engine = gc.load_engine(cm["data"])
    try:
        assert decide(engine, "support-bot-previous", chat())[1] == "max_tokens_required"
        assert decide(engine, "support-bot-previous", chat(max_tokens=5))[0] is None
        assert decide(engine, "search-previous", chat())[1] == "tenant_not_ready"  # search did not rotate
    finally:
        engine.close()


# The stream rule per endpoint: usage is required only where the gateway does not add it itself. AI Gateway
# v1.1.0 adds stream_options.include_usage on /v1/chat/completions when request costs are configured
# (internal/endpointspec/endpointspec.go), as the route does (llmRequestCosts), not on /v1/completions; a
# Responses stream always ends with usage.
@pytest.mark.parametrize("tenant,path,body,status", [
    ("search", "/v1/chat/completions", chat(stream=True), None),
    ("search", "/v1/chat/completions", chat(stream=True, stream_options={"include_usage": False}), None),
    ("search", "/v1/completions", {"model": "chat-small", "prompt": "hi", "stream": True}, 400),
    ("search", "/v1/completions", {"model": "chat-small", "prompt": "hi", "stream": True,
                                   "stream_options": {"include_usage": False}}, 400),
    ("search", "/v1/completions", {"model": "chat-small", "prompt": "hi", "stream": True,
                                   "stream_options": {"include_usage": True}}, None),
    ("search", "/v1/completions", {"model": "chat-small", "prompt": "hi", "stream": False}, None),
    ("analytics", "/v1/completions", {"model": "chat-large", "prompt": "hi", "stream": True}, None),  # no budget
    ("search", "/v1/responses", {"model": "chat-small", "input": "hi", "stream": True}, None),
])
def test_stream_usage_rule_per_endpoint(opa, rendered, tenant, path, body, status):
    got, code, _ = decide(opa, tenant, body, path=path)
    assert got == status and (status is None or code == "stream_usage_required")
    if path == "/v1/chat/completions":
        # the premise: the route configures request costs, so AI Gateway adds include_usage itself
        assert objs(rendered("prod"), "AIGatewayRoute")[aigw.ROUTE_NAME]["spec"]["llmRequestCosts"]


@pytest.mark.skipif(not HAVE_OPA, reason="needs the OPA engine")
@pytest.mark.parametrize("case", gc.CORPUS if HAVE_OPA else [], ids=lambda c: c.name)
def test_abusive_and_malformed_requests(opa, case):
    """Each gets its definite verdict; none that must be refused is let through."""
    status, code, result = decide(opa, case.tenant, case.body, path=case.path, content_type=case.content_type,
                                   headers=case.headers)
    assert (status, code) == (case.status, case.code), result


POLICY_DIR = Path(guard.__file__).parent / "policy"
REGO_TESTS = re.findall(r"^(test_\w+) if", (POLICY_DIR / "guard_test.rego").read_text(), re.M)


@pytest.fixture(scope="module")
def opa_with_rego_tests():
    require_opa("the Rego unit tests are")
    from opa_bindings import OpaEngine as Engine

    engine = Engine()
    for name in (guard.POLICY_KEY, "guard_test.rego"):
        engine.add_policy(name, (POLICY_DIR / name).read_text())
    yield engine
    engine.close()


@pytest.mark.parametrize("rule", REGO_TESTS)
def test_rego_unit_tests(opa_with_rego_tests, rule):
    """policy/guard_test.rego, as ``opa test`` runs it: each test_ rule must be true."""
    assert opa_with_rego_tests.eval_query(f"x := data.llm_tiers.guard_test.{rule}") == [{"x": True}]


def test_there_are_rego_unit_tests():
    assert len(REGO_TESTS) >= 30


def test_the_corpus_is_large_enough():
    require_opa("the request guard's Rego policy is")
    assert sum(c.status is not None for c in gc.CORPUS) >= 60


def test_adding_a_tenant_changes_only_the_watched_data(rendered):
    """The policy directory (guard.rego, data.json) is what ``opa run --watch`` reloads; the pod template
    hashes only OPA's config file, so a new tier or tenant does not restart the pods."""
    cfg = parse(stack_values("prod"))
    before = guard.manifests(cfg.tiers, cfg.tenants, "llm-gateway", "img", {})
    values = stack_values("prod")
    values["tenants"].append({"name": "newcomer", "tiers": ["chat-small"], "requireMaxTokens": True})
    cfg2 = parse(values)
    after = guard.manifests(cfg2.tiers, cfg2.tenants, "llm-gateway", "img", {})
    cm_before, cm_after = before[0]["data"], after[0]["data"]
    assert cm_before[guard.DATA_KEY] != cm_after[guard.DATA_KEY]
    assert json.loads(cm_after[guard.DATA_KEY])[guard.DATA_ROOT]["tenants"]["newcomer"] == \
        {"requireMaxTokens": True, "tokenBudget": False}
    assert before[1]["spec"]["template"] == after[1]["spec"]["template"]
    c = after[1]["spec"]["template"]["spec"]["containers"][0]
    assert "--watch" in c["args"] and guard.POLICY_DIR == c["args"][-1]
    assert "--ignore=.*" in c["args"]  # the ConfigMap volume's ..data dirs would load every file twice


def test_the_route_calls_opa_after_the_api_key_check(rendered):
    r = rendered("prod")
    proxy = objs(r, "EnvoyProxy")[gm.GATEWAY_NAME]["spec"]
    order = proxy["filterOrder"]
    assert {"name": "envoy.filters.http.api_key_auth", "before": "envoy.filters.http.ext_authz"} in order
    sp = objs(r, "SecurityPolicy")[aigw.ROUTE_NAME]["spec"]
    ext = sp["extAuth"]
    assert ext["grpc"]["backendRefs"] == [{"name": guard.NAME, "port": guard.GRPC_PORT}] and "http" not in ext
    svc = objs(r, "Service")[guard.NAME]
    assert svc["spec"]["ports"][0]["port"] == guard.GRPC_PORT and svc["metadata"]["namespace"] == "llm-gateway"
    assert ext["failOpen"] is False and ext["statusOnError"] == guard.STATUS_ON_ERROR
    # the tenant header the API-key check forwards is what the policy reads; no credentials are sent
    assert sp["apiKeyAuth"]["forwardClientIDHeader"] == gm.TENANT_HEADER in ext["headersToExtAuth"]
    assert "authorization" not in [h.lower() for h in ext["headersToExtAuth"]]
    assert f'http.headers["{gm.TENANT_HEADER}"]' in guard.policy()
    buffer = objs(r, "BackendTrafficPolicy")[aigw.ROUTE_NAME]["spec"]["requestBuffer"]["limit"]
    assert ext["bodyToExtAuth"]["maxRequestBytes"] == buffer
    cfg = parse(stack_values("prod"))
    data = json.loads(objs(r, "ConfigMap")[guard.NAME]["data"][guard.DATA_KEY])[guard.DATA_ROOT]
    assert data["caps"] == {"chat-small": 2048, "llama-3.1-8b-instruct": 2048, "chat-large": large_cap()}
    assert {t for t, v in data["tenants"].items() if v["requireMaxTokens"]} >= {"support-bot"}
    assert {t for t, v in data["tenants"].items() if v["tokenBudget"]} == {
        cid for t in cfg.tenants if (t.limits or cfg.gateway.default_limits).tokens_per_minute
        for cid in tenant_policies.client_ids(t)}


def test_opa_evaluates_the_policys_result_rule(rendered):
    """OPA-Envoy's ``path`` names a rule the shipped policy defines, in its package."""
    data = objs(rendered("prod"), "ConfigMap")[guard.NAME]["data"]
    config = json.loads(data[guard.CONFIG_KEY])["plugins"]["envoy_ext_authz_grpc"]
    package = re.search(r"^package ([\w.]+)$", data[guard.POLICY_KEY], re.M).group(1)
    *pkg, rule = config["path"].split("/")
    assert ".".join(pkg) == package and re.search(rf"^{rule} := ", data[guard.POLICY_KEY], re.M)
    assert config["addr"] == f":{guard.GRPC_PORT}" and config["dry-run"] is False
    assert config["skip-request-body-parse"] is True  # the policy parses the body (guard.opa_config says why)


def test_the_authorizer_pod_holds_no_keys(rendered):
    r = rendered("prod")
    dep = objs(r, "Deployment")[guard.NAME]
    assert dep["spec"]["replicas"] == 2
    pod = dep["spec"]["template"]["spec"]
    text = json.dumps(pod)
    assert "secret" not in text.lower() and "tenant-api-keys" not in text
    assert all("configMap" in v for v in pod["volumes"])
    (c,) = pod["containers"]
    assert c["image"].startswith("docker.io/openpolicyagent/opa:") and c["image"].endswith("-envoy-static")
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    assert c["resources"]["limits"]["memory"] and c["resources"]["requests"]["memory"]
    # OPA's REST API (which could replace policies) only on loopback; probes on the diagnostic port
    assert f"--addr={guard.API_ADDR}" in c["args"] and guard.API_ADDR.startswith("127.0.0.1:")
    assert c["readinessProbe"]["httpGet"]["port"] == "diagnostic"
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    vols = {v["name"]: [i["key"] for i in v["configMap"]["items"]] for v in pod["volumes"]}
    assert vols[mounts[guard.POLICY_DIR]] == [guard.POLICY_KEY, guard.DATA_KEY]
    assert f"--config-file={guard.CONFIG_DIR}/{guard.CONFIG_KEY}" in c["args"]
    assert vols[mounts[guard.CONFIG_DIR]] == [guard.CONFIG_KEY]  # else OPA would load its config as data
    pdb = objs(r, "PodDisruptionBudget")[guard.NAME]
    assert pdb["spec"]["selector"]["matchLabels"] == guard.LABELS


def test_only_the_proxies_and_probes_reach_the_authorizer(rendered):
    r = rendered("prod")
    nps = {o["metadata"]["name"]: o for o in r.kubernetes_objects()
           if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] in ("llm-gateway", "envoy-gateway-system")
           and o["metadata"]["name"] in (guard.NAME, "envoy-proxies")}
    ingress = nps[guard.NAME]["spec"]["ingress"]
    (src,) = [rule for rule in ingress if any("podSelector" in p for p in rule["from"])]
    assert src["from"][0]["podSelector"]["matchLabels"] == gm.EG_PROXY
    assert src["ports"] == [{"port": guard.GRPC_PORT, "protocol": "TCP"}]
    assert "envoy-gateway-system" in json.dumps(src["from"][0]["namespaceSelector"])
    others = [rule for rule in ingress if rule is not src]
    assert others and all("ipBlock" in p for rule in others for p in rule["from"])
    assert all(rule["ports"] == [{"port": guard.DIAGNOSTIC_PORT, "protocol": "TCP"}] for rule in others)
    egress = nps["envoy-proxies"]["spec"]["egress"]
    assert any(e["to"][0].get("podSelector", {}).get("matchLabels") == guard.LABELS and
               e["ports"] == [{"port": guard.GRPC_PORT, "protocol": "TCP"}] for e in egress)


def _answer(overrides, status, local, headers=None):
    """Envoy's custom_response as Envoy Gateway configures it (internal/xds/translator/custom_response.go at
    v1.9.0): rules in order, first match wins; a rule matches the status codes, all its response headers and,
    for ``source`` Local/Backend, whether Envoy generated the reply."""
    for o in overrides:
        m = o["match"]
        if o.get("source", "All") == "Local" and not local or o.get("source", "All") == "Backend" and local:
            continue
        if not any(s["value"] == status for s in m.get("statusCodes", [])):
            continue
        if any((headers or {}).get(h["name"].lower()) != h["value"]["value"] for h in m.get("responseHeaders", [])):
            continue
        return o["response"].get("statusCode", status), json.loads(o["response"]["body"]["inline"])["error"]["code"], \
            {h["name"]: h["value"] for h in o["response"].get("header", {}).get("set", [])}
    return status, None, {}


def test_four_error_answers_tell_what_happened(rendered):
    """Authorizer unavailable, a tier starting and the tenant's limit are different OpenAI errors; the engine's
    own 429/503 (not local replies) pass as the engine sent them; a guard refusal (400/409 with the policy's
    own body) is left as it is."""
    r = rendered("prod")
    overrides = objs(r, "BackendTrafficPolicy")[aigw.ROUTE_NAME]["spec"]["responseOverride"]
    status_on_error = objs(r, "SecurityPolicy")[aigw.ROUTE_NAME]["spec"]["extAuth"]["statusOnError"]
    unavailable = _answer(overrides, status_on_error, local=True)
    starting = _answer(overrides, 503, local=True)
    limited = _answer(overrides, 429, local=True)
    codes = [a[1] for a in (unavailable, starting, limited)]
    assert None not in codes and len(set(codes)) == 3, codes
    assert unavailable[0] == 503 and unavailable[2]["Retry-After"] == str(guard.CHECK_UNAVAILABLE_RETRY_AFTER_SECONDS)
    assert unavailable[1] == "request_check_unavailable" and starting[1] == "model_starting"
    assert limited[1] == "rate_limit_exceeded" and limited[2]["Retry-After"] == "%RESP(x-ratelimit-reset)%"
    assert _answer(overrides, 429, local=False) == (429, None, {})   # the engine's own overload
    assert _answer(overrides, 503, local=False) == (503, None, {})
    # nothing else Envoy answers locally on this route uses the authorizer's error status
    assert status_on_error not in aigw_rate_limits.error_bodies() and status_on_error not in (400, 409)
    for status in (400, 409):
        assert _answer(overrides, status, local=True)[1] is None


def test_guard_objects_validate_against_the_crds(rendered, crd_schemas):
    r = rendered("prod")
    found = [o for o in r.kubernetes_objects()
             if (o["kind"], o["metadata"]["name"]) in {("EnvoyProxy", gm.GATEWAY_NAME),
                                                       ("SecurityPolicy", aigw.ROUTE_NAME),
                                                        ("BackendTrafficPolicy", aigw.ROUTE_NAME)}]
    assert len(found) == 3
    problems, _ = validate.validate_objects(found, "1.34", crd_schemas)
    assert not problems, problems


def test_max_output_tokens_must_leave_room_for_a_prompt():
    values = stack_values("prod")
    values["tiers"][0]["maxOutputTokens"] = values["tiers"][0]["maxTotalTokens"]
    with pytest.raises(ConfigError, match=r"tiers\[0\]\.maxOutputTokens"):
        parse(values)
