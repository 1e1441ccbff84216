"""The GPU domain's rules: a GPU class (GpuClassConfig) and what the tiers on it demand of it.

Pure. The stack's loader calls them with the stack-file prefix ``gpuClasses``; the GpuCapacity and WarmCapacity
components call them on their own args.

The components run the same :func:`gpu_class_issues` (catalog instance types, one GPU model per class) and
:func:`warm_nodes_issues` on their own
``gpu_classes`` and name each problem at its ``args.`` path (``args.gpu_classes.l4.instance_types[0]``), so a
composed component is refused exactly as a stack file would be. What needs the tiers (a class's GPU budget for a
rollout at ``replicas.max``) stays with the stack, which knows them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from llm_tiers import arguments
from llm_tiers.arguments import restated
from llm_tiers.config.base import DNS_LABEL
from llm_tiers.config.gpu import GpuClassConfig
from llm_tiers.config.issues import ConfigIssue
from llm_tiers.config.tiers import TierConfig
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.gpu import karpenter


def gpu_class_issues(name: str, cls: GpuClassConfig, prefix: str = "gpuClasses") -> list[ConfigIssue]:
    """One GPU class's rules (``prefix``: the map it sits in, ``gpuClasses`` in a stack file)."""
    path = f"{prefix}.{name}.instanceTypes"
    issues: list[ConfigIssue] = []
    if len(set(cls.instance_types)) != len(cls.instance_types):
        issues.append(ConfigIssue(path, "lists an instance type twice"))
    unknown = False
    for j, itype in enumerate(cls.instance_types):
        try:
            gpu_catalog.lookup(itype)
        except gpu_catalog.UnknownInstanceType as exc:
            unknown = True
            issues.append(ConfigIssue(f"{path}[{j}]", f"{exc.args[0]}; add it to components/llm_tiers/gpu/catalog.py "
                                      "with its GPU model, count, memory and price"))
    if not unknown:
        try:
            gpu_catalog.class_gpu(list(cls.instance_types))
        except ValueError as exc:
            issues.append(ConfigIssue(path, f"{exc}; split it into one class per GPU model"))
    if cls.image_pull == "soci-parallel" and not unknown:
        issues += _fast_pull_issues(name, cls, prefix)
    return issues


def _fast_pull_issues(name: str, cls: GpuClassConfig, prefix: str) -> list[ConfigIssue]:
    """nodeadm ignores its FastImagePull gate on a machine below 4 vCPUs or 7 GiB (gpu/karpenter.py, "image pull"):
    such a type in a soci-parallel class would pull sequentially from a slower, dearer volume without saying so."""
    small = [t for t in cls.instance_types
             if gpu_catalog.lookup(t).vcpus < karpenter.FAST_IMAGE_PULL_MIN_VCPUS
             or gpu_catalog.lookup(t).memory_gib < karpenter.FAST_IMAGE_PULL_MIN_MEMORY_GIB]
    if not small:
        return []
    return [ConfigIssue(f"{prefix}.{name}.imagePull",
                        f"soci-parallel needs at least {karpenter.FAST_IMAGE_PULL_MIN_VCPUS} vCPUs and "
                        f"{karpenter.FAST_IMAGE_PULL_MIN_MEMORY_GIB} GiB on every node (nodeadm ignores its "
                        f"FastImagePull gate below that), and {', '.join(small)} has less; drop those types or set "
                        "imagePull: containerd")]


def gpu_demand(tiers: Sequence[TierConfig], gpu_class: str) -> list[tuple[str, int]]:
    """(what, GPUs) the class must hold at once, worst case: every release of every tier on it at
    ``replicas.max``, plus one surge replica per release (rollouts use ``maxSurge: 1``, ``maxUnavailable: 0``,
    and an image or flag change rolls every tier at once)."""
    out = []
    for t in tiers:
        if t.gpu_class != gpu_class:
            continue
        releases = 2 if t.candidate is not None else 1
        gpus = releases * (max(t.replicas.max, 1) + 1) * t.gpus_per_replica
        out.append((f"{t.name}: {releases} release(s) x ({t.replicas.max} + 1 surge) x {t.gpus_per_replica} GPU(s)",
                    gpus))
    return out


def gpu_budget_issues(name: str, cls: GpuClassConfig, tiers: Sequence[TierConfig],
                      prefix: str = "gpuClasses") -> list[ConfigIssue]:
    demand = gpu_demand(tiers, name)
    need = sum(g for _, g in demand)
    if need <= cls.max_gpus:
        return []
    return [ConfigIssue(f"{prefix}.{name}.maxGpus", f"{cls.max_gpus} GPUs cannot hold a rollout at replicas.max: "
                        f"{'; '.join(w for w, _ in demand)} = {need} GPUs (Karpenter launches nothing past the "
                        f"NodePool's limit, so the surge replica would stay Pending and the update time out); "
                        f"raise maxGpus to {need} or lower replicas.max")]


def warm_nodes_issues(name: str, cls: GpuClassConfig, tiers: Sequence[TierConfig],
                      prefix: str = "gpuClasses") -> list[ConfigIssue]:
    """Warm capacity (gpu/warm.py) holds whole nodes of the smallest type, within maxGpus, for the class's tiers."""
    if not cls.warm_nodes:
        return []
    path = f"{prefix}.{name}.warmNodes"
    if not any(t.gpu_class == name for t in tiers):
        return [ConfigIssue(path, f"no tier runs on class {name!r}, so its warm nodes would wait for nothing; "
                                  "remove warmNodes or point a tier's gpuClass at it")]
    try:
        per_node = min(gpu_catalog.lookup(t).gpu_count for t in cls.instance_types)
    except gpu_catalog.UnknownInstanceType:
        return []  # reported at instanceTypes
    if cls.warm_nodes * per_node > cls.max_gpus:
        return [ConfigIssue(path, f"{cls.warm_nodes} warm node(s) x {per_node} GPU(s) exceed maxGpus "
                                  f"({cls.max_gpus}): Karpenter would launch only part of them; lower warmNodes or "
                                  "raise maxGpus")]
    return []


def plannable_gpu_classes(gpu_classes: Mapping[str, GpuClassConfig]) -> dict[str, GpuClassConfig]:
    """The classes the capacity planner can use: every instance type in the catalog, one GPU model."""
    return {n: c for n, c in gpu_classes.items() if not gpu_class_issues(n, c)}


def gpu_classes_of(value: Mapping[str, Any], path: str) -> tuple[dict[str, GpuClassConfig], list[ConfigIssue]]:
    """Each class validated as the stack file's ``gpuClasses.<name>`` (its name a DNS label of at most 40
    characters, its keys by the model), then :func:`gpu_class_issues`; the classes that validated."""

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
            issues += restated(gpu_class_issues(name, cls), f"gpuClasses.{name}", f"{path}.{name}", GpuClassConfig)
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
    them, and per class with ``warm_nodes`` ``warm_nodes_issues`` (whole nodes within ``max_gpus``)
    and the engine images its placeholders hold (the class's tiers' images: none means no tier to wake)."""
    from llm_tiers.gpu.warm_component import WarmCapacityArgs
    from llm_tiers.arguments import namespace_issues

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
        issues += restated(warm_nodes_issues(name, cls, runs_on_it),  # type: ignore[arg-type]
                           f"gpuClasses.{name}", f"args.gpu_classes.{name}", GpuClassConfig)
        for j, image in enumerate(images[name]):
            name_part, _, tag = image.rsplit("/", 1)[-1].rpartition(":")
            if "@" not in image and (not name_part or tag == "latest"):
                issues.append(ConfigIssue(f"args.images.{name}[{j}]", f"{image!r} is not pinned: give a tag other "
                                                                      "than latest, or a digest (image@sha256:...)"))
    issues += namespace_issues(args, ("namespace",))
    return issues
