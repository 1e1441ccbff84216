"""The request guard's manifests (pure): Open Policy Agent's Envoy ext_authz plugin (OPA-Envoy, a maintained
image: open-policy-agent/opa-envoy-plugin) judging every request on the OpenAI route with the Rego policy in
``policy/guard.rego`` and data rendered here from the stack config, and the SecurityPolicy ``extAuth`` block
that calls it over gRPC.

Why ext_authz with OPA: Envoy AI Gateway v1.1.0 can only *overwrite* a body field (``bodyMutation.set``, no
condition, minimum or maximum: api/v1beta1/ai_gateway_route.go), Envoy Gateway's RBAC sees headers, not the
body, and its Lua/EnvoyExtensionPolicy is off by default in v1.9.0 (and not among the pinned CRDs). Envoy
Gateway's ``extAuth`` with ``bodyToExtAuth`` hands the buffered body to the authorizer
(envoyproxy/gateway internal/xds/translator/extauth.go at v1.9.0: ``with_request_body``, no
``pack_as_bytes``, so the body arrives as the UTF-8 ``body`` string); OPA-Envoy evaluates the policy on it.

Placement: the EnvoyProxy's ``filterOrder`` (``gm.filter_order``) puts ``api_key_auth`` before
``ext_authz`` (Envoy Gateway's default is the reverse; it copies ``filterOrder`` into the IR in
internal/gatewayapi/translator.go and sorts the HTTP filters by it in internal/xds/translator/httpfilters.go,
``sortHTTPFilters``, at v1.9.0), so only authenticated requests reach the authorizer (a missing or unknown key
gets 401 first), and it reads the tenant from the header the API-key filter forwards: Envoy Gateway sets
``forwardClientIDHeader`` as the filter's ``forwarding.header`` (internal/xds/translator/api_key_auth.go at
v1.9.0) and Envoy's filter writes the authenticated client id with ``headers.setCopy``, replacing any value a
client sent (envoyproxy/envoy source/extensions/filters/http/api_key_auth/api_key_auth.cc,
``ApiKeyAuthFilter::decodeHeaders``; it reads the key from the first ``Authorization`` value). The authorizer
mounts no API keys.

Reloads: the policy and its data are files of one ConfigMap, which ``opa run --watch`` reloads when the kubelet
updates the mounted volume (no restart; a new tier or tenant takes effect within the kubelet's ConfigMap sync,
about a minute). Only the OPA config file (ports, plugin settings) rolls the pods, by its hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from llm_tiers import naming
from llm_tiers import security as security_exceptions
from llm_tiers.cluster import system_capacity as sc
from llm_tiers.config.schema import TenantConfig, TierConfig
from llm_tiers.gateway import manifests as gm
from llm_tiers.gateway import tenant_policies

NAME = gm.GUARD_NAME  # "request-guard"
LABELS = {"app.kubernetes.io/name": NAME}
# OPA-Envoy's gRPC ext_authz server (plugin default addr ":9191", internal/internal.go at v1.19.1-envoy).
GRPC_PORT = gm.GUARD_GRPC_PORT  # 9191
# OPA's health and metrics only (``--diagnostic-addr``): what the kubelet probes. The REST API (which can
# change policies) listens on loopback only.
DIAGNOSTIC_PORT = 8282
API_ADDR = "127.0.0.1:8181"
POLICY_KEY = "guard.rego"
DATA_KEY = "data.json"
CONFIG_KEY = "config.yaml"
POLICY_DIR = "/policy"
CONFIG_DIR = "/config"
# The Rego rule OPA-Envoy evaluates (its ``path`` setting): an object with allowed, http_status, headers, body.
DECISION_PATH = "llm_tiers/guard/result"
DATA_ROOT = "llm_tiers_guard"
UID = 65532
# Envoy's wait for a decision. On error (the authorizer down, slow or over the circuit breaker) Envoy answers
# STATUS_ON_ERROR, never passes the request unchecked (failOpen false). 511 is a status nothing else on the
# route produces, so the route's responseOverride can tell "the request check is unavailable" apart from a
# tier starting (503) and rewrite it to an honest 503 (``error_overrides``).
TIMEOUT = "2s"
STATUS_ON_ERROR = 511
CHECK_UNAVAILABLE_RETRY_AFTER_SECONDS = 5
# At most this many decisions in flight from one Envoy replica (circuit breaker of the authorizer's
# cluster); more get STATUS_ON_ERROR. With MAX_JSON_VALUES it bounds the authorizer's memory
# (benchmarks/guard_bench.py measures both).
MAX_PARALLEL_CHECKS = 16
# Bodies with more JSON values (commas, braces and brackets counted before parsing) are refused: parsing
# costs memory per value, not per byte (benchmarks/guard_bench.py).
MAX_JSON_VALUES = 100_000


def output_cap(tier: TierConfig) -> int:
    """The largest ``max_tokens`` the gateway accepts for a tier: ``maxOutputTokens``, by default what a
    full-length prompt leaves (``maxTotalTokens - maxInputTokens``, plan.md's column of that name)."""
    if tier.max_output_tokens is not None:
        return tier.max_output_tokens
    return tier.max_total_tokens - tier.max_input_tokens


def model_names(tier: TierConfig) -> list[str]:
    """What a client may send as ``model`` for this tier: its name, then its aliases."""
    return [tier.name, *tier.aliases]


def policy() -> str:
    """The Rego policy, as shipped in the package."""
    return resources.files("llm_tiers.gateway.policy").joinpath(POLICY_KEY).read_text()


# Cost per feature: the header a client names its feature in, and what the policy writes instead of an unlisted or
# missing one (docs/components/gateway.md, "Cost per feature").
FEATURE_HEADER = "x-llm-feature"
FEATURE_OTHER = "other"
FEATURE_NONE = "none"


def guard_data(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig],
               budgeted: Sequence[str] = (), features: Sequence[str] = ()) -> dict[str, Any]:
    """``data.llm_tiers_guard``: the output cap per model name (aliases included), and per API-key client id
    (a tenant's name, and ``<name>-previous`` while its previous key is valid) whether it must send
    ``max_tokens`` and whether it has a token budget (``budgeted``: its streams must carry usage where the
    gateway does not add it, policy/guard.rego ``usage_needed``). With ``gateway.features``, ``features``: the
    allow-list of ``x-llm-feature`` values (policy/guard.rego ``feature``); absent otherwise, so a stack without
    features renders the same data as before."""
    budget = set(budgeted)
    return {DATA_ROOT: {
        "caps": {m: output_cap(t) for t in tiers for m in model_names(t)},
        "tenants": {cid: {"requireMaxTokens": t.require_max_tokens, "tokenBudget": t.name in budget}
                    for t in tenants for cid in tenant_policies.client_ids(t)},
        "maxJsonValues": MAX_JSON_VALUES,
        **({"features": sorted(features)} if features else {}),
    }}


def opa_config() -> dict[str, Any]:
    """OPA's config file: the ext_authz plugin (keys of open-policy-agent/opa-envoy-plugin internal/internal.go
    at v1.19.1-envoy). ``skip-request-body-parse``: the policy parses the body itself (``json.unmarshal`` of
    the raw ``body``), so a body that is not JSON, or JSON sent with another content type, gets the policy's
    OpenAI error instead of the plugin's plain-text 400 or no parse at all (the plugin parses only
    ``application/json``: envoyauth/request.go). No decision logs (bodies are prompts)."""
    return {"plugins": {"envoy_ext_authz_grpc": {
        "addr": f":{GRPC_PORT}", "path": DECISION_PATH, "dry-run": False, "enable-reflection": False,
        "skip-request-body-parse": True}},
        "decision_logs": {"console": False}}


def ext_auth(body_limit: int, features: bool = False) -> dict[str, Any]:
    """SecurityPolicy ``extAuth``: OPA over gRPC with the buffered body and only the headers the policy reads.
    ``bodyToExtAuth.maxRequestBytes`` is the route's request buffer: a larger body gets 413 from Envoy before
    any check (the CRD: "Envoy will return HTTP 413 and will not initiate the authorization process").

    With ``features`` (``gateway.features``) the policy also gets ``x-llm-feature`` and, for an allowed request,
    answers with ``headers: {"x-llm-feature": <listed value | other | none>}`` (policy/guard.rego ``result``).
    OPA-Envoy puts a decision's ``headers`` into the gRPC ``OkHttpResponse.headers`` without ``append``
    (open-policy-agent/opa-envoy-plugin envoyauth/response.go ``envoyHeaders.add`` and internal/internal.go
    ``Check`` at v1.19.1-envoy), and Envoy then "will either add a new header, or override an existing one"
    (envoyproxy/envoy api/envoy/service/auth/v3/external_auth.proto, ``OkHttpResponse.headers``: ``append``
    defaults to false there): the client's own value is replaced, not added to. There is no
    ``headersToBackend`` to set here: in Envoy Gateway v1.9.0 that list exists only on the HTTP authorizer
    (``HTTPExtAuthService.HeadersToBackend``, api/v1alpha1/ext_auth_types.go; internal/xds/translator/extauth.go
    turns it into the HTTP service's ``allowed_upstream_headers``), and the pinned SecurityPolicy CRD has no such
    field under ``extAuth.grpc``; a gRPC authorizer's OK headers all reach the upstream request, so the policy
    returns no other header on an allowed request (tests/test_feature_cost.py checks both).

    Order: the metrics' ``llm_feature`` (and ``tenant_id``) come from AI Gateway's *upstream* ext_proc filter (a
    cluster filter, run after the router picked the cluster, so after every HTTP filter of the listener,
    ext_authz included), which records them from the headers of the upstream request (its own stream's headers:
    envoyproxy/ai-gateway internal/extproc/server.go ``Process``, processor_impl.go ``RecordTokenUsage(...,
    u.requestHeaders)``; the filter is added to the cluster in internal/extensionserver/post_translate_modify.go
    ``maybeModifyCluster``, all at v1.1.0): it sees the rewritten header. Not the listener's order: there AI
    Gateway's router-level ext_proc goes before the first ext_proc/wasm/lua/rbac/ratelimit/custom_response/...
    filter (``insertAIGatewayExtProcFilter``), and the route's responseOverride makes a custom_response filter
    that Envoy Gateway orders first (internal/xds/translator/httpfilters.go at v1.9.0), so that one may run
    before ext_authz; it reads the body (model, routing), not the feature."""
    headers = [gm.TENANT_HEADER, *([FEATURE_HEADER] if features else [])]
    return {"grpc": {"backendRefs": [{"name": NAME, "port": GRPC_PORT}],
                     "backendSettings": {"circuitBreaker": {"maxParallelRequests": MAX_PARALLEL_CHECKS}}},
            "headersToExtAuth": headers,
            "bodyToExtAuth": {"maxRequestBytes": body_limit},
            "failOpen": False, "statusOnError": STATUS_ON_ERROR, "timeout": TIMEOUT}


CHECK_UNAVAILABLE = gm.openai_error(
    "The gateway's request check (the authorizer that applies max_tokens limits) did not answer. Nothing was "
    "sent to the model. Retry after the number of seconds in Retry-After.", "server_error", "request_check_unavailable")


def error_overrides() -> list[dict[str, Any]]:
    """responseOverride rules for the single route, besides ``gm.response_overrides`` (Local 401/403/404/413/
    429/503): the authorizer's error status (Local ``STATUS_ON_ERROR``) becomes an honest 503 with its own
    OpenAI error, never "the tier is starting" (Local 503: no ready upstream) or the tenant's limit (Local 429:
    Envoy's ratelimit filter is the only local 429 here).

    The engine's own 429/503 are not rewritten: ``source: Local`` is a ``local_reply`` predicate
    (envoyproxy/gateway internal/xds/translator/custom_response.go at v1.9.0) and AI Gateway passes an upstream
    error on as a body mutation, not a local reply (envoyproxy/ai-gateway internal/extproc/processor_impl.go at
    v1.1.0, ``upstreamProcessor.ProcessResponseBody``), after turning a non-JSON error body into OpenAI error
    JSON (internal/translator/openai_openai.go, ``convertErrorOpenAIToOpenAIError``). So the client gets the
    engine's own words and status, the fourth distinct answer."""
    return [{"match": {"statusCodes": [{"type": "Value", "value": STATUS_ON_ERROR}]}, "source": "Local",
             "response": {"contentType": "application/json", "statusCode": 503,
                          "body": {"type": "Inline", "inline": CHECK_UNAVAILABLE},
                          "header": {"set": [{"name": "Retry-After",
                                              "value": str(CHECK_UNAVAILABLE_RETRY_AFTER_SECONDS)}]}}}]


def manifests(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig], namespace: str, image: str,
              system: dict[str, str], node_cidrs: Sequence[str] = (),
              proxy_namespace: str = naming.ENVOY_GATEWAY_NAMESPACE,
              budgeted: Sequence[str] = (), features: Sequence[str] = ()) -> list[dict[str, Any]]:
    """ConfigMap (policy, data, OPA config), Deployment (non-root, read-only, no Secrets, on the system nodes),
    Service, PDB and a NetworkPolicy admitting only the Envoy proxies (gRPC) and kubelet probes."""
    meta = lambda kind_name: gm._meta(kind_name, namespace, NAME)  # noqa: E731
    config = json.dumps(opa_config(), indent=1, sort_keys=True)
    data = json.dumps(guard_data(tiers, tenants, budgeted, features), indent=1, sort_keys=True)
    container = {
        "name": "opa", "image": image, "imagePullPolicy": "IfNotPresent",
        # opa run flags: open-policy-agent/opa cmd/run.go (v1.19.1, the image's OPA). --watch reloads the
        # policy directory's files on change (kubelet swaps the volume's ..data symlink: OPA issue #2588, closed,
        # made the watcher see that); --ignore skips the ConfigMap volume's ..data and timestamped directories,
        # else each file loads twice and the rules conflict (OPA issues #782 and #1109).
        "args": ["run", "--server", f"--addr={API_ADDR}", f"--diagnostic-addr=:{DIAGNOSTIC_PORT}",
                 f"--config-file={CONFIG_DIR}/{CONFIG_KEY}", "--watch", "--ignore=.*",
                 "--log-level=error", "--log-format=json", POLICY_DIR],
        "env": [{"name": "GOMEMLIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}},
                {"name": "GOMAXPROCS", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}],
        "ports": [{"name": "grpc", "containerPort": GRPC_PORT},
                  {"name": "diagnostic", "containerPort": DIAGNOSTIC_PORT}],
        # /health?plugins on the diagnostic address: 200 only when the policy is loaded and the ext_authz plugin
        # is up (the plugin README's Kubernetes example probes exactly this, README.md at v1.19.1-envoy).
        "readinessProbe": {"httpGet": {"path": "/health?plugins", "port": "diagnostic"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/health", "port": "diagnostic"}, "periodSeconds": 10,
                          "failureThreshold": 6},
        "resources": sc.REQUEST_GUARD.resources(),
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "policy", "mountPath": POLICY_DIR, "readOnly": True},
                         {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
    }
    pod = {"metadata": {"labels": {**naming.k8s_labels(NAME, NAME), **LABELS},
                        # Only OPA's own config rolls the pods; policy and data reload in place (--watch).
                        "annotations": {f"{naming.LABEL_DOMAIN}/config-sha": _sha(config)}},
           "spec": {"nodeSelector": dict(system), "automountServiceAccountToken": False, "enableServiceLinks": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [{"name": "policy", "configMap": {"name": NAME, "items": [
                                    {"key": POLICY_KEY, "path": POLICY_KEY}, {"key": DATA_KEY, "path": DATA_KEY}]}},
                                {"name": "config", "configMap": {"name": NAME, "items": [
                                    {"key": CONFIG_KEY, "path": CONFIG_KEY}]}}]}}
    proxies = {**naming.namespace_peer(proxy_namespace), "podSelector": {"matchLabels": dict(gm.EG_PROXY)}}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(NAME),
         "data": {POLICY_KEY: policy(), DATA_KEY: data, CONFIG_KEY: config}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {**meta(NAME), "annotations": security_exceptions.checkov_skips("CKV_K8S_43", "CKV_K8S_15")},
         "spec": {"replicas": sc.REQUEST_GUARD_REPLICAS, "selector": {"matchLabels": dict(LABELS)}, "template": pod}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta(NAME),
         "spec": {"selector": dict(LABELS), "ports": [{"name": "grpc", "port": GRPC_PORT, "targetPort": "grpc",
                                                      "appProtocol": "kubernetes.io/h2c"}]}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(NAME),
         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(LABELS)}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(NAME),
         "spec": {"podSelector": {"matchLabels": dict(LABELS)}, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [proxies], "ports": [{"port": GRPC_PORT, "protocol": "TCP"}]},
                              # kubelet probes
                              *([{"from": [{"ipBlock": {"cidr": c}} for c in node_cidrs],
                                  "ports": [{"port": DIAGNOSTIC_PORT, "protocol": "TCP"}]}] if node_cidrs else [])]}},
    ]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
