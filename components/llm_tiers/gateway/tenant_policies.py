"""Per-tenant route policy pieces: who a tenant is (API-key client ids), its request limits and body-size limits,
and the per-tier route's SecurityPolicy and BackendTrafficPolicy built from them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from llm_tiers.config.schema import (PREVIOUS_KEY_SUFFIX, GatewayConfig, LimitsConfig, TenantConfig, TierConfig)
from llm_tiers.gateway.manifests import (EG_API, ERROR_BODIES, TENANT_HEADER, _meta, http_timeouts, limits_of,
                                         response_overrides, tenants_of)


def route_body_limit(tier: TierConfig, tenants: Sequence[TenantConfig], gw: GatewayConfig) -> int:
    """The tier route's request buffer: the largest body any granted tenant may send (over it: 413)."""
    return max((limits_of(t, gw).max_request_body_bytes for t in tenants_of(tier, tenants)),
               default=gw.default_limits.max_request_body_bytes)


def body_limit_cel(tenant: "str | TenantConfig", limit: int) -> str:
    """True for a request of ``tenant`` whose body is over ``limit`` or whose size is not declared.

    Envoy's buffer limit is per route, so a tenant whose limit is below the route's is held to it here, at
    authorization. The buffer filter runs before authorization (order 12 vs rbac 301,
    envoyproxy/gateway internal/xds/translator/httpfilters.go at v1.9.0): the whole body is read first, a
    body over the route's limit gets 413 whoever sends it (a tenant without the tier too), and a chunked
    body reaches this rule with the Content-Length the buffer filter set, so it is measured like any other.
    A request that still has no Content-Length is refused (fail closed)."""
    h = "request.headers"
    return (f"{h}['{TENANT_HEADER}'] in {client_ids(tenant)!r} && "
            f"(!('content-length' in {h}) || int({h}['content-length']) > {limit})")


def client_ids(tenant: "str | TenantConfig") -> list[str]:
    """The API-key client ids of a tenant: its name, and ``<name>-previous`` while the key it replaced in its
    last rotation is still accepted (SecretStore keeps both keys in the tenant-keys Secret)."""
    if isinstance(tenant, str):
        return [tenant]
    return [tenant.name, tenant.name + PREVIOUS_KEY_SUFFIX] if tenant.previous_key_valid else [tenant.name]


def api_key_auth(keys_secret: str) -> dict[str, Any]:
    """SecurityPolicy ``apiKeyAuth``: the key from ``Authorization`` checked against the tenant-keys Secret, the
    tenant forwarded in ``x-tenant-id`` (overwriting any client value), the key removed before the engine."""
    return {"credentialRefs": [{"group": "", "kind": "Secret", "name": keys_secret}],
            "extractFrom": [{"headers": ["authorization"]}],
            "forwardClientIDHeader": TENANT_HEADER,
            "sanitize": True}


def any_of(values: Sequence[str]) -> str:
    """A RegularExpression header value matching exactly one of ``values``."""
    return "^(" + "|".join(re.escape(v) for v in values) + ")$"


def tenant_selector(tenant: TenantConfig, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    """Rate-limit ``clientSelectors`` for a tenant (and ``extra`` header matches). Both keys of a rotating tenant
    share one bucket: a RegularExpression selector is one descriptor."""
    ids = client_ids(tenant)
    who = ({"name": TENANT_HEADER, "type": "Exact", "value": tenant.name} if len(ids) == 1 else
           {"name": TENANT_HEADER, "type": "RegularExpression", "value": any_of(ids)})
    return [{"headers": [who, *extra]}]


def request_limit_rules(who: list[dict[str, Any]], lim: LimitsConfig, shared: bool = False) -> list[dict[str, Any]]:
    """The per-minute and per-second request limits of ``who``, with the X-RateLimit headers (draft 03) whose
    reset the 429 override copies into Retry-After. ``shared``: one counter on every Envoy route the policy
    reaches (``aigw``, above ``TOKEN_POLICY_NAME``); without it, one per Envoy route — what a per-tier route of one
    rule and one match needs."""
    extra = {"shared": True} if shared else {}
    return [{"clientSelectors": who, "limit": {"requests": lim.requests_per_minute, "unit": "Minute"}, **extra,
             "xRateLimitHeaders": "DraftVersion03"},
            {"clientSelectors": who, "limit": {"requests": lim.burst_per_second, "unit": "Second"}, **extra,
             "xRateLimitHeaders": "DraftVersion03"}]


def security_policy(tier: TierConfig, tenants: Sequence[TenantConfig], gw: GatewayConfig, namespace: str,
                    keys_secret: str) -> dict[str, Any]:
    granted = tenants_of(tier, tenants)
    cap = route_body_limit(tier, tenants, gw)
    # Evaluated in order, first match wins: per-tenant body limits below the route's, then the grants.
    rules: list[dict[str, Any]] = [
        {"name": f"body-limit-{t.name}", "action": "Deny", "cel": body_limit_cel(t, limit)}
        for t in granted if (limit := limits_of(t, gw).max_request_body_bytes) < cap]
    if granted:
        rules.append({"name": "granted-tenants", "action": "Allow",
                      "principal": {"headers": [{"name": TENANT_HEADER,
                                                 "values": [c for t in granted for c in client_ids(t)]}]}})
    return {
        "apiVersion": EG_API, "kind": "SecurityPolicy", "metadata": _meta(tier.name, namespace),
        "spec": {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": tier.name}],
            "apiKeyAuth": api_key_auth(keys_secret),
            "authorization": {"defaultAction": "Deny", "rules": rules},
        },
    }


def backend_traffic_policy(tier: TierConfig, tenants: Sequence[TenantConfig], gw: GatewayConfig,
                           namespace: str) -> dict[str, Any]:
    rules = [r for t in tenants_of(tier, tenants) for r in request_limit_rules(tenant_selector(t), limits_of(t, gw))]
    # Envoy buffers per route: the largest body any granted tenant may send (smaller per-tenant limits are
    # held at authorization, see security_policy).
    spec: dict[str, Any] = {
        "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": tier.name}],
        "requestBuffer": {"limit": route_body_limit(tier, tenants, gw)},
        "timeout": {"http": http_timeouts(gw)},
        "responseOverride": response_overrides(ERROR_BODIES),
    }
    if rules:
        spec["rateLimit"] = {"type": "Global", "global": {"rules": rules}}
    return {"apiVersion": EG_API, "kind": "BackendTrafficPolicy", "metadata": _meta(tier.name, namespace), "spec": spec}
