"""Each tenant budget is one counter in Envoy Gateway's rate-limit service, whatever model name the tenant calls
and whichever route group serves it.

What the config means (docs/components/gateway.md): ``limits.tokensPerMinute`` per tenant across all its tiers;
``requestsPerMinute`` and ``burstPerSecond`` per (tenant, tier) across the tier's name and aliases. What Envoy
Gateway counts is modelled from its source in ``eg_ratelimit.py``: a non-shared rule counts per Envoy route
(HTTPRoute rule *and match*, i.e. per model name), a shared rule per policy and rule index.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

import eg_ratelimit as eg
from conftest import stack_values
from llm_tiers.preview import preflight
from llm_tiers.config.schema import StackConfig
from llm_tiers.stack.parse import parse
from llm_tiers.gateway import aigw, aigw_controller
from llm_tiers.gateway import manifests as gm
from llm_tiers.gateway import tenant_policies


def counters(objects: list[dict[str, Any]], cfg: StackConfig) -> dict[tuple[str, ...], set[tuple[Any, int]]]:
    """For each budget the config defines — ``(tenant, "tokens")``, ``(tenant, tier, "Minute")``,
    ``(tenant, tier, "Second")`` — the (counter, limit) pairs that requests of the tenant (with any of its API
    keys) for every name of every tier granted to it are charged to."""
    routes = eg.envoy_routes(objects)
    out: dict[tuple[str, ...], set[tuple[Any, int]]] = defaultdict(set)
    for tenant in cfg.tenants:
        for cid in tenant_policies.client_ids(tenant):
            for route in (r for r in routes if r.tier in tenant.tiers):
                for counter, rule in eg.charged(objects, route,
                                                {gm.TENANT_HEADER: cid, aigw_controller.MODEL_HEADER: route.model}):
                    key = ((tenant.name, "tokens") if "cost" in rule else
                           (tenant.name, route.tier, rule["limit"]["unit"]))
                    out[key].add((counter, rule["limit"]["requests"]))
    return out


def assert_each_budget_is_one_counter(objects: list[dict[str, Any]], cfg: StackConfig) -> None:
    got = counters(objects, cfg)
    want: dict[tuple[str, ...], int] = {}
    for tenant in cfg.tenants:
        lim = gm.limits_of(tenant, cfg.gateway)
        for tier in (t for t in cfg.tiers if t.name in tenant.tiers):
            want[(tenant.name, tier.name, "Minute")] = lim.requests_per_minute
            want[(tenant.name, tier.name, "Second")] = lim.burst_per_second
        if lim.tokens_per_minute and tenant.tiers:
            want[(tenant.name, "tokens")] = lim.tokens_per_minute
    assert set(got) == set(want), f"budgets charged {sorted(set(got) ^ set(want))[:5]} differ from the config's"
    many = {k: len(v) for k, v in got.items() if len(v) != 1}
    assert not many, f"budgets counted on several counters (budget: counters): {dict(list(many.items())[:5])}"
    assert {k: next(iter(v))[1] for k, v in got.items()} == want
    owners: dict[Any, tuple[str, ...]] = {}
    for budget, ((counter, _),) in ((k, tuple(v)) for k, v in got.items()):
        assert owners.setdefault(counter, budget) == budget, f"{budget} and {owners[counter]} share a counter"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_each_budget_of_a_stack_is_one_counter(stack, rendered):
    cfg = parse(stack_values(stack))
    objects = [o for o in rendered(stack).kubernetes_objects() if o["metadata"].get("namespace") == "llm-gateway"]
    assert_each_budget_is_one_counter(objects, cfg)


def test_prod_tenant_calling_an_alias_is_counted_with_the_name(rendered):
    """The defect: prod's ``chat-small`` answers to an alias; each name was an Envoy route of its own, so a
    tenant had one request counter and one token counter per name it called."""
    cfg = parse(stack_values("prod"))
    assert any(t.aliases for t in cfg.tiers)
    objects = rendered("prod").kubernetes_objects()
    got = counters(objects, cfg)
    aliased = next(t for t in cfg.tiers if t.aliases)
    tenant = next(t for t in cfg.tenants if aliased.name in t.tiers)
    assert len(got[(tenant.name, aliased.name, "Minute")]) == 1


def _scale(n_tiers: int, n_tenants: int) -> tuple[list[dict[str, Any]], StackConfig]:
    from test_scale_and_api_server import scale_values

    values = scale_values(n_tiers, n_tenants)
    for i, tier in enumerate(values["tiers"]):
        tier["aliases"] = [f"model-{i:02d}", f"model-{i:02d}-latest"]
    values["tenants"][1]["rotate"] = 1  # two API keys (the previous one still valid), one bucket
    cfg = parse(values)
    return preflight.gateway_objects(cfg), cfg


@pytest.mark.parametrize("shape", [(30, 50), (14, 10), (16, 2)])
def test_each_budget_is_one_counter_across_route_groups(shape):
    objects, cfg = _scale(*shape)
    assert len(aigw.route_groups(cfg.tiers, cfg.tenants, cfg.gateway)) > 1
    assert_each_budget_is_one_counter(objects, cfg)
