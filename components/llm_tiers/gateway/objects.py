"""The gateway objects the config sizes, built once for both places that need them (pure).

The :class:`~llm_tiers.gateway.component.Gateway` registers them (with their dependencies) and
``llm_tiers.preview.preflight`` validates them as the API server would before anything is registered; both call
:func:`route_objects`, so what preflight checks is what the component registers (there is no second copy of the
assembly to drift).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from llm_tiers.config.schema import GatewayConfig, TenantConfig, TierConfig
from llm_tiers.gateway import aigw, fallback
from llm_tiers.gateway import manifests as gm

Manifest = dict[str, Any]


@dataclass(frozen=True)
class TierBackends:
    tier: TierConfig
    backend: Manifest
    """Backend: the tier's Service as an FQDN endpoint."""
    ai_service_backend: Manifest


@dataclass(frozen=True)
class RouteGroupObjects:
    group: aigw.RouteGroup
    route: Manifest
    """The group's AIGatewayRoute, with its tiers' fallback backendRefs (gateway/fallback.py)."""
    security: Manifest
    """Its SecurityPolicy (API keys, grants, the request guard)."""
    traffic: Manifest
    """Its BackendTrafficPolicy (limits), with the fallback tiers' retry."""


@dataclass(frozen=True)
class PerTierRoute:
    tier: TierConfig
    route: Manifest
    security: Manifest
    traffic: Manifest


@dataclass(frozen=True)
class RouteObjects:
    """What :func:`route_objects` builds, in the Gateway's order."""

    backends: list[TierBackends]
    fallbacks: list[tuple[TierConfig, list[Manifest]]]
    """Each fallback tier's provider objects (Backend, AIServiceBackend, BackendSecurityPolicy), in creation order."""
    groups: list[RouteGroupObjects]
    token_policy: Optional[Manifest]
    """The listener's token-budget policy when the budgets cannot stay in the single route's (else None)."""
    per_tier: list[PerTierRoute]
    """The deprecated per-tier route objects, while ``gateway.perTierUrls``."""

    def manifests(self) -> list[Manifest]:
        """Every object, flat: backends, fallbacks, token policy, then per group route, security, traffic, then the
        per-tier objects."""
        out: list[Manifest] = []
        for b in self.backends:
            out += [b.backend, b.ai_service_backend]
        for _, objs in self.fallbacks:
            out += objs
        out += [self.token_policy] if self.token_policy else []
        for g in self.groups:
            out += [g.route, g.security, g.traffic]
        for p in self.per_tier:
            out += [p.route, p.security, p.traffic]
        return out


def route_objects(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig], gw: GatewayConfig, namespace: str,
                  tiers_namespace: str, tenant_keys_secret: str) -> RouteObjects:
    """Per tier a Backend and an AIServiceBackend, each fallback tier's provider objects, per route group (as many
    as the per-object limits need, ``aigw.route_groups``) an AIGatewayRoute, SecurityPolicy and
    BackendTrafficPolicy, the listener's token-budget policy when needed, and the per-tier route objects while
    ``gateway.perTierUrls``."""
    groups = aigw.route_groups(tiers, tenants, gw)
    traffic = aigw.traffic_policies(tiers, tenants, gw, namespace, groups)
    return RouteObjects(
        backends=[TierBackends(t, aigw.backend(t, namespace, tiers_namespace), aigw.ai_service_backend(t, namespace))
                  for t in tiers],
        fallbacks=[(t, fallback.objects(t, namespace)) for t in fallback.fallback_tiers(tiers)],
        groups=[RouteGroupObjects(
            g, fallback.with_fallbacks(aigw.ai_gateway_route(g.tiers, gw, namespace, g.name), g.tiers),
            aigw.security_policy(g.tiers, tenants, gw, namespace, tenant_keys_secret, g.name),
            fallback.with_retry(t, g.tiers)) for g, t in zip(groups, traffic)],
        token_policy=aigw.token_budget_policy(tiers, tenants, gw, namespace),
        per_tier=[PerTierRoute(t, gm.tier_route(t, gw, namespace, tiers_namespace),
                               gm.security_policy(t, tenants, gw, namespace, tenant_keys_secret),
                               gm.backend_traffic_policy(t, tenants, gw, namespace))
                  for t in (tiers if gw.per_tier_urls else ())])
