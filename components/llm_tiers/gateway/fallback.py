"""Fallback backends (pure): a managed OpenAI-compatible endpoint that serves a tier's requests while the tier
has no ready replica (scaled to zero, waking, or down), through Envoy AI Gateway v1.1.0's backend priorities.

How a request reaches the fallback (upstream sources, all at the pinned versions):

* The tier's AIGatewayRoute rule lists two backendRefs: the tier (``priority: 0``) and ``<tier>-fallback``
  (``priority: 1``, ``modelNameOverride``: the provider's model name). The controller copies both into the
  generated HTTPRoute rule (envoyproxy/ai-gateway internal/controller/ai_gateway_route.go, ``newHTTPRoute``);
  Envoy Gateway keeps a rule's backends in one cluster ``httproute/<ns>/<route>/rule/<i>`` unless
  ``mergeBackends`` is on (off here; envoyproxy/gateway internal/gatewayapi/route.go at v1.9.0,
  ``isMergeBackendsEnabledForGateway``), one locality per backendRef, and AI Gateway's extension server sets
  each locality's Envoy priority from ``priority`` (internal/extensionserver/post_translate_modify.go,
  ``maybeModifyCluster``). The tier's wake-up trigger counts that same cluster, so a request the fallback
  answers still wakes the tier.
* Envoy sends every request to priority 0 while its host counts as healthy, and an FQDN host with no health
  check always does: the failover is the retry. The route's BackendTrafficPolicy retries, once and on the next
  priority, a refused connection (a Service with no ready endpoint: kube-proxy's iptables mode, EKS's
  default, rejects it with the ``has no endpoints`` REJECT rule of kubernetes pkg/proxy/iptables/proxier.go;
  not observed on a cluster here), a reset before the request was sent, a refused stream, or a 503.
  ``numAttemptsPerPriority: 1`` is Envoy's previous_priorities retry plugin (internal/xds/translator/route.go
  at v1.9.0), as AI Gateway's provider fallback example does (envoyproxy/ai-gateway/examples/provider_fallback/
  fallback.yaml, site/docs/capabilities/traffic/provider-fallback.md at v1.1.0). No per-try timeout: the
  route's own timeout bounds the whole request. The body is buffered (``requestBuffer``), so the retry re-sends
  it; AI Gateway's upstream filter re-translates it for the new backend (``onRetry`` forces the body mutation:
  internal/extproc/processor_impl.go).
* TLS: the fallback's Backend carries ``tls`` (system CAs, SNI = the host); Envoy Gateway gives that endpoint
  its own transport socket match inside the shared cluster (internal/xds/translator/cluster.go at v1.9.0), so
  the tier stays plain HTTP. AI Gateway rewrites the Host header to the backend's hostname (its
  ``ai-eg-host-rewrite`` HTTPRouteFilter).
* The key: a BackendSecurityPolicy ``APIKey`` on ``<tier>-fallback``, reading Secret ``fallback-<name>`` (key
  ``apiKey``) that External Secrets syncs from Secrets Manager (secrets/component.py); AI Gateway injects it as
  ``Authorization: Bearer`` (api/v1beta1/backendsecurity_policy.go). It is never in a ConfigMap.

What v1.1.0 cannot do (docs/components/gateway.md "Fallback"): hold a request while the tier wakes (Envoy
has no "wait for an endpoint" and AI Gateway no scale-up timeout: the request is retried at once, on the
fallback, or gets the 503); fail back on a timeout without cutting long answers (no per-try timeout is
set); retry only the fallback tiers of a route (a BackendTrafficPolicy applies to the whole generated
HTTPRoute; a rule-level one would replace the route's rate limits and overrides instead of adding to them,
``mergeType`` merges a route-rule policy only into a Gateway's or listener's policy, never the route's:
api/v1alpha1/backendtrafficpolicy_types.go and internal/gatewayapi/backendtrafficpolicy.go
``processBackendTrafficPolicyForRoute`` at v1.9.0); name an FQDN in a NetworkPolicy (the proxies' egress
admits public addresses on the fallback's port).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from llm_tiers.config.schema import TierConfig
from llm_tiers.gateway import manifests as gm
from llm_tiers.secrets.component import fallback_k8s_secret

AIGW_API = "aigateway.envoyproxy.io/v1beta1"
SUFFIX = "-fallback"
LOCAL_PRIORITY = 0
FALLBACK_PRIORITY = 1
# What makes the gateway try the fallback: the tier refused the connection (no ready endpoint), reset before
# the request went out, refused the stream, or answered 503 (envoyproxy/gateway api/v1alpha1/retry_types.go
# TriggerEnum at v1.9.0).
RETRY_TRIGGERS = ["connect-failure", "reset-before-request", "refused-stream", "retriable-status-codes"]
RETRY_STATUS_CODES = [503]
# Addresses the proxies must not reach through the fallback rule: private ranges (the VPC, other clusters)
# and link-local (the instance metadata service).
PRIVATE_RANGES = ["10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"]


def name(tier: TierConfig) -> str:
    return f"{tier.name}{SUFFIX}"


def fallback_tiers(tiers: Sequence[TierConfig]) -> list[TierConfig]:
    return [t for t in tiers if t.fallback is not None]


def backend(tier: TierConfig, namespace: str) -> dict[str, Any]:
    """The provider by hostname, over TLS verified against the system CAs (SNI: the host)."""
    assert tier.fallback is not None
    host, port, _ = tier.fallback.endpoint
    return {
        "apiVersion": gm.EG_API, "kind": "Backend", "metadata": gm._meta(name(tier), namespace),
        "spec": {"endpoints": [{"fqdn": {"hostname": host, "port": port}}],
                 "tls": {"wellKnownCACertificates": "System", "sni": host}},
    }


def ai_service_backend(tier: TierConfig, namespace: str) -> dict[str, Any]:
    """OpenAI schema; ``prefix``: the base URL's path (``v1`` for ``https://host/v1``: AI Gateway then sends
    ``<prefix>/chat/completions``, api/v1beta1/shared_types.go ``VersionedAPISchema.Prefix`` at v1.1.0)."""
    assert tier.fallback is not None
    _, _, prefix = tier.fallback.endpoint
    schema: dict[str, Any] = {"name": "OpenAI"}
    if prefix:
        schema["prefix"] = prefix
    return {
        "apiVersion": AIGW_API, "kind": "AIServiceBackend", "metadata": gm._meta(name(tier), namespace),
        "spec": {"schema": schema,
                 "backendRef": {"group": "gateway.envoyproxy.io", "kind": "Backend", "name": name(tier)}},
    }


def backend_security_policy(tier: TierConfig, namespace: str) -> dict[str, Any]:
    """The provider's key, injected as ``Authorization: Bearer`` on requests to the fallback only."""
    assert tier.fallback is not None
    return {
        "apiVersion": AIGW_API, "kind": "BackendSecurityPolicy", "metadata": gm._meta(name(tier), namespace),
        "spec": {"targetRefs": [{"group": "aigateway.envoyproxy.io", "kind": "AIServiceBackend", "name": name(tier)}],
                 "type": "APIKey",
                 "apiKey": {"secretRef": {"name": fallback_k8s_secret(tier.fallback.api_key_secret),
                                          "namespace": namespace}}},
    }


def objects(tier: TierConfig, namespace: str) -> list[dict[str, Any]]:
    """A fallback tier's Backend, AIServiceBackend and BackendSecurityPolicy (in that order)."""
    return [backend(tier, namespace), ai_service_backend(tier, namespace), backend_security_policy(tier, namespace)]


def with_fallbacks(route: dict[str, Any], tiers: Sequence[TierConfig]) -> dict[str, Any]:
    """``route`` (an AIGatewayRoute from ``aigw.ai_gateway_route``) with each fallback tier's rule sending to the
    tier at priority 0 and to its fallback at priority 1 (the model rewritten to the provider's name)."""
    by_name = {t.name: t for t in fallback_tiers(tiers)}
    if not by_name:
        return route
    out = copy.deepcopy(route)
    for rule in out["spec"]["rules"]:
        tier = by_name.get(rule["name"])
        if tier is None or tier.fallback is None:
            continue
        rule["backendRefs"] = [{"name": tier.name, "priority": LOCAL_PRIORITY},
                               {"name": name(tier), "priority": FALLBACK_PRIORITY,
                                "modelNameOverride": tier.fallback.model}]
    return out


def retry() -> dict[str, Any]:
    """One retry, on the next priority: the tier first, the fallback once."""
    return {"numRetries": 1, "numAttemptsPerPriority": 1,
            "retryOn": {"triggers": list(RETRY_TRIGGERS), "httpStatusCodes": list(RETRY_STATUS_CODES)}}


def with_retry(policy: dict[str, Any], tiers: Sequence[TierConfig]) -> dict[str, Any]:
    """``policy`` (a route's BackendTrafficPolicy) with the failover retry when any of its route's tiers has a
    fallback. It applies to every rule of the route: a tier without a fallback retries once on itself (a
    refused connection is refused again within milliseconds; a 503 is tried once more)."""
    if not fallback_tiers(tiers):
        return policy
    out = copy.deepcopy(policy)
    out["spec"]["retry"] = retry()
    return out


def egress_rule(tiers: Sequence[TierConfig]) -> list[dict[str, Any]]:
    """The proxies' egress to the fallback providers: a NetworkPolicy cannot name a host, so public addresses
    on the providers' ports (443 unless a base URL says otherwise); never private or link-local ones."""
    ports = sorted({t.fallback.endpoint[1] for t in fallback_tiers(tiers) if t.fallback is not None})
    if not ports:
        return []
    return [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}],
             "ports": [{"port": p, "protocol": "TCP"} for p in ports]}]


def with_egress(policies: list[dict[str, Any]], tiers: Sequence[TierConfig]) -> list[dict[str, Any]]:
    """``policies`` (``network_policies.controller_network_policies``) with the proxies' egress to the fallback
    providers."""
    rule = egress_rule(tiers)
    if not rule:
        return policies
    out = copy.deepcopy(policies)
    for policy in out:
        if policy["metadata"]["name"] == "envoy-proxies":
            policy["spec"]["egress"] = [*policy["spec"]["egress"], *rule]
    return out
