"""The GPU domain's rules on the GpuCapacity and WarmCapacity components' args.

Pure. The stack's loader checks each ``gpuClasses.<name>`` with ``config.schema._check_gpu_class`` (catalog
instance types, one GPU model per class) and ``_check_warm_nodes``; the components run the same checks on their own
``gpu_classes`` and name each problem at its ``args.`` path (``args.gpu_classes.l4.instance_types[0]``), so a
composed component is refused exactly as a stack file would be. What needs the tiers (a class's GPU budget for a
rollout at ``replicas.max``) stays with the stack, which knows them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from llm_tiers import arguments
from llm_tiers.cluster.rules import restated
from llm_tiers.config.base import DNS_LABEL
from llm_tiers.config.issues import ConfigIssue
from llm_tiers.config.schema import GpuClassConfig
from llm_tiers.gpu import karpenter


def gpu_classes_of(value: Mapping[str, Any], path: str) -> tuple[dict[str, GpuClassConfig], list[ConfigIssue]]:
    """Each class validated as the stack file's ``gpuClasses.<name>`` (its name a DNS label of at most 40
    characters, its keys by the model), then the loader's ``_check_gpu_class``; the classes that validated."""
    from llm_tiers.config.schema import _check_gpu_class  # the loader's rule (moves to this module, issue 27)

    classes, issues = {}, []
    if not value:
        issues.append(ConfigIssue(path, "lists no GPU class: give at least one (e.g. l4: {instance_types: "
                                        "[g6.xlarge], max_gpus: 4})"))
    for name, spec in value.items():
        if not re.fullmatch(DNS_LABEL, name) or len(name) > 40:
            issues.append(ConfigIssue(f"{path}.{name}", f"{name!r} is not a class name: lowercase letters, digits "
                                                        "and '-', at most 40 characters (it names the NodePool)"))
            continue
        cls, found = arguments.section(GpuClassConfig, spec, f"{path}.{name}")
        issues += found
        if cls is not None:
            issues += restated(_check_gpu_class(name, cls), f"gpuClasses.{name}", f"{path}.{name}", GpuClassConfig)
            classes[name] = cls
    return classes, issues


def capacity_args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of a ``GpuCapacityArgs`` value, each at its ``args.`` path."""
    from llm_tiers.gpu.component import GpuCapacityArgs

    issues = arguments.shape_issues(args, GpuCapacityArgs)
    if issues:
        return issues
    _, issues = gpu_classes_of(args["gpu_classes"], "args.gpu_classes")
    if not args["region"]:
        issues.append(ConfigIssue("args.region", "required: the cluster's AWS region, e.g. us-east-1"))
    if not isinstance(args["cluster_name"], str) and not args.get("name_prefix"):
        issues.append(ConfigIssue("args.name_prefix", "required when cluster_name is an Output (another "
                                                      "resource's): the cluster name as a plain string, for the "
                                                      "names of the AWS resources"))
    jobs = arguments.get(args, "weight_sync_jobs", 0)
    if jobs < 0:
        issues.append(ConfigIssue("args.weight_sync_jobs", f"must be 0 or more (got {jobs})"))
    if jobs > 0 and karpenter.SYNC_POOL in args["gpu_classes"]:
        issues.append(ConfigIssue(f"args.gpu_classes.{karpenter.SYNC_POOL}", "is the name of the weight-sync "
                                  "NodePool this component adds when weight_sync_jobs > 0: rename the class"))
    return issues


def warm_args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of a ``WarmCapacityArgs`` value, each at its ``args.`` path: the classes as GpuCapacity checks
    them, and per class with ``warm_nodes`` the loader's ``_check_warm_nodes`` (whole nodes within ``max_gpus``)
    and the engine images its placeholders hold (the class's tiers' images: none means no tier to wake)."""
    from llm_tiers.config.schema import _check_warm_nodes  # the loader's rule (moves to this module, issue 27)
    from llm_tiers.gpu.warm_component import WarmCapacityArgs
    from llm_tiers.tracing.rules import namespace_issues

    issues = arguments.shape_issues(args, WarmCapacityArgs)
    if issues:
        return issues
    classes, issues = gpu_classes_of(args["gpu_classes"], "args.gpu_classes")
    images: Mapping[str, list[str]] = arguments.get(args, "images", {})
    for name in images:
        if name not in args["gpu_classes"]:
            issues.append(ConfigIssue(f"args.images.{name}", f"no GPU class {name!r} in args.gpu_classes; known: "
                                                             f"{', '.join(sorted(args['gpu_classes'])) or 'none'}"))
    for name, cls in sorted(classes.items()):
        if not cls.warm_nodes:
            continue
        if not images.get(name):
            issues.append(ConfigIssue(f"args.images.{name}", f"class {name!r} keeps {cls.warm_nodes} warm node(s) "
                                      "but lists no engine image: list the images its tiers run (a placeholder "
                                      "holds them on the node), or set its warm_nodes to 0"))
            continue
        # The loader's rule, for a class whose tiers are the ones running the images listed for it.
        runs_on_it = [SimpleNamespace(gpu_class=name)]
        issues += restated(_check_warm_nodes(name, cls, runs_on_it),  # type: ignore[arg-type]
                           f"gpuClasses.{name}", f"args.gpu_classes.{name}", GpuClassConfig)
        for j, image in enumerate(images[name]):
            name_part, _, tag = image.rsplit("/", 1)[-1].rpartition(":")
            if "@" not in image and (not name_part or tag == "latest"):
                issues.append(ConfigIssue(f"args.images.{name}[{j}]", f"{image!r} is not pinned: give a tag other "
                                                                      "than latest, or a digest (image@sha256:...)"))
    issues += namespace_issues(args, ("namespace",))
    return issues
