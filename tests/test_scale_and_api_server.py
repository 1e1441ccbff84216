"""Issue 24: the render's "yes" is the API server's "yes", at scale.

* Every render validates every object (core kinds strictly, custom resources with their pinned CRD: limits,
  formats, CEL rules) and refuses the render otherwise, naming the config key (``llm_tiers.preview.preflight``).
* The gateway's objects split where a limit is per object (routes of at most 15 tiers, a BackendTrafficPolicy
  of at most 256 rate-limit rules, CEL of at most 4,096 characters), so a stack of 30 tiers and 50 tenants
  (each granted every tier, with request and token limits) renders, validates and fits; one route and one pair
  of policies while everything fits, as before.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

import pytest

from conftest import overrides, stack_values
from llm_tiers.preview import preflight
from llm_tiers.stack import system_capacity as sc
from llm_tiers.config.schema import ConfigError
from llm_tiers.stack.parse import parse
from llm_tiers.gateway import aigw, aigw_rate_limits
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import validate


def scale_values(n_tiers: int, n_tenants: int) -> dict[str, Any]:
    """prod with ``n_tiers`` prod-shaped tiers (chat-small's model on l4) and ``n_tenants`` tenants, each granted
    every tier with request and token limits."""
    values = stack_values("prod")
    base = values["tiers"][0]
    values["tiers"] = [{**copy.deepcopy(base), "name": f"tier-{i:02d}", "aliases": [f"model-{i:02d}"],
                        "replicas": {"min": 1, "max": 2}} for i in range(n_tiers)]
    values["tiers"][-1].update(replicas={"min": 0, "max": 2}, sporadic=True)  # woken by its route rule's Envoy cluster
    values["gpuClasses"]["l4"]["maxGpus"] = n_tiers * 6
    values["tenants"] = [{"name": f"tenant-{j:02d}", "tiers": [t["name"] for t in values["tiers"]],
                          "limits": {"requestsPerMinute": 600, "burstPerSecond": 20, "tokensPerMinute": 100000}}
                         for j in range(n_tenants)]
    values["cost"] = {"utilizationPercent": 60}
    return values


@functools.lru_cache(maxsize=None)
def _render(n_tiers: int, n_tenants: int) -> render_tool.RenderResult:
    return render_tool.render("prod", overrides=overrides(scale_values(n_tiers, n_tenants)))


def _of(result: render_tool.RenderResult, kind: str, namespace: str = "llm-gateway") -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in result.kubernetes_objects()
            if o["kind"] == kind and o["metadata"].get("namespace") == namespace}


def test_the_issue_stack_of_14_tiers_and_10_tenants_validates(crd_schemas):
    """On main: one BackendTrafficPolicy with 290 rate-limit rules (maxItems 256), refused by the API server."""
    r = _render(14, 10)
    problems, skipped = validate.check(r.kubernetes_objects(), "1.34", validate.crd_dir_from_env())
    assert not skipped and not problems, "\n".join(map(str, problems))
    policies = _of(r, "BackendTrafficPolicy")
    assert all(len(p["spec"]["rateLimit"]["global"]["rules"]) <= 256 for p in policies.values())
    assert len(_of(r, "AIGatewayRoute")) > 1


def test_30_tiers_and_50_tenants_render_validate_and_fit(crd_schemas):
    r = _render(30, 50)  # the render itself validates every object (check_api_server) and refuses otherwise
    assert r.unvalidated == []
    cfg = parse(scale_values(30, 50))
    assert sc.report(cfg)["fits"]
    routes = _of(r, "AIGatewayRoute")
    # Every tier in exactly one route; each route within AI Gateway's 15 rules; every route has its own policies.
    routed = [rule["name"] for route in routes.values() for rule in route["spec"]["rules"]]
    assert sorted(routed) == [f"tier-{i:02d}" for i in range(30)]
    assert all(len(route["spec"]["rules"]) <= aigw.MAX_ROUTE_RULES for route in routes.values())
    assert set(_of(r, "SecurityPolicy")) >= set(routes) and set(_of(r, "BackendTrafficPolicy")) >= set(routes)
    for name in routes:
        btp, sp = _of(r, "BackendTrafficPolicy")[name], _of(r, "SecurityPolicy")[name]
        assert btp["spec"]["targetRefs"] == sp["spec"]["targetRefs"] == [
            {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": name}]
        assert len(btp["spec"]["rateLimit"]["global"]["rules"]) <= aigw.MAX_RATE_LIMIT_RULES
        assert all(len(rule["cel"]) <= aigw.MAX_AUTHORIZATION_CEL for rule in sp["spec"]["authorization"]["rules"])
    # Each tier's scale-from-zero trigger counts the Envoy cluster of the route rule that really carries it.
    scaled = {o["metadata"]["name"]: o for o in r.kubernetes_objects() if o["kind"] == "ScaledObject"}
    clusters = aigw.tier_clusters(cfg.tiers, cfg.gateway, "llm-gateway", cfg.tenants)
    for tier in cfg.tiers:
        route, index = re.fullmatch(r"httproute/llm-gateway/(.+)/rule/(\d+)", clusters[tier.name][0]).groups()
        assert routes[route]["spec"]["rules"][int(index)]["name"] == tier.name
    last = clusters["tier-29"][0]
    assert last != "httproute/llm-gateway/llm-router/rule/29" and any(last in str(o["spec"]) for o in scaled.values())


def test_one_route_and_one_pair_of_policies_while_everything_fits(rendered):
    for stack in ("dev", "prod", "staging"):
        cfg = parse(stack_values(stack))
        assert [g.name for g in aigw.route_groups(cfg.tiers, cfg.tenants, cfg.gateway)] == ["llm-router"]
        assert list(_of(rendered(stack), "AIGatewayRoute")) == ["llm-router"]


def test_more_than_14_tiers_is_no_longer_refused():
    """On main: "16 tiers, but one AIGatewayRoute holds at most 14 ...; split the tiers over two gateways"."""
    cfg = parse(scale_values(16, 2))
    groups = aigw.route_groups(cfg.tiers, cfg.tenants, cfg.gateway)
    assert [len(g.tiers) for g in groups] == [15, 1]


def test_hard_limits_are_refused_by_key():
    values = scale_values(1, 129)  # 2 x 129 request rules on one tier's route > 256 (token budgets: the listener's)
    with pytest.raises(ConfigError) as info:
        parse(values)
    (issue,) = info.value.issues
    assert issue.path == "tenants"
    assert "129 tenants are granted tier 'tier-00'" in issue.message and "258 items > maxItems 256" in issue.message
    parse(scale_values(1, 128))  # 90 was refused while the token rules shared the route's policy
    values = scale_values(3, 257)  # each tenant on one tier (~86 x 2 request rules), 257 token budgets > 256
    for j, tenant in enumerate(values["tenants"]):
        tenant["tiers"] = [values["tiers"][j % 3]["name"]]
    with pytest.raises(ConfigError) as info:
        parse(values)
    assert [(i.path, i.message.split(":")[0]) for i in info.value.issues] == [
        ("tenants", "257 tenants have limits.tokensPerMinute")]
    assert "llm-token-budgets spec.rateLimit.global.rules: 257 items > maxItems 256" in info.value.issues[0].message
    values = scale_values(1, 1)
    values["tiers"][0]["aliases"] = [f"m-{i}" for i in range(128)]  # 129 model names: matches maxItems 128
    with pytest.raises(ConfigError) as info:
        parse(values)
    assert [i.path for i in info.value.issues] == ["tiers[0].aliases"]
    assert "129 items > maxItems 128" in info.value.issues[0].message


def test_preflight_refuses_before_anything_is_registered_naming_the_key(monkeypatch, crd_schemas):
    """Without the split (as on main) the 14 x 10 stack's policy is over the CRD's limit (280 request-limit rules;
    the 10 token budgets are in the listener's policy): the program's preflight refuses it, with the config key,
    before the first resource."""
    one_route = lambda tiers, tenants, gw: [aigw.RouteGroup(aigw.ROUTE_NAME, tuple(tiers))]  # noqa: E731
    monkeypatch.setattr(aigw, "route_groups", one_route)
    monkeypatch.setattr(aigw, "limit_issues", lambda *a: [])
    cfg = parse(scale_values(14, 10))
    with pytest.raises(ConfigError) as info:
        preflight.check(cfg, validate.crd_dir_from_env())
    assert ("tenants[*].limits", "BackendTrafficPolicy llm-gateway/llm-router: spec.rateLimit.global.rules: 280 items "
            "> maxItems 256 (the API server would refuse it)") in [(i.path, i.message) for i in info.value.issues]
    with pytest.raises(render_tool.RenderError) as refused:
        render_tool.render("prod", overrides=overrides(scale_values(14, 10)))
    assert "280 items > maxItems 256" in str(refused.value)
    assert refused.value.recording.resources == [], "refused before anything was registered"


def test_the_render_refuses_what_the_api_server_would(monkeypatch, crd_schemas):
    """A rendered object the API server refuses (here a tier's sync Job with a field Kubernetes does not know)
    refuses the render, naming the object and the config key that produced it."""
    from llm_tiers.tiers import weights

    original = weights.sync_job

    def broken(*args, **kwargs):
        job = original(*args, **kwargs)
        job["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
        return job

    monkeypatch.setattr(weights, "sync_job", broken)
    with pytest.raises(render_tool.RenderError) as refused:
        render_tool.render("dev")
    text = str(refused.value)
    assert "the API server would refuse" in text and "Job llm-tiers/" in text and "produced by tiers[0]" in text


def test_a_cel_rule_failing_in_the_render_names_the_key(monkeypatch, crd_schemas):
    original = aigw.security_policy

    def broken(*args, **kwargs):
        sp = original(*args, **kwargs)
        sp["spec"]["authorization"]["rules"].append({"name": "empty", "action": "Allow"})
        return sp

    monkeypatch.setattr(aigw, "security_policy", broken)
    with pytest.raises(ConfigError) as info:
        preflight.check(parse(stack_values("dev")), validate.crd_dir_from_env())
    assert any(i.path == "tenants[*].tiers" and "at least one of principal or cel must be specified" in i.message
               for i in info.value.issues)


def test_the_split_limits_are_the_pinned_crds(crd_schemas):
    """The limits route_groups packs against are read back from the pinned CRDs (a version bump that moves one
    fails here)."""
    def node(key, *path):
        schema = crd_schemas[key]
        for p in path:
            schema = schema["items"] if p == "[]" else schema["properties"][p]
        return schema

    route = ("aigateway.envoyproxy.io/v1beta1", "AIGatewayRoute")
    btp = ("gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy")
    sp = ("gateway.envoyproxy.io/v1alpha1", "SecurityPolicy")
    assert node(route, "spec", "rules")["maxItems"] == aigw.MAX_ROUTE_RULES
    assert node(route, "spec", "rules", "[]", "matches")["maxItems"] == aigw.MAX_ROUTE_MATCHES
    assert node(route, "spec", "rules", "[]", "matches", "[]", "headers", "[]", "value")["maxLength"] == \
        aigw.MAX_ROUTE_HEADER_VALUE
    rules = node(btp, "spec", "rateLimit", "global", "rules")
    assert rules["maxItems"] == aigw.MAX_RATE_LIMIT_RULES
    assert node(btp, "spec", "rateLimit", "global", "rules", "[]", "clientSelectors", "[]", "headers", "[]",
                "value")["maxLength"] == aigw.MAX_RATE_LIMIT_HEADER_VALUE
    assert node(sp, "spec", "authorization", "rules", "[]", "cel")["maxLength"] == aigw.MAX_AUTHORIZATION_CEL


def test_30_tiers_and_50_tenants_count_each_budget_once(crd_schemas):
    """The rendered 15 route policies and the listener's token-budget policy, through a model of Envoy Gateway's
    descriptor keying (tests/eg_ratelimit.py): each tenant's token budget is one counter across the 15 routes and
    30 tiers, each (tenant, tier) request limit one counter across the tier's names. On main each tenant had 60
    token counters (one per model name) and 2 per request limit."""
    from test_rate_limit_counting import assert_each_budget_is_one_counter

    r = _render(30, 50)
    objects = [o for o in r.kubernetes_objects() if o["metadata"].get("namespace") == "llm-gateway"]
    assert_each_budget_is_one_counter(objects, parse(scale_values(30, 50)))
    policies = _of(r, "BackendTrafficPolicy")
    tokens = policies.pop(aigw_rate_limits.TOKEN_POLICY_NAME)
    policies = {name: p for name, p in policies.items() if name in _of(r, "AIGatewayRoute")}
    assert len(policies) == 15
    assert tokens["spec"]["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                             "name": "llm-gateway", "sectionName": "https"}]
    assert len(tokens["spec"]["rateLimit"]["global"]["rules"]) == 50
    assert {p["spec"]["mergeType"] for p in policies.values()} == {"StrategicMerge"}
    assert {len(p["spec"]["rateLimit"]["global"]["rules"]) for p in policies.values()} == {200}
