"""The gateway domain's rules: the ``gateway`` section, tenants and their grants, and the feature names.

Pure. The stack's loader calls them with the stack-file prefixes; the Gateway component calls them on its own args.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llm_tiers.cluster.rules import cidr_list_issues
from llm_tiers.config.gateway import GatewayConfig
from llm_tiers.config.issues import ConfigIssue, duplicates
from llm_tiers.secrets.rules import tenant_name_issues


def tenant_issues(tenants: Sequence[Any], tier_names: Sequence[str], prefix: str = "tenants") -> list[ConfigIssue]:
    """Tenant names unique and usable; every granted tier exists (``prefix``: ``tenants`` in a stack file)."""
    issues = tenant_name_issues(tenants, prefix)
    for i, tenant in enumerate(tenants):
        for j, tier in enumerate(tenant.tiers):
            if tier not in tier_names:
                issues.append(ConfigIssue(f"{prefix}[{i}].tiers[{j}]", f"unknown tier {tier!r}; tiers are: "
                                          f"{', '.join(tier_names) or 'none'}"))
    return issues


def gateway_issues(gw: GatewayConfig, prefix: str = "gateway") -> list[ConfigIssue]:
    """The ``gateway`` section's rules (``prefix``: ``gateway`` in a stack file)."""
    issues = cidr_list_issues(gw.source_cidrs, f"{prefix}.sourceCidrs")
    if gw.load_balancer_scheme == "internet-facing" and not gw.source_cidrs:
        issues.append(ConfigIssue(f"{prefix}.sourceCidrs", "required when loadBalancerScheme is internet-facing "
                                  "(use 0.0.0.0/0 explicitly to accept any client)"))
    if gw.tls.mode == "acm" and not gw.tls.certificate_arn:
        issues.append(ConfigIssue(f"{prefix}.tls.certificateArn", "required with tls.mode: acm"))
    if gw.tls.mode == "acm" and gw.tls.issuer:
        issues.append(ConfigIssue(f"{prefix}.tls.issuer", "only used with tls.mode: cert-manager; remove it"))
    if gw.tls.mode == "cert-manager" and not gw.tls.issuer:
        issues.append(ConfigIssue(f"{prefix}.tls.issuer", "required with tls.mode: cert-manager (the name of an "
                                  "existing ClusterIssuer, or Issuer in the gateway's namespace)"))
    if gw.dns is not None and not (gw.hostname == gw.dns.zone_name or gw.hostname.endswith(f".{gw.dns.zone_name}")):
        issues.append(ConfigIssue(f"{prefix}.dns.zoneName", f"gateway.hostname {gw.hostname} is not in zone "
                                  f"{gw.dns.zone_name}; set zoneName (and hostedZoneId) to the zone that holds the "
                                  "hostname, or change the hostname"))
    if gw.tls.mode == "cert-manager" and gw.tls.certificate_arn:
        issues.append(ConfigIssue(f"{prefix}.tls.certificateArn", "only used with tls.mode: acm (with cert-manager, "
                                  "Envoy terminates TLS with the issued certificate); remove it"))
    return issues


def feature_issues(features: Sequence[str], prefix: str = "gateway") -> list[ConfigIssue]:
    """``gateway.features``: unique names, none of the values the gateway writes itself."""
    issues = []
    for j, name in enumerate(features):
        if name in ("other", "none"):
            issues.append(ConfigIssue(f"{prefix}.features[{j}]", f"{name!r} is reserved: the gateway sends it for an "
                                      "unlisted (`other`) or missing (`none`) x-llm-feature header; rename it"))
    for name, idx in duplicates(list(features)).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"{prefix}.features[{i}]", f"lists {name!r} twice"))
    return issues
