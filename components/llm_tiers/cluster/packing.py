"""Placing a set of system workloads on nodes of one instance type (pure): first-fit decreasing, honouring the
workloads' placement rules (DaemonSets first, required anti-affinity, balanced spreads, preferred spreads), and
what each node then has left. ``llm_tiers.stack.system_capacity`` runs it for a stack's workloads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from llm_tiers.cluster.system_capacity import SystemInstanceType, Workload, fmt_cpu, fmt_memory


@dataclass
class NodeUse:
    """What one node runs after packing."""

    cpu_m: int = 0
    memory_mi: int = 0
    pods: list[str] = field(default_factory=list)
    groups: dict[str, int] = field(default_factory=dict)
    """Pods per workload name on this node."""


@dataclass(frozen=True)
class Fit:
    """The result of packing a stack's system pods onto ``nodes`` nodes of ``instance_type``."""

    instance_type: SystemInstanceType
    nodes: int
    node_use: tuple[NodeUse, ...]
    unplaced: tuple[str, ...]
    """Pods that found no node (``<workload>-<n>``)."""
    requested_cpu_m: int
    requested_memory_mi: int
    pod_count: int

    @property
    def fits(self) -> bool:
        return not self.unplaced

    @property
    def allocatable_cpu_m(self) -> int:
        return self.instance_type.allocatable_cpu_m * self.nodes

    @property
    def allocatable_memory_mi(self) -> int:
        return self.instance_type.allocatable_memory_mi * self.nodes

    @property
    def headroom_cpu_m(self) -> int:
        return self.allocatable_cpu_m - self.requested_cpu_m

    @property
    def headroom_memory_mi(self) -> int:
        return self.allocatable_memory_mi - self.requested_memory_mi

    @property
    def headroom_cpu_percent(self) -> float:
        return 100 * self.headroom_cpu_m / self.allocatable_cpu_m

    @property
    def headroom_memory_percent(self) -> float:
        return 100 * self.headroom_memory_mi / self.allocatable_memory_mi

    def summary(self) -> str:
        it = self.instance_type
        return (
            f"{self.nodes} x {it.name} allocate {fmt_cpu(self.allocatable_cpu_m)} and "
            f"{fmt_memory(self.allocatable_memory_mi)} ({fmt_cpu(it.allocatable_cpu_m)}, "
            f"{fmt_memory(it.allocatable_memory_mi)}, {it.max_pods} pods each after kube-reserved and the "
            f"eviction threshold); the system pods request {fmt_cpu(self.requested_cpu_m)} and "
            f"{fmt_memory(self.requested_memory_mi)} ({self.pod_count} pods)"
        )


def pack(workloads: Sequence[Workload], instance_type: SystemInstanceType, nodes: int) -> Fit:
    """First-fit decreasing of ``workloads`` onto ``nodes`` identical nodes (see the module docstring)."""
    it = instance_type
    use = [NodeUse() for _ in range(nodes)]
    unplaced: list[str] = []
    requested_cpu = requested_mem = pod_count = 0

    def room(n: NodeUse, w: Workload) -> bool:
        return (
            n.cpu_m + w.cpu_m <= it.allocatable_cpu_m
            and n.memory_mi + w.memory_mi <= it.allocatable_memory_mi
            and len(n.pods) < it.max_pods
        )

    def place(n: NodeUse, w: Workload, pod: str) -> None:
        n.cpu_m += w.cpu_m
        n.memory_mi += w.memory_mi
        n.pods.append(pod)
        n.groups[w.name] = n.groups.get(w.name, 0) + 1

    for w in (w for w in workloads if w.placement == "daemonset"):
        for i, n in enumerate(use):
            requested_cpu, requested_mem, pod_count = (
                requested_cpu + w.cpu_m,
                requested_mem + w.memory_mi,
                pod_count + 1,
            )
            if room(n, w):
                place(n, w, w.name)
            else:
                unplaced.append(f"{w.name} (node {i + 1})")

    def size(w: Workload) -> float:
        return max(w.cpu_m / max(it.allocatable_cpu_m, 1), w.memory_mi / max(it.allocatable_memory_mi, 1))

    pods = sorted(
        ((w, r) for w in workloads if w.placement != "daemonset" for r in range(w.replicas)),
        key=lambda p: (-size(p[0]), p[0].name, p[1]),
    )
    for w, r in pods:
        pod = f"{w.name}-{r}"
        requested_cpu, requested_mem, pod_count = requested_cpu + w.cpu_m, requested_mem + w.memory_mi, pod_count + 1
        counts = [n.groups.get(w.name, 0) for n in use]
        if w.placement == "required":
            candidates = [i for i in range(nodes) if counts[i] == 0]
        elif w.placement == "balanced":
            candidates = [i for i in range(nodes) if counts[i] == min(counts)]
        elif w.placement == "preferred":
            candidates = sorted(range(nodes), key=lambda i: (counts[i], i))
        else:
            candidates = list(range(nodes))
        chosen = next((i for i in candidates if room(use[i], w)), None)
        if chosen is None:
            unplaced.append(pod)
        else:
            place(use[chosen], w, pod)
    return Fit(it, nodes, tuple(use), tuple(unplaced), requested_cpu, requested_mem, pod_count)


