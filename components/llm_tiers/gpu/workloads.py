"""GpuCapacity's system pods (pure), as the system capacity check counts them. The weight-sync Jobs run on their
own NodePool (gpu/karpenter.py sync_node_pool), not on the system nodes."""

from __future__ import annotations

from llm_tiers.cluster.system_capacity import KARPENTER, KARPENTER_REPLICAS, Workload


def workloads() -> list[Workload]:
    # The chart's default affinity: required anti-affinity on the hostname, zone spread.
    return [Workload("karpenter", "helm:karpenter", (KARPENTER,), KARPENTER_REPLICAS, "required")]
