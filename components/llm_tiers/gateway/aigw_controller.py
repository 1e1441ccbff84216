"""The AI Gateway controller and the extProc sidecar it injects into every Envoy pod: the names they use (API group,
model header, token-cost metadata, metric attributes), the GatewayConfig that sizes the sidecar, the controller's and
Envoy Gateway's chart values for AI Gateway and the extProc's PodMonitor."""

from __future__ import annotations

from typing import Any

from llm_tiers import naming
from llm_tiers.cluster import system_capacity as sc
from llm_tiers.gateway import guard
from llm_tiers.gateway import manifests as gm


AIGW_API = "aigateway.envoyproxy.io/v1beta1"
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
