"""Names, labels and tags shared by every component (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Type-token package of every component: ``llmtiers:index:<Type>``.
PACKAGE = "llmtiers"
# Prefix of the Kubernetes labels and AWS tag keys the platform owns.
LABEL_DOMAIN = "llm-tiers.io"
# Label that marks the managed system node group; controllers select it.
NODE_ROLE_LABEL = f"{LABEL_DOMAIN}/node-role"
SYSTEM_NODE_ROLE = "system"
# Tag Karpenter uses to discover subnets and security groups (karpenter.sh docs).
KARPENTER_DISCOVERY_TAG = "karpenter.sh/discovery"

# pulumi-kubernetes annotations (provider/pkg/metadata/annotations.go): what the engine awaits for an object.
WAIT_FOR = "pulumi.com/waitFor"              # e.g. "condition=Ready"; custom resources are not awaited otherwise
REPLACE_UNREADY = "pulumi.com/replaceUnready"  # Job only: the next update replaces a Job that is not Complete


def type_token(type_name: str) -> str:
    """The Pulumi type token of a component, e.g. ``llmtiers:index:Cluster``."""
    return f"{PACKAGE}:index:{type_name}"


def aws_tags(environment: str | None, cluster_name: str, extra: Mapping[str, str] | None = None,
             **more: str) -> dict[str, str]:
    """The tags every AWS resource carries: who owns it, which environment (when known), plus user tags."""
    tags = {f"{LABEL_DOMAIN}/cluster": cluster_name, "managed-by": "pulumi"}
    if environment:
        tags[f"{LABEL_DOMAIN}/environment"] = environment
    tags.update(extra or {})
    tags.update(more)
    return tags


def k8s_labels(component: str, instance: str, **more: str) -> dict[str, str]:
    """Recommended Kubernetes labels (app.kubernetes.io/*) for an object the platform creates."""
    labels = {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/part-of": "llm-tiers",
        "app.kubernetes.io/managed-by": "pulumi",
    }
    labels.update(more)
    return labels


# Namespaces the platform creates.
TIERS_NAMESPACE = "llm-tiers"          # TGI Deployments and their weight-sync Jobs (the HF token lives here only)
GATEWAY_NAMESPACE = "llm-gateway"      # the Gateway, its routes and policies, tenant API keys
EXTERNAL_SECRETS_NAMESPACE = "external-secrets"
MONITORING_NAMESPACE = "monitoring"    # Prometheus, Alertmanager, Grafana, exporters
KEDA_NAMESPACE = "keda"
AI_GATEWAY_NAMESPACE = "envoy-ai-gateway-system"  # Envoy AI Gateway's controller (its docs' namespace)
ENVOY_GATEWAY_NAMESPACE = "envoy-gateway-system"  # Envoy Gateway's controller, rate limiter and proxy pods
CERT_MANAGER_NAMESPACE = "cert-manager"  # only with gateway.tls.mode: cert-manager
EXTERNAL_DNS_NAMESPACE = "external-dns"  # only with gateway.dns
# Labels Envoy Gateway puts on every Envoy proxy pod it runs (the pods that forward API traffic to tiers).
ENVOY_PROXY_LABELS = {"app.kubernetes.io/component": "proxy", "app.kubernetes.io/managed-by": "envoy-gateway"}


def namespace_peer(namespace: str) -> dict[str, dict[str, dict[str, str]]]:
    """A NetworkPolicy peer selecting every pod of one namespace (by its immutable name label)."""
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def dns_egress() -> dict[str, Any]:
    """A NetworkPolicy egress rule to the cluster DNS (CoreDNS in kube-system), UDP and TCP 53."""
    return {"to": [namespace_peer("kube-system")],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


def name_prefix(cluster_name: object, prefix: "str | None") -> str:
    """The plain-string prefix of AWS names: ``prefix``, or ``cluster_name`` when that is a plain string.

    Components take the cluster name as an Input so that resources naming the cluster (access entries, Pod
    Identity associations) depend on the cluster resource; a name passed as a plain string adds no ordering
    edge, and the engine would create them in parallel with the cluster.
    """
    if prefix:
        return prefix
    if isinstance(cluster_name, str):
        return cluster_name
    raise TypeError("cluster_name is an Output: also pass name_prefix (the cluster name as a plain string) for the "
                    "names of the AWS resources")
