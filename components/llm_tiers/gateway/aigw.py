"""The single OpenAI front door (pure): Envoy AI Gateway v1.1.0 on Envoy Gateway v1.9.0.

One ``AIGatewayRoute`` on the Gateway's HTTPS listener, one rule per tier matching the request's ``model``
(the header ``x-ai-eg-model``, which AI Gateway's external processor fills from the JSON body before routing)
against the tier's name and aliases; each tier is an ``AIServiceBackend`` over an Envoy Gateway ``Backend``
with the tier Service's FQDN (an AIServiceBackend cannot reference a Service: its ``backendRef`` CEL rule
admits only ``gateway.envoyproxy.io/Backend``, envoyproxy/ai-gateway api/v1beta1/ai_service_backend.go at
v1.1.0, upstream issue #902). The controller generates an ``HTTPRoute`` of the same name (one rule per
AIGatewayRoute rule, in order, then a catch-all ``route-not-found`` rule answering 404;
internal/controller/ai_gateway_route.go at v1.1.0); the SecurityPolicy and BackendTrafficPolicy here target it.

Filter order in Envoy (envoyproxy/gateway internal/xds/translator/httpfilters.go at v1.9.0; AI Gateway's
``insertAIGatewayExtProcFilter`` in internal/extensionserver/post_translate_modify.go at v1.1.0):
custom_response (responseOverride), api_key_auth (the tenant), ext_authz (the request guard, OPA: after the
API-key check by the EnvoyProxy's ``filterOrder``, ``gm.filter_order``), buffer (``requestBuffer``: the whole
body, so a chunked body gets its Content-Length), then AI Gateway's ext_proc — inserted after the last buffer filter
(without one it would land before custom_response's successor, i.e. before the API-key check, which is why
the route always sets ``requestBuffer``) — then rbac (grants, per-tenant body limits: it sees
``x-ai-eg-model``), then ratelimit (per tenant and tier; tokens per tenant: one shared counter each, see
TOKEN_POLICY_NAME).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from llm_tiers.config.schema import GatewayConfig, TenantConfig, TierConfig
from llm_tiers.gateway import guard
from llm_tiers.gateway import manifests as gm
from llm_tiers.gateway import tenant_policies
from llm_tiers.gateway.aigw_controller import (AIGW_API, INPUT_TOKENS_KEY, MODEL_HEADER, OUTPUT_TOKENS_KEY,
                                            TOTAL_TOKENS_KEY)
from llm_tiers.gateway.aigw_rate_limits import (MERGE_TYPE, TOKEN_POLICY_NAME, rate_limit_rules, request_rules,
                                              response_overrides, token_rules)
# TEMPORARY (issue #27): gateway/component.py still calls these as aigw.*; they live in aigw_controller. Drop this
# line when component.py imports aigw_controller (its owner is rewriting it in parallel).
from llm_tiers.gateway.aigw_controller import (controller_values, envoy_gateway_values,  # noqa: F401
                                            extproc_pod_monitor, gateway_config)

ROUTE_NAME = "llm-router"


model_names = guard.model_names


def rule_index(tiers: Sequence[TierConfig], tier: str) -> int:
    return [t.name for t in tiers].index(tier)


def tier_cluster(tiers: Sequence[TierConfig], tier: str, namespace: str,
                 tenants: Sequence[TenantConfig] = (), gw: Optional[GatewayConfig] = None,
                 groups: Optional[Sequence["RouteGroup"]] = None) -> str:
    """The Envoy cluster that carries a tier's traffic on its route: Envoy Gateway names a route rule's
    cluster ``httproute/<ns>/<route>/rule/<index>`` (irRouteDestinationName, internal/gatewayapi/helpers.go
    at v1.9.0) and the generated HTTPRoute keeps the AIGatewayRoute's rule order. An FQDN Backend's cluster
    exists whether or not the tier has pods, so its counters exist at zero replicas. ``tenants`` and ``gw``
    decide the route groups (``route_groups``); without them, one route holds the tiers."""
    if groups is None:
        groups = route_groups(tiers, tenants, gw) if gw is not None else [RouteGroup(ROUTE_NAME, tuple(tiers))]
    group = group_of(groups, tier)
    return f"httproute/{namespace}/{group.name}/rule/{rule_index(group.tiers, tier)}"


def tier_clusters(tiers: Sequence[TierConfig], gw: GatewayConfig, namespace: str,
                  tenants: Sequence[TenantConfig] = ()) -> dict[str, list[str]]:
    """Tier name -> every Envoy cluster carrying its traffic: its route's rule, and the per-tier
    route's (``httproute/<ns>/<tier>/rule/0``) while ``perTierUrls`` serves it."""
    groups = route_groups(tiers, tenants, gw)
    return {t.name: [tier_cluster(tiers, t.name, namespace, groups=groups),
                     *([f"httproute/{namespace}/{t.name}/rule/0"] if gw.per_tier_urls else [])] for t in tiers}


def backend(tier: TierConfig, namespace: str, tiers_namespace: str) -> dict[str, Any]:
    """The tier Service by DNS name (port 80 for every engine: the Service targets the container port
    ``http``). Envoy resolves it to the ClusterIP; kube-proxy balances per connection."""
    return {
        "apiVersion": gm.EG_API, "kind": "Backend", "metadata": gm._meta(tier.name, namespace),
        "spec": {"endpoints": [{"fqdn": {"hostname": f"{tier.name}.{tiers_namespace}.svc.cluster.local",
                                         "port": 80}}]},
    }


def ai_service_backend(tier: TierConfig, namespace: str) -> dict[str, Any]:
    """OpenAI schema, no ``prefix``: AI Gateway then sends ``/v1/chat/completions`` (the prefix defaults to
    ``v1``: internal/controller/gateway.go at v1.1.0), which TGI and vLLM serve."""
    return {
        "apiVersion": AIGW_API, "kind": "AIServiceBackend", "metadata": gm._meta(tier.name, namespace),
        "spec": {"schema": {"name": "OpenAI"},
                 "backendRef": {"group": "gateway.envoyproxy.io", "kind": "Backend", "name": tier.name}},
    }


def ai_gateway_route(tiers: Sequence[TierConfig], gw: GatewayConfig, namespace: str,
                     name: str = ROUTE_NAME) -> dict[str, Any]:
    """One rule per tier (header match on each model name, exact: the only kind ``/v1/models`` lists,
    internal/controller/gateway.go at v1.1.0), explicit timeouts (AI Gateway's default request timeout is
    60 s), and the token counts AI Gateway writes into Envoy metadata for the token budgets."""
    rules = [{
        "name": t.name,
        "matches": [{"headers": [{"type": "Exact", "name": MODEL_HEADER, "value": m}]} for m in model_names(t)],
        "backendRefs": [{"name": t.name}],
        "timeouts": gm.route_timeouts(gw),
    } for t in tiers]
    return {
        "apiVersion": AIGW_API, "kind": "AIGatewayRoute", "metadata": gm._meta(name, namespace),
        "spec": {
            "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gm.GATEWAY_NAME,
                            "sectionName": "https"}],
            "hostnames": [gw.hostname],
            "rules": rules,
            "llmRequestCosts": [{"metadataKey": INPUT_TOKENS_KEY, "type": "InputToken"},
                                {"metadataKey": OUTPUT_TOKENS_KEY, "type": "OutputToken"},
                                {"metadataKey": TOTAL_TOKENS_KEY, "type": "TotalToken"}],
        },
    }


def _generated_route_ref(name: str = ROUTE_NAME) -> list[dict[str, str]]:
    return [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": name}]


def _models_cel(names: Sequence[str]) -> str:
    return f"request.headers['{MODEL_HEADER}'] in {sorted(names)!r}"


def known_models(tiers: Sequence[TierConfig]) -> list[str]:
    return sorted(m for t in tiers for m in model_names(t))


def granted_models(tenant: TenantConfig, tiers: Sequence[TierConfig]) -> list[str]:
    return sorted(m for t in tiers if t.name in tenant.tiers for m in model_names(t))


def route_body_limit(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig], gw: GatewayConfig) -> int:
    """The single route's request buffer: the largest body any tenant may send to any tier."""
    return max((tenant_policies.route_body_limit(t, tenants, gw) for t in tiers),
               default=gw.default_limits.max_request_body_bytes)


def security_policy(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig], gw: GatewayConfig, namespace: str,
                    keys_secret: str, name: str = ROUTE_NAME) -> dict[str, Any]:
    """API-key auth on ``Authorization: Bearer <key>`` (the tenant forwarded in ``x-tenant-id``, the key
    stripped), then (tenant, model) rules, first match wins:

    1. a request naming no configured model (``GET /v1/models``, an unknown model) is allowed: the route's
       not-found rule answers unknown models with 404, ``/v1/models`` lists the models;
    2. a tenant's body over its own limit for a model whose tier allows more to someone else: denied (403;
       the body is already buffered, so its Content-Length is known, chunked or not);
    3. a tenant's granted models: allowed;
    default: denied (403, a known model not granted).

    ``tiers`` are the tiers of one route (``route_groups``): a request reaches this route's policy only for
    its own models or, on its not-found rule, for a model no route serves."""
    rules: list[dict[str, Any]] = [{"name": "unrouted", "action": "Allow",
                                    "cel": f"!('{MODEL_HEADER}' in request.headers) || "
                                           f"!({_models_cel(known_models(tiers))})"}]
    for t in tiers:
        cap = tenant_policies.route_body_limit(t, tenants, gw)
        for tenant in gm.tenants_of(t, tenants):
            limit = gm.limits_of(tenant, gw).max_request_body_bytes
            if limit < cap:
                rules.append({"name": f"body-limit-{tenant.name}-{t.name}", "action": "Deny",
                              "cel": f"{tenant_policies.body_limit_cel(tenant, limit)} && "
                                     f"{_models_cel(model_names(t))}"})
    for tenant in sorted(tenants, key=lambda x: x.name):
        models = granted_models(tenant, tiers)
        if models:
            rules.append({"name": f"grant-{tenant.name}", "action": "Allow",
                          "cel": f"request.headers['{gm.TENANT_HEADER}'] in {tenant_policies.client_ids(tenant)!r} && "
                                 f"{_models_cel(models)}"})
    return {
        "apiVersion": gm.EG_API, "kind": "SecurityPolicy", "metadata": gm._meta(name, namespace),
        "spec": {
            "targetRefs": _generated_route_ref(name),
            "apiKeyAuth": tenant_policies.api_key_auth(keys_secret),
            # The request guard (llm_tiers.gateway.guard, OPA): after the API-key check (gm.filter_order).
            "extAuth": guard.ext_auth(route_body_limit(tiers, tenants, gw), features=bool(gw.features)),
            "authorization": {"defaultAction": "Deny", "rules": rules},
        },
    }


def backend_traffic_policy(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig], gw: GatewayConfig,
                           namespace: str, name: str = ROUTE_NAME, merged_to: Optional[int] = None) -> dict[str, Any]:
    """The route's policy; ``merged_to`` as in ``rate_limit_rules`` (set: it merges with ``token_budget_policy``)."""
    spec: dict[str, Any] = {
        "targetRefs": _generated_route_ref(name),
        # Always set: the buffer filter keeps AI Gateway's ext_proc after the API-key check (module doc).
        "requestBuffer": {"limit": route_body_limit(tiers, tenants, gw)},
        "timeout": {"http": gm.http_timeouts(gw)},
        "responseOverride": response_overrides(),
    }
    if merged_to is not None:
        spec["mergeType"] = MERGE_TYPE
    rules = rate_limit_rules(tiers, tenants, gw, merged_to)
    if rules:
        spec["rateLimit"] = {"type": "Global", "global": {"rules": rules}}
    return {"apiVersion": gm.EG_API, "kind": "BackendTrafficPolicy", "metadata": gm._meta(name, namespace),
            "spec": spec}


def token_budget_policy(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig], gw: GatewayConfig,
                        namespace: str) -> Optional[dict[str, Any]]:
    """The tenants' token budgets, one shared rule each, on the Gateway's https listener, when they cannot stay in
    the single route's policy (``tokens_apart``); every route policy merges with it. Routes on the http listener
    (the redirect) are not under it; the deprecated per-tier routes' policies do not merge (no token budgets there,
    as before)."""
    if not tokens_apart(tiers, tenants, gw):
        return None
    return {"apiVersion": gm.EG_API, "kind": "BackendTrafficPolicy", "metadata": gm._meta(TOKEN_POLICY_NAME, namespace),
            "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gm.GATEWAY_NAME,
                                     "sectionName": "https"}],
                     "rateLimit": {"type": "Global", "global": {"rules": token_rules(tiers, tenants, gw)}}}}


def traffic_policies(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig], gw: GatewayConfig, namespace: str,
                     groups: Optional[Sequence["RouteGroup"]] = None) -> list[dict[str, Any]]:
    """One BackendTrafficPolicy per route group (in ``groups`` order), padded alike when they merge with
    ``token_budget_policy``."""
    groups = route_groups(tiers, tenants, gw) if groups is None else groups
    merged_to = None
    if tokens_apart(tiers, tenants, gw):
        merged_to = max(len(request_rules(g.tiers, tenants, gw)) for g in groups)
    return [backend_traffic_policy(g.tiers, tenants, gw, namespace, g.name, merged_to) for g in groups]


# --------------------------------------------------------------------------------------------------
# Route groups: the tiers split over as many AIGatewayRoutes (each with its own SecurityPolicy and
# BackendTrafficPolicy on the HTTPRoute AI Gateway generates) as the per-object limits of the pinned CRDs
# require. One group, named ROUTE_NAME, whenever everything fits: today's objects, unchanged.
#
# Why per route and not per policy: Envoy Gateway applies one BackendTrafficPolicy / SecurityPolicy per
# route (the oldest wins a conflict; a route-level policy's lists replace, never extend, a parent's under
# mergeType, except the rate-limit rules: internal/gatewayapi/backendtrafficpolicy.go and internal/utils/merge.go
# at v1.9.0), so a policy cannot be split over several objects on one route. Every budget stays one counter
# across routes: the request limits of a tier live in its one route's policy (shared rules), the token budgets
# in the listener's ``token_budget_policy`` once there is more than one route (comment above TOKEN_POLICY_NAME).
# /v1/models still lists every model: AI Gateway builds the extProc's model list
# from every AIGatewayRoute of the Gateway (internal/controller/gateway.go at v1.1.0). A request naming a
# model no route serves reaches the oldest route's not-found rule (Gateway API precedence among equal
# matches), whose policy allows it (``unrouted``) and AI Gateway answers 404.
# --------------------------------------------------------------------------------------------------

# AIGatewayRoute spec.rules: maxItems 15 ("one slot is reserved for a controller-injected catch-all rule",
# HTTPRoute's 16; api/v1beta1/ai_gateway_route.go at v1.1.0); rules[].matches: maxItems 128; a header
# match value: maxLength 4096.
MAX_ROUTE_RULES = 15
MAX_ROUTE_MATCHES = 128
MAX_ROUTE_HEADER_VALUE = 4096
# BackendTrafficPolicy spec.rateLimit.global.rules: maxItems 256; a client selector's header value:
# maxLength 1024 (api/v1alpha1/ratelimit_types.go at v1.9.0).
MAX_RATE_LIMIT_RULES = 256
MAX_RATE_LIMIT_HEADER_VALUE = 1024
# SecurityPolicy spec.authorization.rules[].cel: maxLength 4096 (api/v1alpha1/authorization_types.go at v1.9.0).
MAX_AUTHORIZATION_CEL = 4096


@dataclass(frozen=True)
class RouteGroup:
    name: str
    """The AIGatewayRoute's name (also its HTTPRoute's, SecurityPolicy's and BackendTrafficPolicy's)."""
    tiers: tuple[TierConfig, ...]


def group_name(index: int) -> str:
    return ROUTE_NAME if index == 0 else f"{ROUTE_NAME}-{index + 1}"


def group_objects(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig], gw: GatewayConfig, namespace: str,
                  keys_secret: str, name: str = ROUTE_NAME, merged_to: Optional[int] = None) -> list[dict[str, Any]]:
    """One group's AIGatewayRoute, SecurityPolicy and BackendTrafficPolicy (``merged_to``: ``rate_limit_rules``)."""
    return [ai_gateway_route(tiers, gw, namespace, name),
            security_policy(tiers, tenants, gw, namespace, keys_secret, name),
            backend_traffic_policy(tiers, tenants, gw, namespace, name, merged_to)]


def over_limits(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig], gw: GatewayConfig,
                tokens: bool = True) -> list[tuple[str, str]]:
    """What one route holding ``tiers`` would put over a per-object limit: ``(kind of excess, text)``, kind
    one of ``rules`` (too many tiers), ``rate-limits`` (too many rate-limit rules), ``aliases`` (one tier's
    model names too many or too long). ``tokens``: its policy holds the token budgets too."""
    route, sp, btp = group_objects(tiers, tenants, gw, "ns", "keys", merged_to=None if tokens else 0)
    out: list[tuple[str, str]] = []
    rules = route["spec"]["rules"]
    if len(rules) > MAX_ROUTE_RULES:
        out.append(("rules", f"AIGatewayRoute spec.rules: {len(rules)} items > maxItems {MAX_ROUTE_RULES}"))
    for rule in rules:
        if len(rule["matches"]) > MAX_ROUTE_MATCHES:
            out.append(("aliases", f"AIGatewayRoute spec.rules[{rule['name']}].matches: {len(rule['matches'])} items "
                                   f"> maxItems {MAX_ROUTE_MATCHES}"))
    limits = (btp["spec"].get("rateLimit") or {}).get("global", {}).get("rules", [])
    if len(limits) > MAX_RATE_LIMIT_RULES:
        out.append(("rate-limits", f"BackendTrafficPolicy spec.rateLimit.global.rules: {len(limits)} items > "
                                   f"maxItems {MAX_RATE_LIMIT_RULES}"))
    longest = max((len(h.get("value", "")) for r in limits for c in r["clientSelectors"] for h in c["headers"]),
                  default=0)
    if longest > MAX_RATE_LIMIT_HEADER_VALUE:
        out.append(("aliases", f"BackendTrafficPolicy clientSelectors header value: {longest} characters > "
                               f"maxLength {MAX_RATE_LIMIT_HEADER_VALUE}"))
    cel_longest = max((len(r.get("cel", "")) for r in sp["spec"]["authorization"]["rules"]), default=0)
    if cel_longest > MAX_AUTHORIZATION_CEL:
        out.append(("aliases", f"SecurityPolicy spec.authorization.rules[].cel: {cel_longest} characters > "
                               f"maxLength {MAX_AUTHORIZATION_CEL}"))
    return out


def tokens_apart(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig], gw: GatewayConfig) -> bool:
    """Whether the token budgets go to the listener's ``token_budget_policy``: some tenant has one and the stack
    does not fit one route whose policy holds them (a shared rule counts per policy: with several route policies,
    a budget kept in them would be one counter per route)."""
    return bool(token_rules(tiers, tenants, gw)) and bool(over_limits(tiers, tenants, gw))


def route_groups(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig], gw: GatewayConfig) -> list[RouteGroup]:
    """The tiers, in config order, packed greedily into routes that stay within every per-object limit (the token
    budgets counted in a route's policy only while everything fits one route, ``tokens_apart``). A tier that
    alone is over a limit still gets its own route; ``limit_issues`` refuses that config."""
    tokens = not tokens_apart(tiers, tenants, gw)
    groups: list[list[TierConfig]] = []
    for tier in tiers:
        if groups and not over_limits([*groups[-1], tier], tenants, gw, tokens):
            groups[-1].append(tier)
        else:
            groups.append([tier])
    return [RouteGroup(group_name(i), tuple(g)) for i, g in enumerate(groups or [[]])]


def group_of(groups: Sequence[RouteGroup], tier: str) -> RouteGroup:
    return next(g for g in groups if any(t.name == tier for t in g.tiers))


def limit_issues(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig],
                 gw: GatewayConfig) -> list[tuple[str, str]]:
    """The hard limits left after splitting, as ``(config key, message)``: a tier that alone is over a
    per-object limit (too many tenants with limits granted it, too many or too long model names); more tenants
    with token budgets than one policy holds."""
    issues: list[tuple[str, str]] = []
    apart = tokens_apart(tiers, tenants, gw)
    for i, tier in enumerate(tiers):
        for kind, text in over_limits([tier], tenants, gw, tokens=not apart):
            if kind == "rate-limits":
                granted = len(gm.tenants_of(tier, tenants))
                issues.append(("tenants", f"{granted} tenants are granted tier {tier.name!r}: {text} (Envoy Gateway "
                               f"v1.9: one policy per route, two request-limit rules per tenant and tier); grant the "
                               f"tier to fewer tenants"))
            else:
                issues.append((f"tiers[{i}].aliases", f"{text} (AI Gateway v1.1 / Envoy Gateway v1.9 limit per "
                               "object); give the tier fewer or shorter aliases"))
    budgets = len(token_rules(tiers, tenants, gw))
    if apart and budgets > MAX_RATE_LIMIT_RULES:
        issues.append(("tenants", f"{budgets} tenants have limits.tokensPerMinute: BackendTrafficPolicy "
                       f"{TOKEN_POLICY_NAME} spec.rateLimit.global.rules: {budgets} items > maxItems "
                       f"{MAX_RATE_LIMIT_RULES} (Envoy Gateway v1.9: a token budget counted once across routes is "
                       f"one shared rule of one policy); give at most {MAX_RATE_LIMIT_RULES} tenants a token budget"))
    return issues
