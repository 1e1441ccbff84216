"""The GPU domain's rules: a GPU class (GpuClassConfig) and what the tiers on it demand of it.

Pure. The stack's loader calls them with the stack-file prefix ``gpuClasses``; the GpuCapacity and WarmCapacity
components call them on their own args.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
                        f"FastImagePull gate below that), and {', '.join(small)} has less; drop those types or set imagePull: "
                        "containerd")]


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
