"""Namespaces: the platform's Kubernetes namespaces with Pod Security Admission labels, and each one's
baseline NetworkPolicies: default-deny ingress, traffic within the namespace, and the flows into it that its
pods serve (webhook calls from the API server and kubelet probes from the nodes, scrapes from the monitoring
namespace, KEDA's queries to Prometheus), on the ports the pinned charts use."""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Optional, TypedDict

from llm_tiers import arguments
from llm_tiers.config.issues import ConfigIssue

import pulumi
import pulumi_kubernetes as k8s

from llm_tiers.gateway import dns
from llm_tiers import naming

PodSecurityLevel = Literal["privileged", "baseline", "restricted"]


def namespace_labels(level: PodSecurityLevel) -> dict[str, str]:
    """PSA labels: enforce ``level``, and warn/audit at ``restricted`` so drift toward it is visible."""
    return {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "app.kubernetes.io/part-of": "llm-tiers",
        "app.kubernetes.io/managed-by": "pulumi",
    }


@dataclass(frozen=True)
class Flows:
    """What may connect into one namespace, beyond its own pods (every port a chart's pods listen on, from
    the pinned chart's values.yaml and templates; recheck when versions.CHARTS moves)."""

    from_nodes: tuple[int, ...] = ()
    """Ports the API server (webhooks, aggregated APIs) and the kubelet (probes) call, from the node CIDRs."""
    from_monitoring: tuple[int, ...] = ()
    """Metrics ports Prometheus scrapes."""
    from_namespaces: tuple[tuple[str, dict[str, str], tuple[int, ...]], ...] = ()
    """(source namespace, pod labels in this namespace, ports): other cross-namespace flows."""
    deny_egress: bool = False
    """Also deny egress by default (pods that need egress carry their own policy)."""
    same_namespace: bool = True
    """Admit traffic between the namespace's own pods (operators talking to their webhooks, Prometheus to
    Alertmanager); False where each pod's own policy says who may connect (tiers, the rate-limit store)."""


# external-secrets 2.9.0 values.yaml: controller metrics 8080 and health 8082, webhook 10250 (API server) and
# health 8081, cert-controller metrics 8080 and health 8081.
# keda 2.20.2 values.yaml: metrics API server 6443 (the API server's aggregated API; probes too), admission
# webhooks 9443, operator and webhook health 8081, Prometheus metrics 8080 (operator gRPC 9666 stays inside).
# cert-manager v1.21.2: webhook 10250 (values webhook.securePort) and health 6080, controller health 9403,
# metrics 9402 (controller, cainjector, webhook; chart templates' defaults).
# kube-prometheus-stack 88.3.0: Prometheus 9090 (also KEDA's scaler queries), Alertmanager 9093, Grafana 3000,
# operator 10250 (its admission webhook, API server), kube-state-metrics 8080/8081, config reloaders 8080,
# DCGM exporter 9400; node-exporter uses the host network (no NetworkPolicy applies to it).
PLATFORM_FLOWS: dict[str, Flows] = {
    naming.EXTERNAL_SECRETS_NAMESPACE: Flows(from_nodes=(10250, 8081, 8082), from_monitoring=(8080,)),
    naming.KEDA_NAMESPACE: Flows(from_nodes=(6443, 9443, 8081), from_monitoring=(8080,)),
    naming.CERT_MANAGER_NAMESPACE: Flows(from_nodes=(10250, 6080, 9403), from_monitoring=(9402,)),
    # external-dns chart 1.21.1 (kubernetes-sigs/external-dns charts/external-dns values.yaml): one container
    # port, http 7979, serving /healthz (kubelet probes) and /metrics.
    naming.EXTERNAL_DNS_NAMESPACE: Flows(from_nodes=(dns.METRICS_PORT,), from_monitoring=(dns.METRICS_PORT,)),
    naming.MONITORING_NAMESPACE: Flows(
        from_nodes=(9090, 9093, 3000, 10250, 8080, 8081, 9400),
        from_namespaces=((naming.KEDA_NAMESPACE, {"app.kubernetes.io/name": "prometheus"}, (9090,)),)),
    # ai-gateway-helm v1.1.0 (manifests/charts/ai-gateway-helm values.yaml, templates/deployment.yaml): the
    # controller's mutating webhook 9443 (API server), gRPC 1063 (Envoy Gateway's extension-manager calls;
    # also its liveness/readiness probes), metrics 8080.
    naming.AI_GATEWAY_NAMESPACE: Flows(from_nodes=(9443, 1063), from_monitoring=(8080,),
                                       from_namespaces=((naming.ENVOY_GATEWAY_NAMESPACE, {}, (1063,)),)),
    # Every pod here has its own policy (tier servers, weight syncs): the default covers anything else.
    naming.TIERS_NAMESPACE: Flows(deny_egress=True, same_namespace=False),
    # The rate-limit store has its own ingress policy and needs no egress.
    naming.GATEWAY_NAMESPACE: Flows(deny_egress=True, same_namespace=False),
}


def network_policies(namespace: str, flows: Flows, node_cidrs: Sequence[str],
                     monitoring_namespace: str = naming.MONITORING_NAMESPACE) -> list[dict[str, Any]]:
    """The namespace's baseline policies (pure): default deny, its own pods, and ``flows``."""
    def tcp(ports: Sequence[int]) -> list[dict[str, Any]]:
        return [{"port": p, "protocol": "TCP"} for p in ports]

    def policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": name, "namespace": namespace,
                             "labels": naming.k8s_labels("namespace-baseline", namespace)},
                "spec": spec}

    out = [policy("default-deny", {"podSelector": {},
                                   "policyTypes": ["Ingress", "Egress"] if flows.deny_egress else ["Ingress"]})]
    ingress: list[dict[str, Any]] = [{"from": [{"podSelector": {}}]}] if flows.same_namespace else []
    if flows.from_nodes and node_cidrs:
        ingress.append({"from": [{"ipBlock": {"cidr": c}} for c in node_cidrs], "ports": tcp(flows.from_nodes)})
    if flows.from_monitoring and namespace != monitoring_namespace:
        ingress.append({"from": [naming.namespace_peer(monitoring_namespace)], "ports": tcp(flows.from_monitoring)})
    if ingress:
        out.append(policy("allow-platform-ingress", {"podSelector": {}, "policyTypes": ["Ingress"],
                                                     "ingress": ingress}))
    for source, labels, ports in flows.from_namespaces:
        out.append(policy(f"allow-from-{source}", {
            "podSelector": {"matchLabels": dict(labels)}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [naming.namespace_peer(source)], "ports": tcp(ports)}]}))
    return out


DEFAULT_NAMESPACES: dict[str, PodSecurityLevel] = {
    # TGI runs as root in its image: baseline is the strictest level it passes.
    naming.TIERS_NAMESPACE: "baseline",
    naming.GATEWAY_NAMESPACE: "restricted",
    # node-exporter and the DCGM exporter need host access.
    naming.MONITORING_NAMESPACE: "privileged",
    # Operators installed by Helm: created here first so they carry Pod Security labels too.
    naming.EXTERNAL_SECRETS_NAMESPACE: "baseline",
    naming.KEDA_NAMESPACE: "baseline",
    naming.ENVOY_GATEWAY_NAMESPACE: "baseline",
    # Envoy AI Gateway's controller (its chart's pod and container security contexts pass restricted).
    naming.AI_GATEWAY_NAMESPACE: "restricted",
}
"""The namespaces the platform's components run in, and the Pod Security level each enforces."""
DEFAULT_EXTRA_LABELS: dict[str, dict[str, str]] = {
    # The AWS Load Balancer Controller gives the Envoy proxy pods a readiness gate on their NLB target's
    # health (kubernetes-sigs/aws-load-balancer-controller v3.5.0 docs/deploy/pod_readiness_gate.md): a
    # rollout replaces a proxy only once the NLB sends to its successor.
    naming.ENVOY_GATEWAY_NAMESPACE: {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"},
}
POD_SECURITY_LEVELS: tuple[str, ...] = ("privileged", "baseline", "restricted")


class NamespacesArgs(TypedDict, total=False):
    """Inputs of :class:`Namespaces`."""

    namespaces: dict[str, str]
    """Namespace name -> Pod Security level to enforce (``privileged``, ``baseline`` or ``restricted``).
    Default: the platform's namespaces (``DEFAULT_NAMESPACES``: llm-tiers, llm-gateway, monitoring,
    external-secrets, keda, envoy-gateway-system, envoy-ai-gateway-system)."""
    extra_labels: dict[str, dict[str, str]]
    """Namespace name -> labels besides the Pod Security ones. Default: the Load Balancer Controller's
    readiness-gate injection on Envoy Gateway's namespace (``DEFAULT_EXTRA_LABELS``)."""
    node_cidrs: list[str]
    """Where the API server's webhook calls and the kubelet's probes come from (the VPC CIDR on EKS); empty:
    those flows are not admitted, so leave ``network_policies`` off on a cluster where they are unknown.
    Default: none."""
    network_policies: Optional[bool]
    """Create each namespace's baseline NetworkPolicies (``PLATFORM_FLOWS``; namespaces not listed there, such
    as Envoy Gateway's whose policies the Gateway component writes, get none here). Default: only when
    ``node_cidrs`` is given (without it, webhook calls and probes would be refused)."""


def platform_namespaces(cert_manager: bool = False, external_dns: bool = False,
                        node_cidrs: Sequence[str] = ()) -> NamespacesArgs:
    """The default namespaces, plus cert-manager's when the gateway's TLS uses it and ExternalDNS's when the
    stack manages its DNS record (the chart's pod passes ``restricted``)."""
    extra: dict[str, PodSecurityLevel] = {naming.CERT_MANAGER_NAMESPACE: "baseline"} if cert_manager else {}
    if external_dns:
        extra[naming.EXTERNAL_DNS_NAMESPACE] = "restricted"
    return NamespacesArgs(namespaces={**DEFAULT_NAMESPACES, **extra},
                          extra_labels={k: dict(v) for k, v in DEFAULT_EXTRA_LABELS.items()},
                          node_cidrs=list(node_cidrs))


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of a ``NamespacesArgs`` value, each at its ``args.`` path: namespace names (RFC 1123
    labels), Pod Security levels, labels only for namespaces it creates, node CIDRs."""
    from llm_tiers.arguments import cidr_issues

    issues = arguments.shape_issues(args, NamespacesArgs)
    if issues:
        return issues
    namespaces = arguments.get(args, "namespaces", DEFAULT_NAMESPACES)
    for name, level in namespaces.items():
        if not _DNS_LABEL.match(name) or len(name) > 63:
            issues.append(ConfigIssue(f"args.namespaces.{name}", f"{name!r} is not a namespace name: lowercase "
                                                                 "letters, digits and '-', at most 63 characters"))
        if level not in POD_SECURITY_LEVELS:
            issues.append(ConfigIssue(f"args.namespaces.{name}", f"{level!r} is not a Pod Security level; use one "
                                                                 f"of {', '.join(POD_SECURITY_LEVELS)}"))
    for name, labels in arguments.get(args, "extra_labels", {}).items():
        if name not in namespaces:
            issues.append(ConfigIssue(f"args.extra_labels.{name}", f"{name!r} is not among args.namespaces, so no "
                                                                   "namespace would carry these labels; add it there"))
        for key in labels:
            if key.startswith("pod-security.kubernetes.io/"):
                issues.append(ConfigIssue(f"args.extra_labels.{name}.{key}", "Pod Security labels come from "
                                          "args.namespaces (the level to enforce); remove it here"))
    issues += cidr_issues(args.get("node_cidrs"), "args.node_cidrs")
    if args.get("network_policies") and not args.get("node_cidrs"):
        issues.append(ConfigIssue("args.network_policies", "true without args.node_cidrs would refuse the API "
                                  "server's webhook calls and the kubelet's probes: give node_cidrs (the VPC CIDR)"))
    return issues


class Namespaces(pulumi.ComponentResource):
    """Creates namespaces; pass the cluster's provider in ``opts.providers``. See docs/components/namespaces.md.

    The Namespace resources are the Python property ``resources`` (what later components wait for); a program in
    another language waits on the Namespaces component itself (``dependsOn``)."""

    names: dict[str, pulumi.Output[str]]
    """Namespace name -> Output of the created name."""

    def __init__(self, resource_name: str, args: NamespacesArgs = NamespacesArgs(),  # noqa: B008 (never mutated)
                 opts: Optional[pulumi.ResourceOptions] = None):
        # Every problem at its args path, before anything (this component included) is registered.
        arguments.refuse("Namespaces", resource_name, args_issues(args))
        super().__init__(naming.type_token("Namespaces"), resource_name, None, opts)
        namespaces = arguments.get(args, "namespaces", DEFAULT_NAMESPACES)
        extra_labels = arguments.get(args, "extra_labels", DEFAULT_EXTRA_LABELS)
        node_cidrs = list(arguments.get(args, "node_cidrs", []))
        wanted = arguments.get(args, "network_policies", bool(node_cidrs))
        self.names, self._resources = {}, []
        for name, level in sorted(namespaces.items()):
            ns = k8s.core.v1.Namespace(
                f"{resource_name}-{name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=name, labels={**namespace_labels(level), **extra_labels.get(name, {})}),
                opts=pulumi.ResourceOptions(parent=self))
            self.names[name] = ns.metadata.name
            self._resources.append(ns)
            if wanted and name in PLATFORM_FLOWS:
                for np in network_policies(name, PLATFORM_FLOWS[name], node_cidrs):
                    k8s.networking.v1.NetworkPolicy(
                        f"{resource_name}-{name}-{np['metadata']['name']}",
                        metadata=np["metadata"], spec=np["spec"],
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[ns]))
        self.register_outputs({"names": self.names})

    @property
    def resources(self) -> list[k8s.core.v1.Namespace]:
        """The Namespace resources, to depend on."""
        return self._resources
