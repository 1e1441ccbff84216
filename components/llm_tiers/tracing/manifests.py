"""The OpenTelemetry Collector that tracing runs (pure): its pipeline, Helm values and NetworkPolicy.

Chart: open-telemetry/opentelemetry-collector 0.170.0 (``versions.CHARTS['opentelemetry-collector']``). Keys were
read from open-telemetry/opentelemetry-helm-charts at tag opentelemetry-collector-0.170.0,
charts/opentelemetry-collector/:

* ``mode`` must be set and ``image.repository`` too (templates/NOTES.txt fails the install otherwise).
* ``alternateConfig``: "When not empty, `alternateConfig` will be used to set the collector's configuration. It
  has NO default values and IS NOT MERGED with config" (values.yaml). So the pipeline below is exactly what runs,
  without the chart's default jaeger, zipkin and prometheus receivers and debug exporter
  (templates/_config.tpl ``baseConfig``). The health_check extension is mandatory (the probes hit it;
  NOTES.txt fails without it).
* ``presets.kubernetesAttributes`` is off: it would prepend its own ``k8s_attributes`` to every pipeline
  (_config.tpl ``applyKubernetesAttributesConfig``). The processor is configured here instead, and
  ``clusterRole.create`` with ``clusterRole.rules`` grants the same read-only rules that preset adds for pods and
  namespaces (templates/clusterrole.yaml). Replicasets are left out, because no deployment name is extracted.
* ``rewriteDeprecatedComponentNames`` (default true) renames ``k8sattributes`` to ``k8s_attributes``: the
  current name, used here.
* ``ports``: only ``otlp`` (4317) and ``otlp-http`` (4318) stay enabled. hostPorts apply only in daemonset mode
  (_config.tpl, ``isAgent``).
* ``networkPolicy.enabled`` stays false: the component writes its own policy (``network_policy``), as every
  other component here does.

Attributes (the seed's cost-per-feature dashboards):

* ``k8s_attributes`` associates a span with the pod that sent it (by the connection's IP) and copies the pod's
  labels ``llm-tiers.io/tier`` → ``tier``, ``llm-tiers.io/engine`` → ``inference.backend``,
  ``llm-tiers.io/release`` → ``release``, and the annotation ``llm-tiers.io/model`` → ``model_id``.
  tiers/manifests.py sets those keys on the serving pods. The engines' own ``OTEL_RESOURCE_ATTRIBUTES``
  (``inference.backend``, ``model_id``, ``tier``, set by the tier's Deployment) carry the same values.
* The tenant: Envoy tags each gateway span with ``tenant`` from the authenticated ``x-tenant-id`` header
  (gateway/manifests.py ``envoy_proxy``, EnvoyProxy ``spec.telemetry.tracing.tags``). The engines never see the
  tenant, so only the gateway's spans carry it. A trace joins both through the W3C ``traceparent`` header that
  Envoy forwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from llm_tiers import naming
from llm_tiers import versions
from llm_tiers.cluster import system_capacity as sc

RELEASE = "otel-collector"
FULLNAME = "otel-collector"   # fullnameOverride: the Service, Deployment and ConfigMap name
GRPC_PORT, HTTP_PORT, HEALTH_PORT = 4317, 4318, 13133
PROCESSOR = "k8s_attributes"
LABEL_ATTRIBUTES = {f"{naming.LABEL_DOMAIN}/tier": "tier", f"{naming.LABEL_DOMAIN}/engine": "inference.backend",
                    f"{naming.LABEL_DOMAIN}/release": "release"}
ANNOTATION_ATTRIBUTES = {f"{naming.LABEL_DOMAIN}/model": "model_id"}


def otlp_endpoint(namespace: str) -> str:
    """Where engines and Envoy send spans: the collector's Service, OTLP gRPC."""
    return f"http://{FULLNAME}.{namespace}.svc.cluster.local:{GRPC_PORT}"


def exporter(endpoint: str) -> dict[str, Any]:
    """The OTLP gRPC exporter to the configured endpoint (``http://`` means plaintext, ``https://`` TLS)."""
    out: dict[str, Any] = {"endpoint": endpoint}
    if urlparse(endpoint).scheme == "http":
        out["tls"] = {"insecure": True}
    return out


def collector_config(endpoint: str) -> dict[str, Any]:
    """The collector's whole configuration (``alternateConfig``)."""
    return {
        "extensions": {"health_check": {"endpoint": f"${{env:MY_POD_IP}}:{HEALTH_PORT}"}},
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"${{env:MY_POD_IP}}:{GRPC_PORT}"},
                                             "http": {"endpoint": f"${{env:MY_POD_IP}}:{HTTP_PORT}"}}}},
        "processors": {
            # The chart's default limiter (values.yaml config.processors.memory_limiter), against the memory limit.
            "memory_limiter": {"check_interval": "5s", "limit_percentage": 80, "spike_limit_percentage": 25},
            PROCESSOR: {
                "auth_type": "serviceAccount",
                "passthrough": False,
                "pod_association": [{"sources": [{"from": "resource_attribute", "name": "k8s.pod.ip"}]},
                                    {"sources": [{"from": "connection"}]}],
                "extract": {
                    "metadata": ["k8s.namespace.name", "k8s.pod.name"],
                    "labels": [{"tag_name": tag, "key": key, "from": "pod"} for key, tag in LABEL_ATTRIBUTES.items()],
                    "annotations": [{"tag_name": tag, "key": key, "from": "pod"}
                                    for key, tag in ANNOTATION_ATTRIBUTES.items()],
                },
            },
            "batch": {},
        },
        "exporters": {"otlp": exporter(endpoint)},
        "service": {
            "extensions": ["health_check"],
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["memory_limiter", PROCESSOR, "batch"],
                                     "exporters": ["otlp"]}},
        },
    }


def values(endpoint: str, system: dict[str, str]) -> dict[str, Any]:
    """Helm values of the collector release."""
    repository, tag = versions.IMAGES["otel-collector"].rsplit(":", 1)
    return {
        "mode": "deployment",
        "fullnameOverride": FULLNAME,
        "image": {"repository": repository, "tag": tag},
        "replicaCount": 1,
        "alternateConfig": collector_config(endpoint),
        "clusterRole": {"create": True, "rules": [
            {"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "watch", "list"]}]},
        "ports": {name: {"enabled": False} for name in ("jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin")},
        "resources": sc.OTEL_COLLECTOR.resources(),
        "nodeSelector": dict(system),
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "networkPolicy": {"enabled": False},
    }


POD_LABELS = {"app.kubernetes.io/name": "opentelemetry-collector", "app.kubernetes.io/instance": RELEASE}


def network_policy(namespace: str, tiers_namespace: str, gateway_namespace: str, endpoint: str,
                   node_cidrs: Sequence[str] = ()) -> dict[str, Any]:
    """The collector takes OTLP from the tiers' and the gateway's namespaces only, and the kubelet's probes on
    the health_check port from the nodes. It talks to DNS, the Kubernetes API (k8s_attributes watches pods;
    443) and the export endpoint's port."""
    port = urlparse(endpoint).port or (443 if urlparse(endpoint).scheme == "https" else 80)
    otlp = [{"port": GRPC_PORT, "protocol": "TCP"}, {"port": HTTP_PORT, "protocol": "TCP"}]
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": FULLNAME, "namespace": namespace,
                     "labels": naming.k8s_labels("opentelemetry-collector", RELEASE)},
        "spec": {
            # The chart's selector labels (templates/_helpers.tpl ``selectorLabels``: chart name, release name).
            "podSelector": {"matchLabels": dict(POD_LABELS)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [naming.namespace_peer(tiers_namespace), naming.namespace_peer(gateway_namespace)],
                         "ports": otlp},
                        *([{"from": [{"ipBlock": {"cidr": c}} for c in node_cidrs],
                            "ports": [{"port": HEALTH_PORT, "protocol": "TCP"}]}] if node_cidrs else [])],
            "egress": [
                naming.dns_egress(),
                {"ports": [{"port": 443, "protocol": "TCP"}]},
                *([] if port == 443 else [{"ports": [{"port": port, "protocol": "TCP"}]}]),
            ],
        },
    }
