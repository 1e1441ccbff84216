"""The cluster domain's rules on the Cluster component's args, and how a stack-file rule's key path is restated at
an ``args.`` path.

Pure. The stack's loader checks the ``cluster`` section with ``config.schema._check_cluster`` (paths such as
``cluster.systemNodeGroup.desiredSize``); the component runs the same check on its own ``settings`` and names each
problem at its ``args.`` path (``args.settings.system_node_group.desired_size``), so a composed Cluster is refused
exactly as a stack file would be.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Optional

from pydantic import BaseModel

from llm_tiers import arguments
from llm_tiers.config.base import DNS_LABEL
from llm_tiers.config.issues import ConfigIssue
from llm_tiers.config.schema import ClusterConfig

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def restated(issues: Iterable[ConfigIssue], stack_prefix: str, args_prefix: str,
             model: type[BaseModel]) -> list[ConfigIssue]:
    """Stack-file issues under ``stack_prefix`` (camelCase keys of ``model``) at ``args_prefix`` with the Python key
    names: ``cluster.publicAccessCidrs[1]`` -> ``args.settings.public_access_cidrs[1]``. The message is kept."""
    out = []
    for issue in issues:
        if not issue.path.startswith(stack_prefix):
            raise ValueError(f"{issue.path!r} is not under {stack_prefix!r}")
        parts: list[Any] = [m.group(1) if m.group(1) is not None else int(m.group(2))
                            for m in _PART.finditer(issue.path[len(stack_prefix):])]
        loc = arguments._python_loc(model, parts)
        out.append(ConfigIssue(args_prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc),
                               issue.message))
    return out


def settings_issues(settings: ClusterConfig, path: str = "args.settings") -> list[ConfigIssue]:
    """What the stack loader checks on the ``cluster`` section (versions, CIDRs, the public endpoint's sources, the
    node group's sizes, the kubeconfig role), at ``path``."""
    from llm_tiers.config.schema import _check_cluster  # the loader's rule (moves to this module, issue 27)

    return restated(_check_cluster(settings), "cluster", path, ClusterConfig)


def region_issues(region: str, settings: Optional[ClusterConfig], zones: Optional[list[str]]) -> list[ConfigIssue]:
    """The loader's ``aws:region`` check: a known region, whose zones the settings and ``availability_zones`` pin."""
    from types import SimpleNamespace

    from llm_tiers.config.schema import check_region

    issues = []
    # check_region reads only the config's `cluster` (and `gateway`, absent here).
    stand_in = SimpleNamespace(cluster=settings) if settings is not None else None
    for issue in check_region(region, stand_in):  # type: ignore[arg-type]
        if issue.path == "aws:region":
            issues.append(ConfigIssue("args.region", issue.message.replace("run `pulumi config set aws:region "
                                                                           "us-east-1`", "e.g. us-east-1")))
        else:
            issues += restated([issue._replace(message=issue.message.replace("aws:region", "args.region"))],
                               "cluster", "args.settings", ClusterConfig)
    for i, zone in enumerate(zones or ()):
        if zone[:-1] != region:
            issues.append(ConfigIssue(f"args.availability_zones[{i}]", f"{zone} is not a zone of args.region "
                                                                       f"{region}; use {region}a, {region}b, ..."))
    return issues


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
        issues.append(ConfigIssue("args.name", f"{name!r} is not a usable cluster name: lowercase letters, digits "
                                               "and '-', starting and ending with a letter or digit, at most 38 "
                                               "characters"))
    settings, found = arguments.section(ClusterConfig, args["settings"], "args.settings")
    issues += found
    if settings is not None:
        issues += settings_issues(settings)
        if settings.name is not None and settings.name != name:
            issues.append(ConfigIssue("args.settings.name", f"{settings.name!r} differs from args.name {name!r}, "
                                                            "which names the cluster: leave it out or make them equal"))
    zones: Optional[list[str]] = args.get("availability_zones")
    if zones is not None:
        if not 2 <= len(zones) <= 4:
            issues.append(ConfigIssue("args.availability_zones", f"lists {len(zones)} zone(s); use 2 to 4"))
        if len(set(zones)) != len(zones):
            issues.append(ConfigIssue("args.availability_zones", "lists a zone twice"))
    issues += region_issues(args["region"], settings, zones)
    return issues


def settings_of(args: Mapping[str, Any]) -> ClusterConfig:
    """The validated ``settings`` as the config model (checked args only)."""
    settings, _ = arguments.section(ClusterConfig, args["settings"], "args.settings")
    assert settings is not None
    return settings
