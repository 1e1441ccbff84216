"""The gateway domain's rules: the ``gateway`` section, tenants and their grants, and the feature names.

Pure. The stack's loader calls them with the stack-file prefixes; the Gateway component calls them on its own args.

The gateway domain's rules on its components' args: Gateway, Dns, LoadBalancerController (pure).

Each component calls its ``*_args_issues`` first and refuses with every problem at its ``args.`` path before it
registers anything, so a composed gateway is checked as the stack's loader checks a stack file's ``gateway`` and
``tenants`` sections: the same rules (:func:`gateway_issues`, :func:`tenant_issues`, :func:`feature_issues`,
tiers/rules.py's fallback rule, the tiers' unique names and model names, and the per-object limits the
routes cannot be split around, ``aigw.limit_issues``), with the stack file's paths (``gateway.sourceCidrs``)
re-prefixed to the args' (``args.settings.source_cidrs``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from llm_tiers import arguments
from llm_tiers.arguments import cidr_issues
from llm_tiers import naming
from llm_tiers.cluster.rules import cidr_list_issues, region_issues
from llm_tiers.config.base import DNS_NAME
from llm_tiers.config.issues import ConfigIssue, duplicates
from llm_tiers.config.schema import DnsConfig, GatewayConfig, TenantConfig, TierConfig
from llm_tiers.secrets.rules import tenant_name_issues
from llm_tiers.tiers import rules as tier_rules


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


DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")


GATEWAY_DEFAULTS: dict[str, Any] = {
    "namespace": naming.GATEWAY_NAMESPACE,
    "tiers_namespace": naming.TIERS_NAMESPACE,
    "system_node_selector": {},
    "monitoring": True,
    "node_cidrs": [],
    "monitoring_namespace": naming.MONITORING_NAMESPACE,
    "install_controller": True,
    "trace_to": None,
    "trace_sampling_percent": 10,
    "trace_collector_labels": {},
}


DNS_DEFAULTS: dict[str, Any] = {
    "gateway_name": "llm-gateway",
    "gateway_namespace": naming.GATEWAY_NAMESPACE,
    "namespace": naming.EXTERNAL_DNS_NAMESPACE,
    "system_node_selector": {},
    "node_cidrs": [],
    "monitoring_namespace": naming.MONITORING_NAMESPACE,
    "environment": None,
    "tags": {},
    "name_prefix": None,
}


LOAD_BALANCER_CONTROLLER_DEFAULTS: dict[str, Any] = {
    "system_node_selector": {},
    "environment": None,
    "tags": {},
    "name_prefix": None,
}


# Stack-file section -> the Gateway's arg holding it.
_SECTIONS = (("gateway", "args.settings"), ("tiers", "args.tiers"), ("tenants", "args.tenants"))


def args_path(path: str) -> str:
    """A stack-file key path as the Gateway's args path: ``gateway.tls.certificateArn`` ->
    ``args.settings.tls.certificate_arn``, ``tenants[0].tiers[1]`` -> ``args.tenants[0].tiers[1]``."""
    for stack, arg in _SECTIONS:
        if path == stack or path.startswith((f"{stack}.", f"{stack}[")):
            path = arg + path[len(stack):]
            break
    return arguments.snake_path(path)


def _moved(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    return [ConfigIssue(args_path(i.path), i.message) for i in issues]


def _names(args: Mapping[str, Any], keys: tuple[str, ...], pattern: re.Pattern[str], what: str,
           longest: int, path: str = "args") -> list[ConfigIssue]:
    return [ConfigIssue(f"{path}.{k}", f"{args[k]!r} is not {what}: use lowercase letters, digits and '-', at most "
                                     f"{longest} characters")
            for k in keys if isinstance(args.get(k), str) and not (pattern.match(args[k]) and len(args[k]) <= longest)]




def _region(region: Any, path: str = "args.region") -> list[ConfigIssue]:
    if not region:
        return [ConfigIssue(path, "required: the AWS region, e.g. us-east-1")]
    return region_issues(region, path)


@dataclass(frozen=True)
class GatewaySections:
    """A checked ``GatewayArgs``' config sections as the config models the builders take."""

    settings: GatewayConfig
    tiers: list[TierConfig]
    tenants: list[TenantConfig]


def gateway_sections(args: Mapping[str, Any]) -> tuple[Optional[GatewaySections], list[ConfigIssue]]:
    """The sections validated by their models (problems at ``args.settings.<key>``, ``args.tiers[i].<key>``, ...)."""
    gw, issues = arguments.section(GatewayConfig, args["settings"], "args.settings")
    tiers, found = arguments.sections(TierConfig, args["tiers"], "args.tiers")
    issues += found
    tenants, found = arguments.sections(TenantConfig, args["tenants"], "args.tenants")
    issues += found
    if issues or gw is None:
        return None, issues
    return GatewaySections(gw, tiers, tenants), []


def tier_issues(tiers: list[TierConfig]) -> list[ConfigIssue]:
    """What the stack's loader checks across the tiers the gateway routes to (stack paths ``tiers[i]...``): unique
    names, every model name (name or alias) selecting one tier, fallback names."""
    return tier_rules.tier_name_issues(tiers) + tier_rules.fallback_issues(tiers)


def section_issues(gw: GatewayConfig, tiers: list[TierConfig], tenants: list[TenantConfig]) -> list[ConfigIssue]:
    """The stack loader's rules on the ``gateway``, ``tenants`` and (as the gateway routes them) ``tiers``
    sections, at stack paths: a tenant granted a tier that is not among ``tiers`` is one of them."""
    from llm_tiers.gateway import aigw

    issues = tier_issues(tiers)
    issues += [ConfigIssue(path, message) for path, message in aigw.limit_issues(tiers, tenants, gw)]
    issues += tenant_issues(tenants, [t.name for t in tiers])
    issues += gateway_issues(gw)
    issues += feature_issues(gw.features)
    return issues


def gateway_args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of a ``GatewayArgs`` value, each at its ``args.`` path."""
    from llm_tiers.gateway.component import GatewayArgs

    issues = arguments.shape_issues(args, GatewayArgs)
    if issues:
        return issues
    sections, issues = gateway_sections(args)
    if sections is not None:
        issues += _moved(section_issues(sections.settings, sections.tiers, sections.tenants))
    issues += _names(args, ("namespace", "tiers_namespace", "monitoring_namespace"), DNS_LABEL, "a namespace name", 63)
    issues += _names(args, ("tenant_keys_secret", "gateway_class"), DNS_SUBDOMAIN, "a Kubernetes object name", 253)
    issues += cidr_issues(args.get("node_cidrs"), "args.node_cidrs")
    percent = args.get("trace_sampling_percent")
    if percent is not None and not 0 <= percent <= 100:
        issues.append(ConfigIssue("args.trace_sampling_percent", f"{percent} is not a percentage; give 0 to 100"))
    trace = args.get("trace_to")
    if trace:
        issues += _names(trace, ("name",), DNS_LABEL, "a Service name", 63, "args.trace_to")
        issues += _names(trace, ("namespace",), DNS_LABEL, "a namespace name", 63, "args.trace_to")
        if not 1 <= trace["port"] <= 65535:
            issues.append(ConfigIssue("args.trace_to.port", f"{trace['port']} is not a port; give 1 to 65535 (the "
                                                            "collector's OTLP gRPC port, 4317)"))
    return issues


def tier_services_issues(tier_services: Mapping[str, Any], args: Mapping[str, Any]) -> list[ConfigIssue]:
    """``tier_services`` (Python only) names tiers among ``args.tiers``: a key that does not would leave that
    tier's route waiting for nothing, and the Service it meant untouched."""
    tiers = args.get("tiers") if isinstance(args, Mapping) else None
    names = {t.get("name") if isinstance(t, Mapping) else getattr(t, "name", None) for t in (tiers or [])}
    return [
        ConfigIssue(
            f"tier_services.{k}",
            f"{k!r} is not a tier in args.tiers ({', '.join(sorted(map(str, names - {None}))) or 'none'}); "
            "key each Service by its tier's name",
        )
        for k in tier_services
        if k not in names
    ]


def gateway_resolved(args: Mapping[str, Any]) -> dict[str, Any]:
    """The (checked) args with every default filled in."""
    from llm_tiers.gateway import manifests as gm  # imports this package's load_balancer_controller, which imports us
    from llm_tiers.secrets.component import TENANT_KEYS_SECRET

    defaults = {**GATEWAY_DEFAULTS, "tenant_keys_secret": TENANT_KEYS_SECRET, "gateway_class": gm.GATEWAY_CLASS}
    return {**defaults, **{k: v for k, v in args.items() if v is not None}}


def trace_target(trace_to: Optional[Mapping[str, Any]]) -> Optional[tuple[str, str, int]]:
    """``trace_to`` as the builders take it: (Service name, namespace, port)."""
    return (trace_to["name"], trace_to["namespace"], int(trace_to["port"])) if trace_to else None


def dns_args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of a ``DnsArgs`` value, each at its ``args.`` path: the zone id, zone name and owner id as the
    stack file's ``gateway.dns`` takes them, every hostname a DNS name in that zone, namespaces, CIDRs, region."""
    from llm_tiers.gateway.dns import DnsArgs

    issues = arguments.shape_issues(args, DnsArgs)
    if issues:
        return issues
    zone = {k: args[k] for k in ("hosted_zone_id", "zone_name", "txt_owner_id")}
    _, found = arguments.section(DnsConfig, zone, "args")
    issues += found
    if not args["hostnames"]:
        issues.append(ConfigIssue("args.hostnames", "empty: give the hostname(s) the gateway serves"))
    zone_name = args["zone_name"]
    for i, host in enumerate(args["hostnames"]):
        if not re.match(DNS_NAME, host):
            issues.append(
                ConfigIssue(
                    f"args.hostnames[{i}]",
                    f"{host!r} is not a DNS name (lowercase labels separated by dots, e.g. llm.example.com)",
                )
            )
        elif not (host == zone_name or host.endswith(f".{zone_name}")):
            issues.append(
                ConfigIssue(
                    f"args.hostnames[{i}]",
                    f"{host} is not in zone {zone_name}; ExternalDNS's "
                    "domain filter and IAM policy would never let it write the record: give a name "
                    "in the zone, or the zone (and hosted_zone_id) that holds it",
                )
            )
    issues += _names(
        args, ("gateway_namespace", "namespace", "monitoring_namespace"), DNS_LABEL, "a namespace name", 63
    )
    issues += _names(args, ("gateway_name",), DNS_SUBDOMAIN, "a Kubernetes object name", 253)
    issues += cidr_issues(args.get("node_cidrs"), "args.node_cidrs")
    issues += _region(args["region"])
    return issues


def dns_resolved(args: Mapping[str, Any]) -> dict[str, Any]:
    return {**DNS_DEFAULTS, **{k: v for k, v in args.items() if v is not None}}


def load_balancer_controller_args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of a ``LoadBalancerControllerArgs`` value, each at its ``args.`` path."""
    from llm_tiers.gateway.load_balancer_controller import LoadBalancerControllerArgs

    issues = arguments.shape_issues(args, LoadBalancerControllerArgs)
    if issues:
        return issues
    issues += _region(args["region"])
    vpc = args["vpc_id"]
    if isinstance(vpc, str) and not VPC_ID.match(vpc):
        issues.append(
            ConfigIssue(
                "args.vpc_id", f"{vpc!r} is not a VPC id (vpc- and 8 or 17 hex digits, e.g. vpc-0a1b2c3d4e5f60718)"
            )
        )
    return issues


def load_balancer_controller_resolved(args: Mapping[str, Any]) -> dict[str, Any]:
    return {**LOAD_BALANCER_CONTROLLER_DEFAULTS, **{k: v for k, v in args.items() if v is not None}}
