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
``x-ai-eg-model``), then ratelimit (per tenant and tier; tokens per tenant: one shared counter each, see TOKEN_POLICY_NAME).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from llm_tiers import naming
from llm_tiers.cluster import system_capacity as sc
from llm_tiers.config.schema import GatewayConfig, TenantConfig, TierConfig
from llm_tiers.gateway import guard
from llm_tiers.gateway import manifests as gm

AIGW_API = "aigateway.envoyproxy.io/v1beta1"
ROUTE_NAME = "llm-router"
MODEL_HEADER = "x-ai-eg-model"
# AI Gateway writes llmRequestCosts into this dynamic metadata namespace (api/v1beta1/shared_types.go, v1.1.0).
COST_NAMESPACE = "io.envoy.ai_gateway"
TOTAL_TOKENS_KEY = "llm_total_token"
INPUT_TOKENS_KEY = "llm_input_token"
OUTPUT_TOKENS_KEY = "llm_output_token"
GATEWAY_CONFIG = "llm-gateway-aigw"
# Gateway annotation naming its GatewayConfig (same namespace): internal/controller/ai_gateway_route.go, v1.1.0.
GATEWAY_CONFIG_ANNOTATION = "aigateway.envoyproxy.io/gateway-config"
# ai-gateway-helm values.yaml at v1.1.0: controller.fullnameOverride "ai-gateway-controller", Service port grpc
# 1063 (the Envoy Gateway extension server); extProc admin port aigw-admin 1064 serves /metrics
# (internal/controller/extproc_builder.go, cmd/extproc/mainlib/admin.go).
CONTROLLER_NAME = "ai-gateway-controller"
EXTENSION_PORT = 1063
EXTPROC_METRICS_PORT = "aigw-admin"
# controller.metricsRequestHeaderAttributes "header:attribute": the tenant header becomes the metric label
# tenant_id (tests/e2e/token_ratelimit_test.go at v1.1.0 asserts that label for x-tenant-id:tenant.id).
TENANT_METRIC_ATTRIBUTE = f"{gm.TENANT_HEADER}:tenant.id"
TENANT_METRIC_LABEL = "tenant_id"
# With gateway.features: the (guard-normalized) feature header as the metric label llm_feature. The flag takes
# "comma-separated key-value pairs for mapping HTTP request headers to otel metric attributes"
# (cmd/extproc/mainlib/main.go at v1.1.0); dots become underscores in Prometheus, as tenant.id -> tenant_id.
FEATURE_METRIC_ATTRIBUTE = f"{guard.FEATURE_HEADER}:llm.feature"
FEATURE_METRIC_LABEL = "llm_feature"


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
    return max((gm.route_body_limit(t, tenants, gw) for t in tiers), default=gw.default_limits.max_request_body_bytes)


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
                                    "cel": f"!('{MODEL_HEADER}' in request.headers) || !({_models_cel(known_models(tiers))})"}]
    for t in tiers:
        cap = gm.route_body_limit(t, tenants, gw)
        for tenant in gm.tenants_of(t, tenants):
            limit = gm.limits_of(tenant, gw).max_request_body_bytes
            if limit < cap:
                rules.append({"name": f"body-limit-{tenant.name}-{t.name}", "action": "Deny",
                              "cel": f"{gm.body_limit_cel(tenant, limit)} && {_models_cel(model_names(t))}"})
    for tenant in sorted(tenants, key=lambda x: x.name):
        models = granted_models(tenant, tiers)
        if models:
            rules.append({"name": f"grant-{tenant.name}", "action": "Allow",
                          "cel": f"request.headers['{gm.TENANT_HEADER}'] in {gm.client_ids(tenant)!r} && "
                                 f"{_models_cel(models)}"})
    return {
        "apiVersion": gm.EG_API, "kind": "SecurityPolicy", "metadata": gm._meta(name, namespace),
        "spec": {
            "targetRefs": _generated_route_ref(name),
            "apiKeyAuth": gm.api_key_auth(keys_secret),
            # The request guard (llm_tiers.gateway.guard, OPA): after the API-key check (gm.filter_order).
            "extAuth": guard.ext_auth(route_body_limit(tiers, tenants, gw), features=bool(gw.features)),
            "authorization": {"defaultAction": "Deny", "rules": rules},
        },
    }


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
        model = {"name": MODEL_HEADER, "type": "RegularExpression", "value": gm.any_of(model_names(t))}
        for tenant in gm.tenants_of(t, tenants):
            rules += gm.request_limit_rules(gm.tenant_selector(tenant, model), gm.limits_of(tenant, gw), shared=True)
    return rules


def token_rules(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig],
                gw: GatewayConfig) -> list[dict[str, Any]]:
    """Per tenant granted one of ``tiers``: tokens per minute, charged from the total tokens AI Gateway reports
    for the finished response (request cost 0: the check only refuses a tenant already over its budget)."""
    rules: list[dict[str, Any]] = []
    for tenant in sorted(tenants, key=lambda x: x.name):
        tpm = gm.limits_of(tenant, gw).tokens_per_minute
        if tpm and any(t.name in tenant.tiers for t in tiers):
            rules.append({"clientSelectors": gm.tenant_selector(tenant), "limit": {"requests": tpm, "unit": "Minute"},
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


def gateway_config(namespace: str) -> dict[str, Any]:
    """The extProc sidecar AI Gateway injects into every Envoy pod: its requests (counted by the system
    capacity check; the chart has no values for it: GatewayConfig spec.extProc.kubernetes.resources)."""
    return {"apiVersion": AIGW_API, "kind": "GatewayConfig", "metadata": gm._meta(GATEWAY_CONFIG, namespace),
            "spec": {"extProc": {"kubernetes": {"resources": sc.AIGW_EXTPROC.resources()}}}}


def envoy_gateway_values(aigw_namespace: str = naming.AI_GATEWAY_NAMESPACE) -> dict[str, Any]:
    """What AI Gateway needs from Envoy Gateway's config (manifests/envoy-gateway-values.yaml at v1.1.0):
    the Backend API and the extension-manager hooks pointing at AI Gateway's controller. Merged into the
    gateway-helm values (components.Gateway)."""
    return {"config": {"envoyGateway": {
        "extensionApis": {"enableBackend": True},
        "extensionManager": {
            "hooks": {"xdsTranslator": {
                "translation": {k: {"includeAll": True} for k in ("listener", "route", "cluster", "secret")},
                "post": ["Translation", "Cluster", "Route"]}},
            "service": {"fqdn": {"hostname": f"{CONTROLLER_NAME}.{aigw_namespace}.svc.cluster.local",
                                 "port": EXTENSION_PORT}},
        },
    }}}


def metrics_header_attributes(features: bool = False) -> str:
    """The tenant, and with ``gateway.features`` the feature, as metric attributes."""
    return ",".join([TENANT_METRIC_ATTRIBUTE, *([FEATURE_METRIC_ATTRIBUTE] if features else [])])


def controller_values(system: dict[str, str], features: bool = False) -> dict[str, Any]:
    """ai-gateway-helm values (keys from manifests/charts/ai-gateway-helm/values.yaml at v1.1.0): the
    controller on the system nodes with counted requests, the tenant (and feature) as metrics labels."""
    return {"controller": {"resources": sc.AIGW_CONTROLLER.resources(), "nodeSelector": dict(system),
                           "replicaCount": sc.AIGW_CONTROLLER_REPLICAS,
                           "metricsRequestHeaderAttributes": metrics_header_attributes(features)},
            "envoyGateway": {"namespace": naming.ENVOY_GATEWAY_NAMESPACE}}


def extproc_pod_monitor(namespace: str) -> dict[str, Any]:
    """Scrape the extProc sidecars' ``gen_ai_*`` metrics (port aigw-admin, /metrics)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
        "metadata": gm._meta(f"aigw-{namespace}", naming.ENVOY_GATEWAY_NAMESPACE),
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/component": "proxy",
                                         "app.kubernetes.io/managed-by": "envoy-gateway",
                                         "gateway.envoyproxy.io/owning-gateway-name": gm.GATEWAY_NAME,
                                         "gateway.envoyproxy.io/owning-gateway-namespace": namespace}},
            "podMetricsEndpoints": [{"port": EXTPROC_METRICS_PORT, "path": "/metrics", "interval": "15s"}],
        },
    }


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


def limit_issues(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig], gw: GatewayConfig) -> list[tuple[str, str]]:
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
