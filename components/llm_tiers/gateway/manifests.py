"""Gateway manifests (pure): the Envoy Gateway side of the front door (EnvoyProxy, GatewayClass, Gateway,
the redirect, the rate-limit store, NetworkPolicies, the error bodies and timeouts shared with the single
route in ``aigw.py``) and the deprecated per-tier URLs (``https://<host>/<tier>/v1``, while
``gateway.perTierUrls``) with per-tenant API keys, tier grants and rate limits (docs/components/gateway.md).

Per tier (deprecated URLs): an HTTPRoute (prefix ``/<tier>/v1`` rewritten to ``/v1``, to the tier's FQDN
Backend, explicit timeouts, no retries), a SecurityPolicy (API-key auth on the ``Authorization`` header against the
tenant-keys Secret, the authenticated tenant forwarded in ``x-tenant-id`` after overwriting any client value, the key
stripped before TGI, an allow-list of the tenants granted the tier — others get 403 — and, for a tenant whose body
limit is below the tier's largest, a rule refusing larger bodies), and a BackendTrafficPolicy (per-tenant
global rate limits per minute and per second, the route's request body limit (413), and OpenAI-style JSON
bodies for gateway-generated 401/403/413/429).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Optional

from llm_tiers import naming
from llm_tiers import security as security_exceptions
from llm_tiers.cluster import system_capacity as sc
from llm_tiers.gateway import load_balancer_controller as lbc
from llm_tiers.gateway import rate_limit_store as rls
from llm_tiers.config.schema import (GatewayConfig, LimitsConfig, RateLimitingConfig,
                                     TenantConfig, TierConfig)

GATEWAY_NAME = "llm-gateway"
GATEWAY_CLASS = "llm-tiers"
TENANT_HEADER = "x-tenant-id"
GW_API = "gateway.networking.k8s.io/v1"
EG_API = "gateway.envoyproxy.io/v1alpha1"
# A 503 that Envoy answers itself (no upstream, or a tier scaled to zero waking up): clients retry after this.
WAKE_RETRY_AFTER_SECONDS = 30


def openai_error(message: str, type_: str, code: str) -> str:
    """An error body the OpenAI SDKs parse (``{"error": {"message", "type", "param", "code"}}``)."""
    return json.dumps({"error": {"message": message, "type": type_, "param": None, "code": code}},
                      separators=(",", ":"))


ERROR_BODIES: dict[int, str] = {
    401: openai_error("Invalid or missing API key. Send it as 'Authorization: Bearer <key>'.",
                      "invalid_request_error", "invalid_api_key"),
    # Envoy answers both with 403: the tier is not granted to the key, or the body is over the key's own
    # limit for the tier (a body over the tier's largest limit gets 413).
    403: openai_error("This API key may not send this request to this tier: the tier is not granted to the key, "
                      "or the request body is larger than the key's limit for the tier.",
                      "invalid_request_error", "request_not_allowed"),
    413: openai_error("Request body too large for this tier.", "invalid_request_error", "request_too_large"),
    429: openai_error("Rate limit reached for this tier. Retry after the number of seconds in Retry-After.",
                      "requests", "rate_limit_exceeded"),
    503: openai_error("The tier is starting (scaled to zero, or no replica ready yet). Retry after the number of "
                      "seconds in Retry-After.", "server_error", "model_starting"),
}


def http_timeouts(gw: GatewayConfig) -> dict[str, str]:
    """Envoy counts the wait for response headers as stream idle time, so an idle timeout below the request
    timeout would cut a non-streaming completion (which sends nothing until it is done) and the OpenAI SDKs
    would retry it: the idle timeout is never below the request timeout (``streamIdleTimeoutSeconds`` raised)."""
    return {"streamIdleTimeout": f"{max(gw.stream_idle_timeout_seconds, gw.request_timeout_seconds)}s"}


def response_overrides(bodies: dict[int, str]) -> list[dict[str, Any]]:
    """OpenAI-style JSON for replies Envoy generates itself (``source: Local``: a ``local_reply`` predicate,
    envoyproxy/gateway internal/xds/translator/custom_response.go at v1.9.0), never for the engine's own
    4xx/5xx (TGI's 429 "Model is overloaded" reaches the client as TGI sent it).

    429: ``Retry-After`` is the rate limiter's own reset (``x-ratelimit-reset``, draft-03 headers, which the
    rules enable), copied with Envoy's ``%RESP(...)%`` header formatter and kept in the reply. 503 (no
    upstream yet: a tier waking from zero): ``Retry-After`` is ``WAKE_RETRY_AFTER_SECONDS``."""
    out = []
    for status, text in sorted(bodies.items()):
        response: dict[str, Any] = {"contentType": "application/json", "body": {"type": "Inline", "inline": text}}
        if status == 429:
            response["header"] = {"set": [{"name": "Retry-After", "value": "%RESP(x-ratelimit-reset)%"},
                                          {"name": "x-ratelimit-reset", "value": "%RESP(x-ratelimit-reset)%"}]}
        if status == 503:
            response["header"] = {"set": [{"name": "Retry-After", "value": str(WAKE_RETRY_AFTER_SECONDS)}]}
        out.append({"match": {"statusCodes": [{"type": "Value", "value": status}]}, "source": "Local",
                    "response": response})
    return out


# The request guard's name and gRPC port (gateway/guard.py, which imports this module, asserts they match).
GUARD_NAME = "request-guard"
GUARD_GRPC_PORT = 9191
API_KEY_AUTH_FILTER = "envoy.filters.http.api_key_auth"
EXT_AUTHZ_FILTER = "envoy.filters.http.ext_authz"


def filter_order() -> list[dict[str, str]]:
    """EnvoyProxy ``spec.filterOrder``: the API-key check before ext_authz (the request guard), so only
    authenticated requests reach the guard and it reads the tenant the API-key filter forwards. Envoy
    Gateway's default order is ext_authz first (the CRD's description; internal/xds/translator/httpfilters.go
    at v1.9.0, which applies ``filterOrder`` to the HTTP filter chain)."""
    return [{"name": API_KEY_AUTH_FILTER, "before": EXT_AUTHZ_FILTER}]


def _meta(name: str, namespace: str, component: str = "gateway") -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": naming.k8s_labels(component, name)}


def tenants_of(tier: TierConfig, tenants: Sequence[TenantConfig]) -> list[TenantConfig]:
    return sorted((t for t in tenants if tier.name in t.tiers), key=lambda t: t.name)


def limits_of(tenant: TenantConfig, gw: GatewayConfig) -> LimitsConfig:
    return tenant.limits or gw.default_limits


def tracing(collector: tuple[str, str, int], sampling_percent: int, features: bool = False) -> dict[str, Any]:
    """EnvoyProxy ``spec.telemetry.tracing`` (Envoy Gateway v1.9.0 CRD, the pinned schema
    gateway.envoyproxy.io_envoyproxies.yaml): OpenTelemetry spans to the collector's Service (``backendRefs``;
    ``host``/``port`` are deprecated, ``backendRef`` is refused by the CRD's validation). ``tags`` adds ``tenant``
    from the authenticated tenant header with the ``%REQ(...)%`` command operator (``customTags`` is deprecated
    for ``tags``). ``samplingRate`` is the percentage of requests without an upstream sampling decision. With
    ``gateway.features``, ``feature`` from ``x-llm-feature`` as the guard rewrote it (a listed name, ``other`` or
    ``none``)."""
    name, namespace, port = collector
    tags = {"tenant": f"%REQ({TENANT_HEADER})%"}
    if features:
        tags["feature"] = "%REQ(x-llm-feature)%"
    return {"provider": {"type": "OpenTelemetry",
                         "backendRefs": [{"name": name, "namespace": namespace, "port": port}]},
            "samplingRate": sampling_percent,
            "tags": tags}


def envoy_proxy(gw: GatewayConfig, namespace: str, system: dict[str, str],
                owner: Optional[dict[str, Any]] = None,
                trace_to: Optional[tuple[str, str, int]] = None, sampling_percent: int = 10) -> dict[str, Any]:
    """Envoy's Deployment and NLB: replicas spread across zones; a ``LoadBalancer`` Service that only the AWS Load
    Balancer Controller reconciles, annotated with what that controller reads (``lbc.service_annotations``).

    ``owner``: an extra owner reference (with ``blockOwnerDeletion``) patched into the Service Envoy Gateway
    renders (``envoyService.patch``, applied by internal/infrastructure/kubernetes/proxy/resource_provider.go
    Service at v1.9.0): deleting that owner waits until the Service, and so the NLB, is gone (Gateway
    component, ``lbc.nlb_guard``)."""
    selector = {"matchLabels": {"gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME}}
    service: dict[str, Any] = {
        "type": "LoadBalancer",
        # The in-tree controller (cloud-provider-aws) skips a Service with a class; the AWS Load Balancer
        # Controller takes exactly this one (pkg/service/service_utils.go IsServiceSupported at v3.5.0).
        "loadBalancerClass": lbc.LOAD_BALANCER_CLASS,
        # IP targets: the NLB sends to the proxy pods' addresses, not through node ports.
        "allocateLoadBalancerNodePorts": False,
        "externalTrafficPolicy": "Cluster",
        "annotations": lbc.service_annotations(gw.load_balancer_scheme, gw.tls.mode, gw.tls.certificate_arn,
                                               probe_port=EG_PORTS["proxy-probes"][1]),
    }
    if gw.source_cidrs:
        service["loadBalancerSourceRanges"] = list(gw.source_cidrs)
    if owner is not None:
        service["patch"] = {"type": "StrategicMerge", "value": {"metadata": {"ownerReferences": [owner]}}}
    telemetry = ({"telemetry": {"tracing": tracing(trace_to, sampling_percent, features=bool(gw.features))}}
                 if trace_to else {})
    return {
        "apiVersion": EG_API, "kind": "EnvoyProxy", "metadata": _meta(GATEWAY_NAME, namespace),
        "spec": {**telemetry, "filterOrder": filter_order(), "provider": {"type": "Kubernetes", "kubernetes": {
            "envoyDeployment": {
                "replicas": gw.replicas,
                # Counted by the system capacity check; Envoy also sizes its heap from the memory limit.
                "container": {"resources": sc.ENVOY_PROXY.resources()},
                "pod": {"nodeSelector": dict(system), "topologySpreadConstraints": [
                    {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule", "labelSelector": selector}
                    for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")]},
            },
            "envoyService": service,
        }}},
    }


def gateway_class(namespace: str, name: str = GATEWAY_CLASS) -> dict[str, Any]:
    """Cluster-scoped: one per gateway, pointing at that gateway's EnvoyProxy."""
    return {
        "apiVersion": GW_API, "kind": "GatewayClass",
        "metadata": {"name": name, "labels": naming.k8s_labels("gateway", name)},
        "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                 "parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": GATEWAY_NAME,
                                   "namespace": namespace}},
    }


TLS_SECRET = "llm-gateway-tls"   # cert-manager mode: the listener's certificate (cert-manager writes it)


def gateway(gw: GatewayConfig, namespace: str, class_name: str = GATEWAY_CLASS) -> dict[str, Any]:
    """Two listeners: 443 for the API, 80 only to redirect to HTTPS (and, in cert-manager mode, to answer
    HTTP-01 challenges: cert-manager's Exact-path challenge route wins over the redirect).

    ``acm``: the NLB terminates TLS, so 443 is plain HTTP behind it. ``cert-manager``: 443 terminates TLS
    with the Secret that cert-manager's Gateway support issues from the annotation (it creates the
    Certificate itself, for the listener's hostname)."""
    same_ns = {"namespaces": {"from": "Same"}}
    # Programmed: Envoy Gateway accepted it, its proxies run and its NLB has an address.
    meta = {**_meta(GATEWAY_NAME, namespace), "annotations": {naming.WAIT_FOR: "condition=Programmed"}}
    # AI Gateway's GatewayConfig (the extProc sidecar's resources), by name in this namespace
    # (internal/controller/ai_gateway_route.go at v1.1.0: GatewayConfigAnnotationKey).
    meta["annotations"]["aigateway.envoyproxy.io/gateway-config"] = "llm-gateway-aigw"
    https: dict[str, Any] = {"name": "https", "protocol": "HTTP", "port": 443, "hostname": gw.hostname,
                             "allowedRoutes": same_ns}
    if gw.tls.mode == "cert-manager":
        annotation = ("cert-manager.io/cluster-issuer" if gw.tls.issuer_kind == "ClusterIssuer"
                      else "cert-manager.io/issuer")
        meta["annotations"][annotation] = str(gw.tls.issuer)
        https.update(protocol="HTTPS", tls={"mode": "Terminate", "certificateRefs": [
            {"group": "", "kind": "Secret", "name": TLS_SECRET}]})
    return {
        "apiVersion": GW_API, "kind": "Gateway", "metadata": meta,
        "spec": {"gatewayClassName": class_name, "listeners": [
            https,
            {"name": "http", "protocol": "HTTP", "port": 80, "hostname": gw.hostname, "allowedRoutes": same_ns},
        ]},
    }


def envoy_gateway_values(redis_url: str, system: dict[str, str],
                         rate_limiting: Optional[RateLimitingConfig] = None) -> dict[str, Any]:
    """Envoy Gateway's chart: global rate limits in the Redis-protocol store at ``redis_url``; the controller,
    its certgen hook Job and the rate limiter it runs on the system nodes with the requests the system
    capacity check counts (the rate limiter's Deployment is configured through the EnvoyGateway config,
    ``provider.kubernetes.rateLimitDeployment``: envoyproxy/gateway api/v1alpha1/envoygateway_types.go). The rate
    limiter authenticates to the store with the password in Secret ``rate_limit_store.AUTH_SECRET`` and the
    failure mode is ``rate_limiting`` (gateway/rate_limit_store.py says what each does)."""
    placed = {"nodeSelector": dict(system)}
    rl = rate_limiting or RateLimitingConfig()
    return {
        "deployment": {"replicas": sc.ENVOY_GATEWAY_REPLICAS, "pod": placed,
                       "envoyGateway": {"resources": sc.ENVOY_GATEWAY.resources()}},
        "certgen": {"job": {"resources": sc.ENVOY_GATEWAY_CERTGEN.resources(), **placed}},
        "config": {"envoyGateway": {
            "rateLimit": rls.envoy_gateway_rate_limit(redis_url, fail_closed=rl.fail_closed,
                                                      timeout_ms=rl.timeout_milliseconds),
            "provider": {"type": "Kubernetes", "kubernetes": {"rateLimitDeployment": {
                "replicas": sc.ENVOY_RATELIMIT_REPLICAS, "pod": placed,
                "container": {"resources": sc.ENVOY_RATELIMIT.resources(), "env": rls.rate_limiter_env()}}}},
        }},
    }


def cert_manager_values(system: dict[str, str]) -> dict[str, Any]:
    """cert-manager with its CRDs and Gateway API support (it issues the certificates Gateways ask for in
    annotations), every component on the system nodes."""
    placed = {"nodeSelector": dict(system)}
    return {
        "crds": {"enabled": True, "keep": True},
        "config": {"apiVersion": "controller.config.cert-manager.io/v1alpha1", "kind": "ControllerConfiguration",
                   "enableGatewayAPI": True},
        "replicaCount": sc.CERT_MANAGER_REPLICAS,
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        **placed,
        # Requests counted by the system capacity check (components/llm_tiers/cluster/system_capacity.py).
        "resources": sc.CERT_MANAGER.resources(),
        "webhook": {**placed, "replicaCount": sc.CERT_MANAGER_WEBHOOK_REPLICAS,
                    "resources": sc.CERT_MANAGER_WEBHOOK.resources(),
                    "podDisruptionBudget": {"enabled": True, "minAvailable": 1}},
        "cainjector": {**placed, "replicaCount": sc.CERT_MANAGER_CAINJECTOR_REPLICAS,
                       "resources": sc.CERT_MANAGER_CAINJECTOR.resources()},
        "startupapicheck": {**placed, "resources": sc.CERT_MANAGER_STARTUPAPICHECK.resources()},
    }


def https_redirect(gw: GatewayConfig, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": GW_API, "kind": "HTTPRoute", "metadata": _meta("https-redirect", namespace),
        "spec": {"parentRefs": [{"name": GATEWAY_NAME, "sectionName": "http"}], "hostnames": [gw.hostname],
                 "rules": [{"filters": [{"type": "RequestRedirect",
                                         "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]},
    }


def route_timeouts(gw: GatewayConfig) -> dict[str, str]:
    """A route rule's timeouts: long enough for a full streamed generation (the stream idle timeout ends hung
    streams)."""
    return {"request": f"{gw.request_timeout_seconds}s", "backendRequest": f"{gw.request_timeout_seconds}s"}


def tier_route(tier: TierConfig, gw: GatewayConfig, namespace: str, tiers_namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": GW_API, "kind": "HTTPRoute", "metadata": _meta(tier.name, namespace),
        "spec": {
            "parentRefs": [{"name": GATEWAY_NAME, "sectionName": "https"}],
            "hostnames": [gw.hostname],
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix", "value": f"/{tier.name}/v1"}}],
                "filters": [{"type": "URLRewrite", "urlRewrite": {
                    "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1"}}}],
                # The tier's FQDN Backend (aigw.backend), not its Service: a Service without ready endpoints
                # becomes a direct 503 without a cluster (envoyproxy/gateway internal/gatewayapi/route.go at
                # v1.9.0), so nothing would count the requests that must wake a tier scaled to zero.
                "backendRefs": [{"group": "gateway.envoyproxy.io", "kind": "Backend", "name": tier.name}],
                "timeouts": route_timeouts(gw),
            }],
        },
    }


VALKEY_UID = 10001


def redis(namespace: str, image: str, system: dict[str, str]) -> list[dict[str, Any]]:
    """The rate-limit counter store: one replica, no persistence (counters are disposable), a PDB. Clients must
    authenticate: the ACL file (Secret ``rate_limit_store.ACL_SECRET``) disables the default user and lets the
    rate limiter's user run only the commands it sends (no scripts)."""
    labels = naming.k8s_labels("ratelimit-redis", "ratelimit-redis")
    sel = {"app.kubernetes.io/name": "ratelimit-redis"}
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {**_meta("ratelimit-redis", namespace, "ratelimit-redis"),
                      "annotations": security_exceptions.checkov_skips("CKV_K8S_43", "CKV_K8S_15")},
         "spec": {"replicas": 1, "selector": {"matchLabels": sel}, "template": {
             "metadata": {"labels": labels},
             # A high UID (not the image's 999, which can collide with a host user): the entrypoint only chowns
             # and drops privileges when started as root, so any UID runs valkey-server directly.
             "spec": {"nodeSelector": dict(system), "automountServiceAccountToken": False, "enableServiceLinks": False,
                      "securityContext": {"runAsNonRoot": True, "runAsUser": VALKEY_UID, "runAsGroup": VALKEY_UID,
                                          "fsGroup": VALKEY_UID, "seccompProfile": {"type": "RuntimeDefault"}},
                      "containers": [{
                          "name": "valkey", "image": image,
                          "args": ["--save", "", "--appendonly", "no", "--maxmemory", "200mb",
                                   "--maxmemory-policy", "volatile-ttl",
                                   "--aclfile", f"{rls.ACL_DIR}/{rls.ACL_KEY}"],
                          "ports": [{"name": "redis", "containerPort": 6379}],
                          "readinessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 5},
                          "livenessProbe": {"tcpSocket": {"port": "redis"}, "periodSeconds": 10, "failureThreshold": 6},
                          "resources": sc.VALKEY.resources(),
                          "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                              "capabilities": {"drop": ["ALL"]}},
                          "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                           {"name": "acl", "mountPath": rls.ACL_DIR, "readOnly": True}]}],
                      "volumes": [{"name": "data", "emptyDir": {}},
                                  {"name": "acl", "secret": {"secretName": rls.ACL_SECRET, "defaultMode": 0o440}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta("ratelimit-redis", namespace, "ratelimit-redis"),
         "spec": {"selector": sel, "ports": [{"name": "redis", "port": 6379, "targetPort": "redis"}]}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
         "metadata": _meta("ratelimit-redis", namespace, "ratelimit-redis"),
         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": sel}}},
    ]


# Envoy Gateway's pods and the ports they listen on (gateway-helm v1.9.0, read from its source; recheck when
# versions.CHARTS["envoy-gateway"] moves). Listener ports below 1024 are shifted by 10000 in the proxy pods.
EG_PROXY = dict(naming.ENVOY_PROXY_LABELS)
EG_CONTROLLER = {"control-plane": "envoy-gateway"}
EG_RATELIMIT = {"app.kubernetes.io/name": "envoy-ratelimit", "app.kubernetes.io/managed-by": "envoy-gateway"}
EG_PORTS = {
    "proxy-listeners": (10080, 10443),      # Gateway listeners 80 and 443
    "proxy-probes": (19002, 19003),         # shutdown-manager /healthz, Envoy /ready
    "controller-from-proxies": (18000, 18002),   # xDS, Wasm module server
    "controller-from-ratelimit": (18001,),  # rate-limit configuration xDS
    "controller-from-control-plane": (9443, 8081),  # topology-injector webhook (API server), probes
    "ratelimit-from-proxies": (8081,),      # rate-limit gRPC
    "ratelimit-probes": (8080,),
    "metrics": (19001,),                    # proxies (/stats/prometheus), controller, rate limiter
    "extproc-metrics": (1064,),             # AI Gateway's extProc sidecar in the proxies (aigw-admin, /metrics)
}


# TEMPORARY (issue #27): gateway/component.py still calls these as gm.*; they live in the sibling modules named here.
# Looked up lazily (PEP 562), so this module imports neither (they import it). Drop this when component.py imports
# them from their modules (its owner is rewriting it in parallel).
_MOVED = {"security_policy": "tenant_policies", "backend_traffic_policy": "tenant_policies",
          "gateway_network_policy": "network_policies", "controller_network_policies": "network_policies",
          "envoy_pod_monitor": "network_policies"}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(f"llm_tiers.gateway.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
