"""Tracing: an OpenTelemetry Collector (pinned Helm chart) on the system nodes. It receives the engines' and the
gateway's OTLP spans, adds ``tier``, ``inference.backend``, ``model_id`` and ``release`` from the sending pod (the
gateway's spans carry ``tenant``), and exports to the endpoint from config. See docs/components/tracing.md.

A thin ComponentResource over ``tracing_manifests`` (pure). Pass the cluster's Kubernetes provider in
``opts.providers``. Point the tiers' ``otlp_endpoint`` and the gateway's tracing at ``otlp_endpoint``.
"""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
from collections.abc import Sequence
from typing import Optional, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from llm_tiers import arguments
from llm_tiers import helm
from llm_tiers import naming
from llm_tiers.tracing import manifests as otm
from llm_tiers.tracing import rules


class TracingArgs(TypedDict, total=False):
    """Inputs of :class:`Tracing`."""

    export_endpoint: Required[str]
    """OTLP gRPC endpoint the collector exports to (``observability.tracing.otlpEndpoint``), as
    ``scheme://host:port``."""
    namespace: str
    """Where the collector runs. Default: ``monitoring``."""
    tiers_namespace: str
    """Where the engines run (admitted to send spans). Default: ``llm-tiers``."""
    gateway_namespace: str
    """Where the gateway's Envoy proxies run (admitted to send spans). Default: ``envoy-gateway-system``."""
    system_node_selector: dict[str, str]
    """Where the collector runs: the system node group. Default: any node."""
    node_cidrs: list[str]
    """Where the kubelet's probes come from (the VPC CIDR on EKS), admitted to the health_check port. Default:
    none (the port admits any source)."""


class Tracing(pulumi.ComponentResource):
    """The OpenTelemetry Collector. See docs/components/tracing.md.

    Python callers may also pass ``depends_on`` (keyword): resources the collector is created after (the namespace,
    the system nodes). Other languages use the resource option ``dependsOn``, which the component passes on to its
    children the same way."""

    otlp_endpoint: str
    """The collector's OTLP gRPC address in the cluster (``http://otel-collector.<namespace>.svc.cluster.local:4317``)."""
    service_name: str
    """Name of the collector's Service."""
    namespace: str
    """The collector's namespace."""

    def __init__(self, resource_name: str, args: TracingArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 depends_on: Sequence[pulumi.Resource] = ()):
        # Every problem at its args path, before anything (this component included) is registered.
        arguments.refuse("Tracing", resource_name, rules.args_issues(args))
        super().__init__(naming.type_token("Tracing"), resource_name, None, opts)
        a = rules.resolved(args)
        after = [*depends_on, *arguments.resources(opts.depends_on if opts else None)]
        release = helm.release(f"{resource_name}-collector", "opentelemetry-collector", name=otm.RELEASE,
                               namespace=a["namespace"],
                               values=otm.values(a["export_endpoint"], a["system_node_selector"]),
                               opts=pulumi.ResourceOptions(parent=self, depends_on=after))
        np = otm.network_policy(a["namespace"], a["tiers_namespace"], a["gateway_namespace"], a["export_endpoint"],
                                a["node_cidrs"])
        k8s.networking.v1.NetworkPolicy(f"{resource_name}-collector", metadata=np["metadata"], spec=np["spec"],
                                        opts=pulumi.ResourceOptions(parent=self, depends_on=after))
        # What an OTLP sender waits for: the collector's release (its Service). Not the NetworkPolicy that admits
        # the senders: a sender uses nothing of it (tests/test_rollout.py, no needless edges).
        self._ready: list[pulumi.Resource] = [release]
        self.otlp_endpoint = otm.otlp_endpoint(a["namespace"])
        self.service_name = otm.FULLNAME
        self.namespace = a["namespace"]
        self.register_outputs({"otlpEndpoint": self.otlp_endpoint, "serviceName": self.service_name})

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What a span sender waits for (the collector's Helm release)."""
        return self._ready
