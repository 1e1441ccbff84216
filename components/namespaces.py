"""Namespaces: the platform's Kubernetes namespaces with Pod Security Admission labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Optional

import pulumi
import pulumi_kubernetes as k8s

from . import naming

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
class NamespacesArgs:
    """Inputs of :class:`Namespaces`."""

    namespaces: Mapping[str, PodSecurityLevel] = field(default_factory=lambda: {
        # TGI runs as root in its image: baseline is the strictest level it passes.
        naming.TIERS_NAMESPACE: "baseline",
        naming.GATEWAY_NAMESPACE: "restricted",
        # node-exporter and the DCGM exporter need host access.
        naming.MONITORING_NAMESPACE: "privileged",
        # Operators installed by Helm: created here first so they carry Pod Security labels too.
        naming.EXTERNAL_SECRETS_NAMESPACE: "baseline",
        naming.KEDA_NAMESPACE: "baseline",
        naming.ENVOY_GATEWAY_NAMESPACE: "baseline",
    })
    """Namespace name -> Pod Security level to enforce."""

    @classmethod
    def for_platform(cls, cert_manager: bool = False, external_dns: bool = False) -> "NamespacesArgs":
        """The default namespaces, plus cert-manager's when the gateway's TLS uses it and ExternalDNS's when the
        stack manages its DNS record (the chart's pod passes ``restricted``)."""
        extra: dict[str, PodSecurityLevel] = {naming.CERT_MANAGER_NAMESPACE: "baseline"} if cert_manager else {}
        if external_dns:
            extra[naming.EXTERNAL_DNS_NAMESPACE] = "restricted"
        return cls(namespaces={**cls().namespaces, **extra})


class Namespaces(pulumi.ComponentResource):
    """Creates namespaces; pass the cluster's provider in ``opts.providers``."""

    names: dict[str, pulumi.Output[str]]
    """Namespace name -> Output of the created name."""
    resources: list[k8s.core.v1.Namespace]
    """The Namespace resources, to depend on."""

    def __init__(self, resource_name: str, args: Optional[NamespacesArgs] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(naming.type_token("Namespaces"), resource_name, None, opts)
        args = args or NamespacesArgs()
        self.names, self.resources = {}, []
        for name, level in sorted(args.namespaces.items()):
            ns = k8s.core.v1.Namespace(
                f"{resource_name}-{name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels=namespace_labels(level)),
                opts=pulumi.ResourceOptions(parent=self))
            self.names[name] = ns.metadata.name
            self.resources.append(ns)
        self.register_outputs({"names": self.names})
