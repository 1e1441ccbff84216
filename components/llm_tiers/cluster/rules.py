"""The cluster domain's rules: what a ``cluster`` section (ClusterConfig) must satisfy beyond its types.

Pure. The stack's loader (llm_tiers.stack) calls them with the stack-file prefix ``cluster``; the Cluster component
calls them on its own args (``args.settings``), so a composed cluster is checked the same way.

The component runs the same :func:`cluster_issues` on its own ``settings`` (the loader's paths are like
``cluster.systemNodeGroup.desiredSize``) and names each problem at its ``args.`` path
(``args.settings.system_node_group.desired_size``), so a composed Cluster is refused
exactly as a stack file would be.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any, Optional


from llm_tiers import arguments
from llm_tiers.arguments import restated
from llm_tiers import versions
from llm_tiers.cluster.operator_access import HOURLY_USD as RELAY_HOURLY_USD
from llm_tiers.config.base import DNS_LABEL, LOG_RETENTION_DAYS, _cidr
from llm_tiers.config.cluster import ClusterConfig
from llm_tiers.config.issues import ConfigIssue


def cidr_list_issues(values: Iterable[str], path: str) -> list[ConfigIssue]:
    """Each entry a CIDR, none listed twice (as the same network, however written)."""
    issues = []
    seen: dict[Any, int] = {}
    for i, value in enumerate(values):
        try:
            net = ipaddress.ip_network(_cidr(value), strict=False)
        except ValueError as exc:
            issues.append(ConfigIssue(f"{path}[{i}]", f"{value!r} is {exc}"))
            continue
        if net in seen:
            issues.append(ConfigIssue(f"{path}[{i}]", f"{value} is listed twice (first at {path}[{seen[net]}]); "
                                      "remove one"))
        seen.setdefault(net, i)
    return issues


def cluster_issues(c: ClusterConfig, prefix: str = "cluster") -> list[ConfigIssue]:
    """The ``cluster`` section's rules (``prefix``: where it sits, ``cluster`` in a stack file)."""
    issues: list[ConfigIssue] = []
    if c.kubernetes_version not in versions.SUPPORTED_KUBERNETES_VERSIONS:
        issues.append(
            ConfigIssue(
                f"{prefix}.kubernetesVersion",
                f"{c.kubernetes_version!r} is not supported; use one of "
                f"{', '.join(versions.SUPPORTED_KUBERNETES_VERSIONS)} "
                "(add-on pins live in components/llm_tiers/versions.py)",
            )
        )
    try:
        vpc = ipaddress.IPv4Network(_cidr(c.vpc_cidr))
        if not 16 <= vpc.prefixlen <= 20:
            issues.append(
                ConfigIssue(
                    f"{prefix}.vpcCidr",
                    f"{c.vpc_cidr} is a /{vpc.prefixlen}; use a /16 to /20 "
                    "so every zone gets a large private subnet for pod IPs",
                )
            )
        if not vpc.is_private:
            issues.append(ConfigIssue(f"{prefix}.vpcCidr", f"{c.vpc_cidr} is not a private (RFC 1918) range"))
    except ValueError as exc:
        issues.append(ConfigIssue(f"{prefix}.vpcCidr", f"{c.vpc_cidr!r} is {exc}"))
    issues += cidr_list_issues(c.public_access_cidrs, f"{prefix}.publicAccessCidrs")
    try:
        vpc_net = ipaddress.ip_network(_cidr(c.vpc_cidr), strict=False)
        for i, value in enumerate(c.public_access_cidrs):
            try:
                net = ipaddress.ip_network(_cidr(value), strict=False)
            except ValueError:
                continue
            if net.version == vpc_net.version and net.overlaps(vpc_net):
                issues.append(
                    ConfigIssue(
                        f"{prefix}.publicAccessCidrs[{i}]",
                        (
                            f"{value} overlaps the VPC ({c.vpc_cidr}): the public endpoint sees public source "
                            "addresses only (traffic from inside the VPC uses the private endpoint), so this entry "
                            "admits no one it means to; list the public CIDRs of your office / VPN / NAT gateways"
                        ),
                    )
                )
    except ValueError:
        pass
    if c.endpoint_public_access and not c.public_access_cidrs:
        issues.append(
            ConfigIssue(
                f"{prefix}.publicAccessCidrs",
                "required when endpointPublicAccess is true: list "
                "the CIDRs allowed to reach the API (the AWS default is the whole internet)",
            )
        )
    if not c.endpoint_public_access and c.public_access_cidrs:
        issues.append(
            ConfigIssue(
                f"{prefix}.publicAccessCidrs",
                "has no effect while endpointPublicAccess is false; remove it or set endpointPublicAccess: true",
            )
        )
    if c.availability_zones and len(set(c.availability_zones)) != len(c.availability_zones):
        issues.append(ConfigIssue(f"{prefix}.availabilityZones", "lists a zone twice"))
    if c.log_retention_days not in LOG_RETENTION_DAYS:
        issues.append(
            ConfigIssue(
                f"{prefix}.logRetentionDays",
                f"{c.log_retention_days} is not a CloudWatch "
                f"retention; use one of {', '.join(map(str, LOG_RETENTION_DAYS))}",
            )
        )
    ng = c.system_node_group
    if not ng.min_size <= ng.desired_size <= ng.max_size:
        issues.append(
            ConfigIssue(
                f"{prefix}.systemNodeGroup.desiredSize",
                f"must be between minSize ({ng.min_size}) and maxSize ({ng.max_size}); got {ng.desired_size}",
            )
        )
    if c.kubeconfig_role_arn and c.kubeconfig_role_arn not in c.admin_role_arns:
        issues.append(
            ConfigIssue(
                f"{prefix}.kubeconfigRoleArn",
                "must be one of adminRoleArns, or the Kubernetes provider cannot manage the cluster",
            )
        )
    if len(set(c.admin_role_arns)) != len(c.admin_role_arns):
        issues.append(ConfigIssue(f"{prefix}.adminRoleArns", "lists a role twice"))
    relay = c.operator_access.instance_type
    if relay not in RELAY_HOURLY_USD:
        issues.append(
            ConfigIssue(
                f"{prefix}.operatorAccess.instanceType",
                f"{relay} is not one of the relay types "
                f"plan.md can price: {', '.join(RELAY_HOURLY_USD)} (got {relay!r})",
            )
        )
    if len(set(c.control_plane_log_types)) != len(c.control_plane_log_types):
        issues.append(ConfigIssue(f"{prefix}.controlPlaneLogTypes", "lists a log type twice"))
    return issues


# Commercial AWS regions (Regions and Zones table, AWS General Reference). A region outside this list is
# refused at its key; add one here when AWS opens it (and check that EKS and the GPU types exist there).
AWS_REGIONS = (
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "us-gov-east-1",
    "us-gov-west-1",
)


def region_issues(region: str, path: str) -> list[ConfigIssue]:
    """``region`` is a commercial AWS region (``path``: ``aws:region`` in a stack, ``args.region`` in args)."""
    if region in AWS_REGIONS:
        return []
    guess = difflib.get_close_matches(region, AWS_REGIONS, n=2)
    hint = f"did you mean {' or '.join(f'`{g}`' for g in guess)}? " if guess else ""
    return [
        ConfigIssue(
            path,
            f"{region!r} is not an AWS region; {hint}use one of {', '.join(AWS_REGIONS)} "
            "(components/llm_tiers/cluster/rules.py AWS_REGIONS)",
        )
    ]


def settings_issues(settings: ClusterConfig, path: str = "args.settings") -> list[ConfigIssue]:
    """What the stack loader checks on the ``cluster`` section (versions, CIDRs, the public endpoint's sources, the
    node group's sizes, the kubeconfig role), at ``path``."""

    return restated(cluster_issues(settings), "cluster", path, ClusterConfig)


def args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of a ``ClusterArgs`` value, each at its ``args.`` path."""
    from llm_tiers.cluster.component import ClusterArgs

    issues = arguments.shape_issues(args, ClusterArgs)
    if issues:
        return issues
    name = args["name"]
    # The stack file's cluster.name rule (config/cluster.py): an RFC 1123 label of at most 38 characters (it
    # prefixes IAM role names such as "<name>-aws-ebs-csi-driver", which AWS caps at 64).
    if not re.fullmatch(DNS_LABEL, name) or len(name) > 38:
        issues.append(
            ConfigIssue(
                "args.name",
                f"{name!r} is not a usable cluster name: lowercase letters, digits "
                "and '-', starting and ending with a letter or digit, at most 38 "
                "characters",
            )
        )
    settings, found = arguments.section(ClusterConfig, args["settings"], "args.settings")
    issues += found
    if settings is not None:
        issues += settings_issues(settings)
        if settings.name is not None and settings.name != name:
            issues.append(
                ConfigIssue(
                    "args.settings.name",
                    f"{settings.name!r} differs from args.name {name!r}, "
                    "which names the cluster: leave it out or make them equal",
                )
            )
    zones: Optional[list[str]] = args.get("availability_zones")
    if zones is not None:
        if not 2 <= len(zones) <= 4:
            issues.append(ConfigIssue("args.availability_zones", f"lists {len(zones)} zone(s); use 2 to 4"))
        if len(set(zones)) != len(zones):
            issues.append(ConfigIssue("args.availability_zones", "lists a zone twice"))
    issues += cluster_region_issues(args["region"], settings, zones)
    return issues


def settings_of(args: Mapping[str, Any]) -> ClusterConfig:
    """The validated ``settings`` as the config model (checked args only)."""
    settings, _ = arguments.section(ClusterConfig, args["settings"], "args.settings")
    assert settings is not None
    return settings


def cluster_region_issues(
    region: str, settings: Optional[ClusterConfig], zones: Optional[list[str]]
) -> list[ConfigIssue]:
    """A composed Cluster's region: a known one (as ``aws:region`` is checked), whose zones the settings and
    ``availability_zones`` pin."""
    issues = [ConfigIssue(i.path, i.message) for i in region_issues(region, "args.region")]
    for i, zone in enumerate((settings.availability_zones or []) if settings is not None and not issues else []):
        if zone[:-1] != region:
            issues.append(
                ConfigIssue(
                    f"args.settings.availability_zones[{i}]",
                    f"{zone} is not a zone of args.region {region}; use {region}a, {region}b, ...",
                )
            )
    for i, zone in enumerate(zones or ()):
        if zone[:-1] != region:
            issues.append(
                ConfigIssue(
                    f"args.availability_zones[{i}]",
                    f"{zone} is not a zone of args.region {region}; use {region}a, {region}b, ...",
                )
            )
    return issues
