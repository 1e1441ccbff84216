"""The AI Gateway route policies' rate-limit rules: request limits and token budgets per tenant and tier, as Envoy
Gateway counts them, and the error bodies of AI Gateway's own answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Optional

from llm_tiers.config.schema import GatewayConfig, TenantConfig, TierConfig
from llm_tiers.gateway import guard
from llm_tiers.gateway import manifests as gm
from llm_tiers.gateway import tenant_policies
from llm_tiers.gateway.aigw_controller import COST_NAMESPACE, MODEL_HEADER, TOTAL_TOKENS_KEY
from llm_tiers.gateway.guard import model_names


# How Envoy Gateway v1.9.0 counts a global rate-limit rule (envoyproxy/gateway internal/xds/translator/ratelimit.go,
# buildRouteRateLimits / BuildRateLimitServiceConfig / getDomainRuleIndex; internal/gatewayapi/backendtrafficpolicy.go
# buildGlobalRateLimit): every rule is named ``<policy-ns>/<policy-name>/rule/<index>``. A rule without ``shared``
# sends the descriptor (Envoy route name, then ``rule-<k>-match-<m>`` per selector) to the listener's domain, and
# an Envoy route is one HTTPRoute rule *and match* (getRouteDescriptor; irRouteName, internal/gatewayapi/helpers.go):
# AI Gateway v1.1.0 turns each AIGatewayRoute rule into one HTTPRoute rule with one match per model name
# (newHTTPRoute, envoyproxy/ai-gateway internal/controller/ai_gateway_route.go), so such a rule counts per model name
# a tenant calls. A ``shared: true`` rule ("a common bucket ... shared across all policy targets",
# api/v1alpha1/ratelimit_types.go) sends (rule name, then ``rule-<k>-match-<m>``) to the domain
# ``<policy-ns>/<policy-name>`` instead: one counter per policy and rule, on every Envoy route of every route the
# policy reaches. ``k`` counts the shared rules before it in the route's list, whichever policy they came from.
# So: every rule here is shared. The request limits of a (tenant, tier) live in the one policy of the route holding
# the tier, hence one counter across the tier's names. The token budget of a tenant spans route groups; shared
# descriptors are per policy, so when there are several routes (or the token rules do not fit the single route's
# policy) the token rules move to ONE policy on the Gateway's https listener (``token_budget_policy``) that every
# route policy merges with (``mergeType: StrategicMerge``: the IR rules merge on their names, the route's first,
# then the listener's; translateBackendTrafficPolicyForRouteWithMerge, internal/gatewayapi/backendtrafficpolicy.go
# and patchMergeKey "name" on ir.GlobalRateLimit.Rules, internal/ir/xds.go, at v1.9.0; Envoy Gateway's test data
# backendtrafficpolicy-strategic-merge-global-ratelimit.out.yaml shows the merged list). Because ``k`` of a
# listener rule is the number of the route's shared rules before it, every route policy then holds the same number
# of rules (``padding``), or the same budget would be a different counter on each route.
TOKEN_POLICY_NAME = "llm-token-budgets"
MERGE_TYPE = "StrategicMerge"
# A client-id value no tenant can have (tenant names are DNS labels: they cannot start with '-'; the API-key filter
# overwrites x-tenant-id with the tenant's client id), so a padding rule never matches and never counts.
PADDING_CLIENT = "-padding"


def request_rules(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig],
                  gw: GatewayConfig) -> list[dict[str, Any]]:
    """Per (tenant, tier): requests per minute and per second, over the tier's name and aliases (one shared
    counter each)."""
    rules: list[dict[str, Any]] = []
    for t in tiers:
        model = {"name": MODEL_HEADER, "type": "RegularExpression", "value": tenant_policies.any_of(model_names(t))}
        for tenant in gm.tenants_of(t, tenants):
            rules += tenant_policies.request_limit_rules(tenant_policies.tenant_selector(tenant, model),
                                                         gm.limits_of(tenant, gw), shared=True)
    return rules


def token_rules(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig],
                gw: GatewayConfig) -> list[dict[str, Any]]:
    """Per tenant granted one of ``tiers``: tokens per minute, charged from the total tokens AI Gateway reports
    for the finished response (request cost 0: the check only refuses a tenant already over its budget)."""
    rules: list[dict[str, Any]] = []
    for tenant in sorted(tenants, key=lambda x: x.name):
        tpm = gm.limits_of(tenant, gw).tokens_per_minute
        if tpm and any(t.name in tenant.tiers for t in tiers):
            rules.append({"clientSelectors": tenant_policies.tenant_selector(tenant),
                          "limit": {"requests": tpm, "unit": "Minute"},
                          "cost": {"request": {"from": "Number", "number": 0},
                                   "response": {"from": "Metadata",
                                                "metadata": {"namespace": COST_NAMESPACE, "key": TOTAL_TOKENS_KEY}}},
                          "shared": True, "xRateLimitHeaders": "DraftVersion03"})
    return rules


def padding(count: int) -> list[dict[str, Any]]:
    """``count`` shared rules that never match (module comment above ``TOKEN_POLICY_NAME``), each its own client
    value so a diff tells them apart."""
    return [{"clientSelectors": [{"headers": [{"name": gm.TENANT_HEADER, "type": "Exact",
                                               "value": f"{PADDING_CLIENT}-{i}"}]}],
             "limit": {"requests": 1, "unit": "Hour"}, "shared": True} for i in range(count)]


def rate_limit_rules(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig],
                     gw: GatewayConfig, merged_to: Optional[int] = None) -> list[dict[str, Any]]:
    """A route's rules. ``merged_to`` None: the route holds everything (request limits, then token budgets); else
    the token budgets are on the listener (``token_budget_policy``) and the request limits are padded to
    ``merged_to`` rules. Every rule sends the X-RateLimit headers (draft 03), whose reset the 429 override copies
    into Retry-After."""
    if merged_to is None:
        return [*request_rules(tiers, tenants, gw), *token_rules(tiers, tenants, gw)]
    rules = request_rules(tiers, tenants, gw)
    return [*rules, *padding(merged_to - len(rules))]


MODEL_NOT_FOUND = json.dumps({"error": {
    "message": "The model does not exist or is not served here. GET /v1/models lists the model names.",
    "type": "invalid_request_error", "param": "model", "code": "model_not_found"}}, separators=(",", ":"))
MODEL_NOT_GRANTED = json.dumps({"error": {
    "message": "This API key may not use this model (not granted to the tenant), or the request body is larger "
               "than the tenant's limit for it.",
    "type": "invalid_request_error", "param": "model", "code": "model_not_granted"}}, separators=(",", ":"))


def error_bodies() -> dict[int, str]:
    """Gateway-local replies on the single route, as OpenAI error JSON."""
    return {**gm.ERROR_BODIES, 403: MODEL_NOT_GRANTED, 404: MODEL_NOT_FOUND,
            429: gm.openai_error("Rate limit or token budget reached for this tenant and model. Retry after the "
                                 "seconds in Retry-After.", "requests", "rate_limit_exceeded")}


def response_overrides() -> list[dict[str, Any]]:
    """The single route's error answers, each telling what happened: the gateway's own (Local 401/403/404/413,
    429 the tenant's rate limit or token budget, 503 a tier starting) and the request guard's authorizer
    unavailable (its error status rewritten to 503, ``guard.error_overrides``). The engine's own 429/503 pass
    as the engine sent them (not local replies)."""
    return [*gm.response_overrides(error_bodies()), *guard.error_overrides()]
