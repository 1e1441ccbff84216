"""The ``max_tokens`` guardrail's manifests (pure): the ext_authz service Envoy asks before a completion
reaches a tier (``scripts/max_tokens_guard.py``), and the SecurityPolicy ``extAuth`` block that calls it.

Why an ext_authz service: Envoy AI Gateway v1.1.0 can only *overwrite* a body field (``bodyMutation.set``, at
most 16 top-level fields: api/v1beta1/ai_gateway_route.go), with no condition, minimum or maximum, and CEL
only computes costs; Envoy Gateway's RBAC sees headers, not the body, and its Lua/EnvoyExtensionPolicy is
off by default in v1.9.0 (and not among the pinned CRDs). Envoy Gateway's ``extAuth`` with
``bodyToExtAuth`` hands the buffered body to an HTTP service (internal/xds/translator/extauth.go at v1.9.0:
``with_request_body``), whose non-200 answer Envoy returns to the client.

Placement: ext_authz runs before api_key_auth (orders 6 and 7, internal/xds/translator/httpfilters.go at
v1.9.0), so the guard sees the raw ``Authorization`` header, not the tenant: it reads the tenant-keys Secret
(the same one Envoy's API-key auth reads) to find the tenant of a key.
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
from llm_tiers.config.schema import PREVIOUS_KEY_SUFFIX, TenantConfig, TierConfig
from llm_tiers.gateway import manifests as gm

NAME = "max-tokens-guard"
PORT = 8080
SCRIPT_KEY = "max_tokens_guard.py"
CONFIG_KEY = "config.json"
UID = 65534
LABELS = {"app.kubernetes.io/name": NAME}
# Envoy's wait for the guard; on error (the guard down or slow) the request gets 503, never passes unchecked.
TIMEOUT = "2s"


def output_cap(tier: TierConfig) -> int:
    """The largest ``max_tokens`` the gateway accepts for a tier: ``maxOutputTokens``, by default what a
    full-length prompt leaves (``maxTotalTokens - maxInputTokens``, plan.md's column of that name)."""
    return tier.max_output_tokens if tier.max_output_tokens is not None else tier.max_total_tokens - tier.max_input_tokens


def model_names(tier: TierConfig) -> list[str]:
    """What a client may send as ``model`` for this tier: its name, then its aliases."""
    return [tier.name, *tier.aliases]


# Cost per feature: the header a client names its feature in, and what the guard writes instead of an unlisted or
# missing one (docs/components/gateway.md, "Cost per feature").
FEATURE_HEADER = "x-llm-feature"
FEATURE_OTHER = "other"
FEATURE_NONE = "none"


def feature_config(features: Sequence[str]) -> dict[str, Any]:
    """The guard config's ``features`` key (only with ``gateway.features``): the allow-list."""
    return {"features": sorted(features)} if features else {}


def guard_config(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig],
                 budgeted: Sequence[str] = (), features: Sequence[str] = ()) -> dict[str, Any]:
    """``budgeted``: tenants with a token budget (``tokensPerMinute``). Their streamed requests must ask for the
    usage chunk (``stream_options.include_usage``): AI Gateway v1.1.0 charges a stream the tokens of its usage
    chunk, and without one the budget would count nothing (docs/components/gateway.md)."""
    return {"caps": {m: output_cap(t) for t in tiers for m in model_names(t)},
            "requireMaxTokens": sorted(t.name for t in tenants if t.require_max_tokens),
            "streamUsageRequired": sorted(set(budgeted)),
            "previousSuffix": PREVIOUS_KEY_SUFFIX, **feature_config(features)}


def ext_auth(body_limit: int, features: bool = False) -> dict[str, Any]:
    """SecurityPolicy ``extAuth``: the guard, with the body and the ``Authorization`` header. With ``features``
    it also gets ``x-llm-feature`` and its answer's ``x-llm-feature`` (the listed value, ``other`` or ``none``)
    replaces the client's before any later filter: ``headersToBackend`` "will be added to the original client
    request ... coexisting headers will be overridden" (envoyproxy/gateway api/v1alpha1/ext_auth_types.go at
    v1.9.0), and ext_authz runs before AI Gateway's ext_proc, which records the metrics (filter order 6 vs 100+,
    internal/xds/translator/httpfilters.go at v1.9.0)."""
    out = {"http": {"backendRefs": [{"name": NAME, "port": PORT}], "path": "/check"},
           "headersToExtAuth": ["authorization"],
           "bodyToExtAuth": {"maxRequestBytes": body_limit},
           "failOpen": False, "statusOnError": 503, "timeout": TIMEOUT}
    if features:
        out["headersToExtAuth"] = ["authorization", FEATURE_HEADER]
        out["http"]["headersToBackend"] = [FEATURE_HEADER]
    return out


def manifests(tiers: Sequence[TierConfig], tenants: Sequence[TenantConfig], namespace: str, image: str,
              keys_secret: str, system: dict[str, str], node_cidrs: Sequence[str] = (),
              proxy_namespace: str = naming.ENVOY_GATEWAY_NAMESPACE,
              budgeted: Sequence[str] = (), features: Sequence[str] = ()) -> list[dict[str, Any]]:
    """ConfigMap (script + caps), Deployment (non-root, read-only, on the system nodes), Service, PDB and a
    NetworkPolicy admitting only the Envoy proxies (and kubelet probes)."""
    script = resources.files("llm_tiers.gateway.scripts").joinpath(SCRIPT_KEY).read_text()
    meta = lambda kind_name: gm._meta(kind_name, namespace, NAME)  # noqa: E731
    config = json.dumps(guard_config(tiers, tenants, budgeted, features), indent=1, sort_keys=True)
    container = {
        "name": "guard", "image": image, "imagePullPolicy": "IfNotPresent",
        "command": ["python", f"/opt/guard/{SCRIPT_KEY}", "--config", f"/opt/guard/{CONFIG_KEY}",
                    "--keys-dir", "/var/run/secrets/tenant-keys", "--port", str(PORT)],
        "env": [{"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}, {"name": "PYTHONUNBUFFERED", "value": "1"}],
        "ports": [{"name": "http", "containerPort": PORT}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10, "failureThreshold": 6},
        "resources": sc.MAX_TOKENS_GUARD.resources(),
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "guard", "mountPath": "/opt/guard", "readOnly": True},
                         {"name": "keys", "mountPath": "/var/run/secrets/tenant-keys", "readOnly": True}],
    }
    pod = {"metadata": {"labels": {**naming.k8s_labels(NAME, NAME), **LABELS},
                        # Roll the pods when the caps or the script change.
                        "annotations": {f"{naming.LABEL_DOMAIN}/config-sha": _sha(script + config)}},
           "spec": {"nodeSelector": dict(system), "automountServiceAccountToken": False, "enableServiceLinks": False,
                    # fsGroup: the kubelet writes Secret files root-owned and gives their group to
                    # fsGroup only when it is set (kubernetes/kubernetes pkg/volume/volume_linux.go
                    # SetVolumeOwnership returns early on a nil fsGroup, v1.34); without it UID cannot read
                    # the 0440 key files and the guard crash-loops.
                    "securityContext": {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [{"name": "guard", "configMap": {"name": NAME}},
                                {"name": "keys", "secret": {"secretName": keys_secret, "defaultMode": 0o440}}]}}
    proxies = {**naming.namespace_peer(proxy_namespace), "podSelector": {"matchLabels": dict(gm.EG_PROXY)}}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(NAME),
         "data": {SCRIPT_KEY: script, CONFIG_KEY: config}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {**meta(NAME), "annotations": security_exceptions.annotations("CKV_K8S_43", "CKV_K8S_15")},
         "spec": {"replicas": sc.MAX_TOKENS_GUARD_REPLICAS, "selector": {"matchLabels": dict(LABELS)}, "template": pod}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta(NAME),
         "spec": {"selector": dict(LABELS), "ports": [{"name": "http", "port": PORT, "targetPort": "http"}]}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(NAME),
         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(LABELS)}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(NAME),
         "spec": {"podSelector": {"matchLabels": dict(LABELS)}, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [proxies], "ports": [{"port": PORT, "protocol": "TCP"}]},
                              # kubelet probes
                              *([{"from": [{"ipBlock": {"cidr": c}} for c in node_cidrs],
                                  "ports": [{"port": PORT, "protocol": "TCP"}]}] if node_cidrs else [])]}},
    ]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
