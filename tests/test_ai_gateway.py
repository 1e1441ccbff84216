"""The single OpenAI front door as rendered (Envoy AI Gateway v1.1.0 on Envoy Gateway v1.9.0): routing by
`model`, (tenant, model) grants, 404/403 as OpenAI JSON, token budgets, the wake-up signal of a tier at zero,
timeouts, Retry-After, local-only error overrides, body limits, the install and its capacity."""

from __future__ import annotations

import json
import re

import cel
import pytest

from conftest import STACKS, overrides, stack_values
from llm_tiers.stack import system_capacity as sc
from llm_tiers.config.schema import ConfigError
from llm_tiers.stack.parse import parse
from llm_tiers.gateway import aigw
from llm_tiers.tiers import autoscaling
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import validate


def objs(result, kind):
    return result.objects_named(kind)


def ai_policies(r):
    return objs(r, "SecurityPolicy")[aigw.ROUTE_NAME], objs(r, "BackendTrafficPolicy")[aigw.ROUTE_NAME]


@pytest.mark.parametrize("stack", STACKS)
def test_an_openai_client_reaches_every_tier_at_one_base_url_by_model(rendered, stack):
    """base_url=https://<host>/v1, model=<tier> (or an alias) -> the rule of that tier -> its AIServiceBackend
    -> a Backend with the tier Service's FQDN on port 80."""
    r = rendered(stack)
    cfg = parse(stack_values(stack))
    route = objs(r, "AIGatewayRoute")[aigw.ROUTE_NAME]
    assert route["apiVersion"] == "aigateway.envoyproxy.io/v1beta1"
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                            "name": "llm-gateway", "sectionName": "https"}]
    assert route["spec"]["hostnames"] == [cfg.gateway.hostname]
    rules = route["spec"]["rules"]
    assert [x["name"] for x in rules] == [t.name for t in cfg.tiers]
    services, backends = objs(r, "AIServiceBackend"), objs(r, "Backend")
    for t, rule in zip(cfg.tiers, rules):
        assert [m["headers"] for m in rule["matches"]] == [
            [{"type": "Exact", "name": "x-ai-eg-model", "value": name}] for name in [t.name, *t.aliases]]
        (ref,) = rule["backendRefs"]
        svc = services[ref["name"]]["spec"]
        assert svc["schema"] == {"name": "OpenAI"}   # no prefix: /v1/chat/completions upstream
        be = backends[svc["backendRef"]["name"]]
        assert svc["backendRef"]["kind"] == "Backend" and svc["backendRef"]["group"] == "gateway.envoyproxy.io"
        assert be["spec"]["endpoints"] == [{"fqdn": {"hostname": f"{t.name}.llm-tiers.svc.cluster.local", "port": 80}}]
        assert rule["timeouts"]["request"] == f"{cfg.gateway.request_timeout_seconds}s"
    out = r.outputs()
    assert out["baseUrl"] == f"https://{cfg.gateway.hostname}/v1"
    assert out["models"] == {t.name: [t.name, *t.aliases] for t in cfg.tiers}


def test_prod_renders_an_alias():
    cfg = parse(stack_values("prod"))
    assert cfg.tiers[0].aliases, "the prod stack shows an alias (the test above checks it routes)"




def answer(r, tenant: str, model: str | None, body_bytes: int = 1000, path: str = "/v1/chat/completions") -> int:
    """What the single route answers an authenticated tenant, following the filter order (module doc of
    llm_tiers.gateway.aigw): buffer (over the route limit: 413), ext_proc (sets x-ai-eg-model from the body;
    GET /v1/models is answered here with the model list), rbac (first matching rule, CEL evaluated), then
    routing (a model no rule matches: the route-not-found 404)."""
    security, traffic = ai_policies(r)
    if body_bytes > traffic["spec"]["requestBuffer"]["limit"]:
        return 413
    if path == "/v1/models":
        return 200
    headers = {"x-tenant-id": tenant, "content-length": str(body_bytes)}   # the buffer filter set it
    if model is not None:
        headers["x-ai-eg-model"] = model
    auth = security["spec"]["authorization"]
    action = auth["defaultAction"]
    for rule in auth["rules"]:
        try:
            matched = cel.evaluate(rule["cel"], {"request": {"headers": headers}}) is True
        except Exception:  # an evaluation error is no match (Envoy RBAC)
            matched = False
        if matched:
            action = rule["action"]
            break
    if action == "Deny":
        return 403
    route = objs(r, "AIGatewayRoute")[aigw.ROUTE_NAME]
    known = {h["value"] for rule in route["spec"]["rules"] for m in rule["matches"] for h in m["headers"]}
    return 200 if model in known else 404


@pytest.mark.parametrize("tenant,model,status", [
    ("search", "chat-small", 200), ("search", "chat-large", 200),
    ("search", "llama-3.1-8b-instruct", 200),           # an alias of chat-small
    ("analytics", "chat-large", 200),
    ("analytics", "chat-small", 403), ("analytics", "llama-3.1-8b-instruct", 403),   # not granted
    ("support-bot", "chat-large", 403),
    ("search", "gpt-4o", 404), ("analytics", "no-such-model", 404),                  # unknown: 404, never 403
    ("support-bot", None, 404),                                                     # no model at all
])
def test_grants_are_tenant_model_rules(rendered, tenant, model, status):
    assert answer(rendered("prod"), tenant, model) == status


def test_a_previous_key_keeps_the_tenants_grants(rendered):
    values = stack_values("prod")
    values["tenants"][2]["rotate"] = 1  # analytics
    r = render_tool.render("prod", overrides=overrides(values))
    assert answer(r, "analytics-previous", "chat-large") == 200
    assert answer(r, "analytics-previous", "chat-small") == 403


@pytest.mark.parametrize("tenant,size,status", [
    ("support-bot", 262_144, 200), ("support-bot", 262_145, 403),   # over its own limit for chat-small
    ("search", 1_048_576, 200), ("search", 1_048_577, 413),
    ("analytics", 2_000_000, 413),       # over the route's buffer: 413 before any grant is looked at
])
def test_body_limits_are_measured_after_buffering(rendered, tenant, size, status):
    model = "chat-large" if tenant == "analytics" else "chat-small"
    assert answer(rendered("prod"), tenant, model, size) == status


def test_models_list_is_what_the_route_matches_not_tenant_filtered(rendered):
    """AI Gateway answers GET /v1/models itself from every exact x-ai-eg-model match of the Gateway's routes
    (internal/controller/gateway.go, internal/extproc/models_processor.go at v1.1.0), filtered by Host only:
    every authenticated tenant sees every model name; calling one not granted answers 403."""
    r = rendered("prod")
    route = objs(r, "AIGatewayRoute")[aigw.ROUTE_NAME]
    listed = sorted(h["value"] for rule in route["spec"]["rules"] for m in rule["matches"] for h in m["headers"]
                    if h["name"] == "x-ai-eg-model" and h["type"] == "Exact")
    cfg = parse(stack_values("prod"))
    assert listed == aigw.known_models(cfg.tiers)
    assert answer(r, "analytics", None, path="/v1/models") == 200


@pytest.mark.parametrize("status,code", [(404, "model_not_found"), (403, "model_not_granted"),
                                         (401, "invalid_api_key"), (413, "request_too_large"),
                                         (429, "rate_limit_exceeded"), (503, "model_starting")])
def test_gateway_replies_are_openai_json(rendered, status, code):
    _, traffic = ai_policies(rendered("prod"))
    (o,) = [o for o in traffic["spec"]["responseOverride"] if o["match"]["statusCodes"][0]["value"] == status]
    body = json.loads(o["response"]["body"]["inline"])
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    assert o["response"]["contentType"] == "application/json"


@pytest.mark.parametrize("stack", STACKS)
def test_error_overrides_apply_to_gateway_local_replies_only(rendered, stack):
    """TGI's own 4xx (e.g. its 429 "Model is overloaded") reach the client unchanged."""
    r = rendered(stack)
    for btp in objs(r, "BackendTrafficPolicy").values():
        assert btp["spec"]["responseOverride"]
        assert {o.get("source") for o in btp["spec"]["responseOverride"]} == {"Local"}


@pytest.mark.parametrize("stack", STACKS)
def test_retry_after_is_the_rate_limiters_reset(rendered, stack):
    r = rendered(stack)
    for btp in objs(r, "BackendTrafficPolicy").values():
        (o,) = [o for o in btp["spec"]["responseOverride"] if o["match"]["statusCodes"][0]["value"] == 429]
        headers = {h["name"]: h["value"] for h in o["response"]["header"]["set"]}
        assert headers == {"Retry-After": "%RESP(x-ratelimit-reset)%", "x-ratelimit-reset": "%RESP(x-ratelimit-reset)%"}
        for rule in btp["spec"].get("rateLimit", {}).get("global", {}).get("rules", []):
            assert rule["xRateLimitHeaders"] == "DraftVersion03", "the reset header must be sent to be copied"
        (wake,) = [o for o in btp["spec"]["responseOverride"] if o["match"]["statusCodes"][0]["value"] == 503]
        assert int(wake["response"]["header"]["set"][0]["value"]) > 0


def test_token_budgets_charge_the_reported_total_tokens(rendered):
    r = rendered("prod")
    cfg = parse(stack_values("prod"))
    route = objs(r, "AIGatewayRoute")[aigw.ROUTE_NAME]
    costs = {c["metadataKey"]: c["type"] for c in route["spec"]["llmRequestCosts"]}
    _, traffic = ai_policies(r)
    rules = traffic["spec"]["rateLimit"]["global"]["rules"]
    budgets = {rule["clientSelectors"][0]["headers"][0]["value"]: rule for rule in rules if "cost" in rule}
    expected = {t.name: t.limits.tokens_per_minute for t in cfg.tenants if t.limits and t.limits.tokens_per_minute}
    assert expected and {k: v["limit"] for k, v in budgets.items()} == {
        k: {"requests": v, "unit": "Minute"} for k, v in expected.items()}
    for rule in budgets.values():
        assert rule["cost"]["request"] == {"from": "Number", "number": 0}   # admitted, then charged
        meta = rule["cost"]["response"]["metadata"]
        assert rule["cost"]["response"]["from"] == "Metadata"
        assert meta["namespace"] == "io.envoy.ai_gateway" and costs[meta["key"]] == "TotalToken"
        assert len(rule["clientSelectors"][0]["headers"]) == 1, "one budget per tenant over all its models"


def simulate_budget(limit: int, responses: list[int]) -> list[int]:
    """Envoy's global rate limit with request cost 0 and the response's tokens charged afterwards: a request
    is refused only once the counter is already over the limit."""
    used, out = 0, []
    for tokens in responses:
        if used > limit:
            out.append(429)
            continue
        out.append(200)
        used += tokens
    return out


def test_token_budget_exceeded_answers_429_after_the_overshoot(rendered):
    _, traffic = ai_policies(rendered("prod"))
    (rule,) = [x for x in traffic["spec"]["rateLimit"]["global"]["rules"]
               if "cost" in x and x["clientSelectors"][0]["headers"][0]["value"] == "support-bot"]
    limit = rule["limit"]["requests"]
    assert simulate_budget(limit, [limit // 2, limit // 2, 5000, 10]) == [200, 200, 200, 429]


def test_request_limits_are_per_tenant_and_model(rendered):
    _, traffic = ai_policies(rendered("prod"))
    per = {}
    for rule in traffic["spec"]["rateLimit"]["global"]["rules"]:
        if "cost" in rule:
            continue
        tenant, model = rule["clientSelectors"][0]["headers"]
        assert model["name"] == "x-ai-eg-model" and model["type"] == "RegularExpression"
        per.setdefault((tenant["value"], model["value"]), {})[rule["limit"]["unit"]] = rule["limit"]["requests"]
    assert per[("search", "^(chat\\-small|llama\\-3\\.1\\-8b\\-instruct)$")] == {"Minute": 1200, "Second": 40}
    assert per[("support-bot", "^(chat\\-small|llama\\-3\\.1\\-8b\\-instruct)$")] == {"Minute": 600, "Second": 20}
    assert per[("analytics", "^(chat\\-large)$")] == {"Minute": 60, "Second": 5}
    assert ("analytics", "^(chat\\-small|llama\\-3\\.1\\-8b\\-instruct)$") not in per
    for pattern in {m for _, m in per}:
        re.compile(pattern)


@pytest.mark.parametrize("stack", STACKS)
def test_no_idle_timeout_cuts_a_request_before_its_timeout(rendered, stack):
    """Envoy counts the wait for response headers as idle: the idle timeout is never below the route's."""
    r = rendered(stack)
    cfg = parse(stack_values(stack))
    assert cfg.gateway.stream_idle_timeout_seconds < cfg.gateway.request_timeout_seconds  # the case that bit
    for btp in objs(r, "BackendTrafficPolicy").values():
        idle = int(btp["spec"]["timeout"]["http"]["streamIdleTimeout"].rstrip("s"))
        assert idle >= cfg.gateway.request_timeout_seconds


def _metrics_and_clusters(query: str) -> tuple[set[str], set[str]]:
    metrics = set(re.findall(r"rate\((\w+)\{", query))
    (pattern,) = set(re.findall(r'envoy_cluster_name=~"([^"]+)"', query))
    return metrics, set(pattern.replace("\\", "").split("|"))


@pytest.mark.parametrize("per_tier_urls", [True, False])
def test_a_tier_at_zero_has_a_wake_signal_envoy_emits(per_tier_urls):
    """dev's chat-small scales to zero. Its wake-up query must read counters of clusters that exist at zero
    pods: clusters of routes whose backend is an FQDN Backend (a Service backend without endpoints has no
    cluster), named as Envoy Gateway names a route rule's cluster."""
    values = stack_values("dev")
    values["gateway"]["perTierUrls"] = per_tier_urls
    r = render_tool.render("dev", overrides=overrides(values))
    cfg = parse(values)
    (tier,) = [t for t in cfg.tiers if t.replicas.min == 0]
    (so,) = [o for o in r.kubernetes_objects() if o["kind"] == "ScaledObject"
             and o["metadata"]["name"].startswith(tier.name)]
    assert so["spec"]["minReplicaCount"] == 0
    (wake,) = [t for t in so["spec"]["triggers"] if t["name"] == "gateway-requests"]
    metrics, clusters = _metrics_and_clusters(wake["metadata"]["query"])
    assert metrics == set(autoscaling.WAKE_COUNTERS)
    assert wake["metadata"]["query"].count("or vector(0)") == len(autoscaling.WAKE_COUNTERS)
    # Every cluster the query reads: the rule of a route that sends this tier's traffic to an FQDN Backend.
    expected = set()
    route = objs(r, "AIGatewayRoute")[aigw.ROUTE_NAME]
    i = [x["name"] for x in route["spec"]["rules"]].index(tier.name)
    ref = objs(r, "AIServiceBackend")[route["spec"]["rules"][i]["backendRefs"][0]["name"]]["spec"]["backendRef"]
    assert "fqdn" in objs(r, "Backend")[ref["name"]]["spec"]["endpoints"][0]
    expected.add(f"httproute/llm-gateway/{route['metadata']['name']}/rule/{i}")
    legacy = objs(r, "HTTPRoute").get(tier.name)
    assert (legacy is not None) == per_tier_urls
    if legacy:
        (rule,) = legacy["spec"]["rules"]
        assert rule["backendRefs"] == [{"group": "gateway.envoyproxy.io", "kind": "Backend", "name": tier.name}]
        expected.add(f"httproute/llm-gateway/{tier.name}/rule/0")
    assert clusters == expected
    assert (r.outputs()["baseUrls"] == {}) == (not per_tier_urls)
    # While the deprecated per-tier URLs are on, every preview says so and how to end them.
    deprecation = [w for w in r.recording.warnings if w.startswith("gateway.perTierUrls:")]
    assert bool(deprecation) == per_tier_urls
    assert all("perTierUrls: false" in w and f"https://{cfg.gateway.hostname}/v1" in w for w in deprecation)
    # The query parses as PromQL (promtool checks it as a recording rule's expression).
    import shutil
    import subprocess
    import tempfile

    import yaml
    if shutil.which("promtool"):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            yaml.safe_dump({"groups": [{"name": "wake", "rules": [
                {"record": "wake", "expr": wake["metadata"]["query"]}]}]}, f)
            f.flush()
            out = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
            assert out.returncode == 0, out.stdout + out.stderr


def test_routed_model_names_are_unique():
    values = stack_values("prod")
    values["tiers"][1]["aliases"] = ["llama-3.1-8b-instruct"]
    with pytest.raises(ConfigError, match=r"tiers\[1\]\.aliases\[0\]"):
        parse(values)
    values["tiers"][1]["aliases"] = ["chat-small"]
    with pytest.raises(ConfigError, match=r"tiers\[1\]\.aliases\[0\]"):
        parse(values)


def test_envoy_gateway_is_configured_for_ai_gateway(rendered):
    releases = {x["name"]: x for x in rendered("prod").helm_releases()}
    eg = releases["envoy-gateway"]["values"]["config"]["envoyGateway"]
    assert eg["extensionApis"]["enableBackend"] is True
    assert "rateLimit" in eg, "merged, not replaced: the rate-limit store stays configured"
    hooks = eg["extensionManager"]["hooks"]["xdsTranslator"]
    assert hooks["post"] == ["Translation", "Cluster", "Route"]
    ai = releases["ai-gateway"]
    assert ai["version"] == "v1.1.0" and ai["namespace"] == "envoy-ai-gateway-system"
    assert eg["extensionManager"]["service"]["fqdn"] == {
        "hostname": "ai-gateway-controller.envoy-ai-gateway-system.svc.cluster.local", "port": 1063}
    # prod lists gateway.features: the (guard-bounded) feature header is a metric attribute too.
    assert ai["values"]["controller"]["metricsRequestHeaderAttributes"] == \
        "x-tenant-id:tenant.id,x-llm-feature:llm.feature"


def test_ai_gateway_pods_are_counted_with_the_requests_they_get(rendered):
    r = rendered("prod")
    ai = {x["name"]: x for x in r.helm_releases()}["ai-gateway"]["values"]["controller"]
    assert ai["resources"] == sc.AIGW_CONTROLLER.resources()
    (gwc,) = objs(r, "GatewayConfig").values()
    assert gwc["spec"]["extProc"]["kubernetes"]["resources"] == sc.AIGW_EXTPROC.resources()
    gateway = objs(r, "Gateway")["llm-gateway"]
    assert gateway["metadata"]["annotations"]["aigateway.envoyproxy.io/gateway-config"] == gwc["metadata"]["name"]
    cfg = parse(stack_values("prod"))
    by_name = {w.name: w for w in sc.system_workloads(cfg)}
    assert sc.AIGW_EXTPROC in by_name["envoy-proxy"].containers
    assert by_name["ai-gateway-controller"].containers == (sc.AIGW_CONTROLLER,)


@pytest.mark.parametrize("stack", STACKS)
def test_ai_gateway_objects_validate_against_the_crds(rendered, stack, crd_schemas):
    kinds = {"AIGatewayRoute", "AIServiceBackend", "Backend", "GatewayConfig", "SecurityPolicy",
             "BackendTrafficPolicy"}
    found = [o for o in rendered(stack).kubernetes_objects() if o["kind"] in kinds]
    assert {o["kind"] for o in found} == kinds
    for o in found:
        assert (o["apiVersion"], o["kind"]) in crd_schemas
    problems, skipped = validate.validate_objects(found, "1.34", crd_schemas)
    assert not problems and not skipped, problems


def test_rbac_expressions_compile(rendered):
    for stack in STACKS:
        security, _ = ai_policies(rendered(stack))
        for rule in security["spec"]["authorization"]["rules"]:
            cel.compile(rule["cel"])
            assert len(rule["cel"]) <= 4096


# Keys of envoyproxy/ai-gateway manifests/charts/ai-gateway-helm/values.yaml at tag v1.1.0 that the program
# sets, with their defaults there (read from upstream at that tag). Re-read them when
# versions.CHARTS["ai-gateway"] moves.
AIGW_CHART_KEYS = {"controller.resources": {}, "controller.nodeSelector": {}, "controller.replicaCount": 1,
                   "controller.metricsRequestHeaderAttributes": "", "envoyGateway.namespace": "envoy-gateway-system"}


def _paths(tree, prefix=""):
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and path not in AIGW_CHART_KEYS:
            yield from _paths(value, path + ".")
        else:
            yield path


def test_every_ai_gateway_chart_key_exists_in_the_pinned_chart(rendered):
    from llm_tiers import versions

    assert versions.CHARTS["ai-gateway"].version == versions.CHARTS["ai-gateway-crds"].version == "v1.1.0"
    for stack in STACKS:
        ai = {x["name"]: x for x in rendered(stack).helm_releases()}["ai-gateway"]
        assert set(_paths(ai["values"])) <= set(AIGW_CHART_KEYS), "a key not read from the pinned chart"
