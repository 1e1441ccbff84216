"""Tracing: an OpenTelemetry Collector (pinned Helm chart) on the system nodes. It receives the engines' and the
gateway's OTLP spans, adds ``tier``, ``inference.backend``, ``model_id`` and ``release`` from the sending pod (the
gateway's spans carry ``tenant``), and exports to the endpoint from config. See docs/components/tracing.md.

A thin ComponentResource over ``tracing_manifests`` (pure). Pass the cluster's Kubernetes provider in
``opts.providers``. Point the tiers' ``otlp_endpoint`` and the gateway's tracing at ``otlp_endpoint``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from llm_tiers import helm
from llm_tiers import naming
from llm_tiers.tracing import manifests as otm


@dataclass(frozen=True)
class TracingArgs:
    """Inputs of :class:`Tracing`."""

    export_endpoint: str
    """OTLP gRPC endpoint the collector exports to (``observability.tracing.otlpEndpoint``)."""
    namespace: str = naming.MONITORING_NAMESPACE
    """Where the collector runs."""
    tiers_namespace: str = naming.TIERS_NAMESPACE
    """Where the engines run (admitted to send spans)."""
    gateway_namespace: str = naming.ENVOY_GATEWAY_NAMESPACE
    """Where the gateway's Envoy proxies run (admitted to send spans)."""
    system_node_selector: dict[str, str] = field(default_factory=dict)
    """Where the collector runs: the system node group."""
    node_cidrs: Sequence[str] = ()
    """Where the kubelet's probes come from (the VPC CIDR on EKS), admitted to the health_check port."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Create after these (the namespace, the system nodes)."""


class Tracing(pulumi.ComponentResource):
    """The OpenTelemetry Collector. See docs/components/tracing.md."""

    otlp_endpoint: str
    """The collector's OTLP gRPC address in the cluster (``http://otel-collector.<namespace>.svc.cluster.local:4317``)."""
    service_name: str
    """Name of the collector's Service."""
    namespace: str
    """The collector's namespace."""
    ready: list[pulumi.Resource]
    """What a span sender waits for (the collector's Helm release)."""

    def __init__(self, resource_name: str, args: TracingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(naming.type_token("Tracing"), resource_name, None, opts)
        release = helm.release(f"{resource_name}-collector", "opentelemetry-collector", name=otm.RELEASE,
                     namespace=args.namespace, values=otm.values(args.export_endpoint, args.system_node_selector),
                     opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)))
        np = otm.network_policy(args.namespace, args.tiers_namespace, args.gateway_namespace, args.export_endpoint,
                                 args.node_cidrs)
        k8s.networking.v1.NetworkPolicy(f"{resource_name}-collector", metadata=np["metadata"], spec=np["spec"],
                                        opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)))
        # What an OTLP sender waits for: the collector's release (its Service). Not the NetworkPolicy that admits
        # the senders: a sender uses nothing of it (tests/test_rollout.py, no needless edges).
        self.ready: list[pulumi.Resource] = [release]
        self.otlp_endpoint = otm.otlp_endpoint(args.namespace)
        self.service_name = otm.FULLNAME
        self.namespace = args.namespace
        self.register_outputs({"otlpEndpoint": self.otlp_endpoint, "serviceName": self.service_name})
