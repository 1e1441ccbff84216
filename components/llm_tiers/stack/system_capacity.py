"""Whether a stack's system pods fit its system node group (pure): every component's workloads, summed and placed on
``desiredSize`` nodes of each listed instance type. The requests and the node model are data in
``llm_tiers.cluster.system_capacity`` (re-exported here); this module knows the whole stack, so it lives in the
stack layer. ``llm_tiers.stack.parse`` refuses a stack that does not fit; plan.md shows the per-node table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from llm_tiers.cluster.system_capacity import *  # noqa: F403  (the data, re-exported)
from llm_tiers.cluster.system_capacity import (  # the data this module uses
    CATALOG,
    WEIGHT_SYNC, Workload)
from llm_tiers.cluster.packing import Fit, NodeUse, pack  # noqa: F401  (NodeUse re-exported)
from llm_tiers.benchmark import workloads as benchmark_workloads
from llm_tiers.cluster import workloads as cluster_workloads
from llm_tiers.config.schema import StackConfig
from llm_tiers.evaluation import workloads as evaluation_workloads
from llm_tiers.gateway import workloads as gateway_workloads
from llm_tiers.gpu import workloads as gpu_workloads
from llm_tiers.observability import workloads as observability_workloads
from llm_tiers.secrets import workloads as secrets_workloads
from llm_tiers.tracing import workloads as tracing_workloads


def tier_releases(cfg: StackConfig) -> list[tuple[str, str]]:
    """(tier, cache) of every weight-sync Job: one per weights cache, and a cache holds one revision of one
    model (tier_manifests.cache_key), so a candidate of the same model and revision shares the live one's."""
    out = []
    for t in cfg.tiers:
        caches = {(t.model_id, t.revision)}
        if t.candidate:
            same_model = t.candidate.model_id in (None, t.model_id)
            caches.add((t.candidate.model_id or t.model_id,
                        t.candidate.revision or (t.revision if same_model else None)))
        out += [(t.name, f"{m}@{r or 'locked'}") for m, r in sorted(caches, key=str)]
    return out


def system_workloads(cfg: StackConfig) -> list[Workload]:
    """Every pod the stack runs on the system node group, with the requests and replicas it is given: what each
    component declares beside its builders (``<domain>/workloads.py``), summed in the order the check places them."""
    obs, gw = cfg.observability, cfg.gateway
    benchmarked = [t for t in cfg.tiers if t.name in cfg.benchmark.tiers]
    return [
        *cluster_workloads.node_agents(), *observability_workloads.node_agents(),
        *cluster_workloads.controllers(), *gpu_workloads.workloads(), *secrets_workloads.workloads(),
        *observability_workloads.workloads(obs), *gateway_workloads.workloads(gw),
        # ModelTier's weight-sync Jobs run on the weight-sync NodePool (weight_sync_report), not here.
        *(tracing_workloads.workloads() if obs.tracing.enabled else []),
        *benchmark_workloads.workloads(benchmarked),
        *evaluation_workloads.workloads([t for t in benchmarked if t.eval is not None]),
    ]


# --------------------------------------------------------------------------------------------------
# The check (stack/checks.py turns these into ConfigIssues) and what plan.md shows
# --------------------------------------------------------------------------------------------------

HEADROOM_WARNING_PERCENT = 15
MAX_SUGGESTED_NODES = 10


def fits_for(cfg: StackConfig, nodes: Optional[int] = None) -> list[Fit]:
    """One packing per listed instance type that the catalog knows, on ``nodes`` (default desiredSize)."""
    ng = cfg.cluster.system_node_group
    workloads = system_workloads(cfg)
    n = nodes if nodes is not None else ng.desired_size
    return [pack(workloads, CATALOG[t], n) for t in dict.fromkeys(ng.instance_types) if t in CATALOG]


def tightest(fits: Sequence[Fit]) -> Optional[Fit]:
    """The packing the stack is judged by: a misfit first, else the one with the least headroom."""
    if not fits:
        return None
    return min(fits, key=lambda f: (f.fits, min(f.headroom_cpu_percent, f.headroom_memory_percent)))


def _needs_more_nodes(workloads: Sequence[Workload], fit: Fit) -> Optional[Workload]:
    """A workload whose replicas must sit on distinct nodes but outnumber them."""
    return next((w for w in workloads if w.placement == "required" and w.replicas > fit.nodes), None)


def misfit_message(cfg: StackConfig, fit: Fit) -> tuple[str, str]:
    """(key, message) for a packing that does not fit: what is short, by how much, and what to do."""
    ng = cfg.cluster.system_node_group
    workloads = system_workloads(cfg)
    spread = _needs_more_nodes(workloads, fit)
    if spread is not None:
        return "desiredSize", (
            f"{spread.name} runs {spread.replicas} replicas that must be on different nodes (required pod "
            f"anti-affinity), but the group runs {fit.nodes} node(s); set desiredSize (and minSize) to at least "
            f"{spread.replicas}"
        )
    it = fit.instance_type
    shown = ", ".join(fit.unplaced[:4]) + (f" and {len(fit.unplaced) - 4} more" if len(fit.unplaced) > 4 else "")
    hints = []
    family = it.name.split(".")[0]
    bigger = sorted(
        (t for t in CATALOG.values() if t.name.split(".")[0] == family and t.vcpus > it.vcpus), key=lambda t: t.vcpus
    )
    for t in bigger:
        f = pack(workloads, t, fit.nodes)
        if f.fits:
            hints.append(
                f"use {t.name} instead of {it.name} ({fit.nodes} nodes then leave "
                f"{f.headroom_cpu_percent:.0f}% CPU and {f.headroom_memory_percent:.0f}% memory free)"
            )
            break
    for n in range(fit.nodes + 1, MAX_SUGGESTED_NODES + 1):
        if pack(workloads, it, n).fits:
            hints.append(f"raise desiredSize to {n}" + (f" (and maxSize to at least {n})" if n > ng.max_size else ""))
            break
    hints.append("lower the requests in components/llm_tiers/cluster/system_capacity.py")
    return "instanceTypes", (
        f"the system pods do not fit on {it.name}: {fit.summary()}; no room for {shown}. To fix: {'; or '.join(hints)}"
    )


def warnings(cfg: StackConfig) -> list[str]:
    """What the preview should show but not refuse: thin headroom, or a misfit at minSize."""
    ng = cfg.cluster.system_node_group
    out: list[str] = []
    fit = tightest(fits_for(cfg))
    if fit is None or not fit.fits:
        return out  # unknown types or a misfit are config errors, reported by llm_tiers.stack.parse
    low = min(fit.headroom_cpu_percent, fit.headroom_memory_percent)
    if low < HEADROOM_WARNING_PERCENT:
        out.append(
            f"cluster.systemNodeGroup: the system pods fit on {fit.nodes} x {fit.instance_type.name} with only "
            f"{fit.headroom_cpu_percent:.0f}% CPU and {fit.headroom_memory_percent:.0f}% memory free; a "
            "rolling update or one more tier release may leave pods Pending (use a larger type or more nodes)"
        )
    if ng.min_size < ng.desired_size:
        at_min = tightest(fits_for(cfg, ng.min_size))
        if at_min is not None and not at_min.fits:
            out.append(
                f"cluster.systemNodeGroup.minSize: the system pods do not fit on {ng.min_size} x "
                f"{at_min.instance_type.name}; scaling the group in to minSize would leave "
                f"{len(at_min.unplaced)} pod(s) Pending"
            )
    return out


def weight_sync_report(cfg: StackConfig) -> dict[str, Any]:
    """Where the weight-sync Jobs run: their own Karpenter NodePool, with the CPU limit that lets all of them
    run at once (gpu/karpenter.py)."""
    from llm_tiers.gpu import karpenter  # imports the config schema, which imports this module

    jobs = len(tier_releases(cfg))
    return {
        "nodePool": karpenter.SYNC_POOL,
        "jobs": jobs,
        "requested": {"cpuM": jobs * WEIGHT_SYNC.cpu_m, "memoryMi": jobs * WEIGHT_SYNC.memory_mi},
        "cpuLimit": karpenter.sync_cpu_limit(jobs, WEIGHT_SYNC.cpu_m) if jobs else 0,
    }


def report(cfg: StackConfig) -> dict[str, Any]:
    """The capacity table of plan.md (and the ``systemCapacity`` stack output): the tightest packing, and
    where the weight-sync Jobs run."""
    fit = tightest(fits_for(cfg))
    if fit is None:
        return {}
    it = fit.instance_type
    return {
        "instanceType": it.name,
        "nodes": fit.nodes,
        "fits": fit.fits,
        "allocatablePerNode": {"cpuM": it.allocatable_cpu_m, "memoryMi": it.allocatable_memory_mi, "pods": it.max_pods},
        "requested": {"cpuM": fit.requested_cpu_m, "memoryMi": fit.requested_memory_mi, "pods": fit.pod_count},
        "headroomPercent": {"cpu": round(fit.headroom_cpu_percent, 1), "memory": round(fit.headroom_memory_percent, 1)},
        "perNode": [
            {"node": i + 1, "cpuM": n.cpu_m, "memoryMi": n.memory_mi, "pods": len(n.pods)}
            for i, n in enumerate(fit.node_use)
        ],
        "unplaced": list(fit.unplaced),
        "weightSync": weight_sync_report(cfg),
    }
