"""The rollout plan: what the real Pulumi engine would do with a recorded program.

The mock engine answers every registration at once; the real one creates a resource only after everything
it depends on (``dependencies``, ``propertyDependencies`` and its provider, exactly as the SDK sent them),
waits for it as its provider's await rules say, and deletes in reverse. This module turns a render's
recording into that plan:

- create waves (the longest dependency chain to each resource), each resource's await condition, budget
  and estimated duration, and the critical path of a first ``pulumi up``;
- the delete order (a resource is deleted only after everything that depends on it);
- the time from zero to first token of every scale-to-zero tier.

Each resource's await (condition, budget, estimate) is awaits.py's; rollout_markdown.py writes rollout.md and
ordering.py checks the plan's edges (references without one, needless ones).

Await rules are pulumi-kubernetes' (provider/pkg/await/, provider/pkg/metadata/overrides.go,
provider/pkg/provider/helm_release.go) and pulumi-aws' default timeouts (the Terraform AWS provider's
resource docs, "Timeouts"). Estimates come from components/llm_tiers/timing.py, the same numbers that size the
manifests' deadlines. Pure: no Pulumi runtime here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from llm_tiers import timing
from llm_tiers.gpu.karpenter import WARM_CAPACITY_LABEL
from llm_tiers.tiers.manifests import TIER_LABEL

from llm_tiers.preview.mocks import Recording, RecordedResource
from llm_tiers.preview.awaits import (Await, await_of, delete_budget, engine_of, fallbacks, gpu_class_of, label,
                                     shards_of, weights_from_of,
                                     fast_pull_classes, node_pool_types, persisted_compile_cache, weights_of)

@dataclass
class Step:
    urn: str
    type: str
    name: str
    label: str
    depends_on: list[str]
    awaits: Await
    wave: int = 0
    delete_wave: int = 0
    finish_seconds: int = 0
    typical_finish_seconds: int = 0
    delete_budget_seconds: Optional[int] = None
    protect: bool = False
    retain_on_delete: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    stack: str
    steps: dict[str, Step]
    critical_path: list[str]
    scale_from_zero: list[dict[str, Any]]
    components: dict[str, str] = field(default_factory=dict)
    """Top-level component URN -> label (``Cluster cluster``, with how many resources it creates)."""
    component_edges: set[tuple[str, str]] = field(default_factory=set)
    """(component, component that waits for it), transitively reduced."""
    scale_out: list[dict[str, Any]] = field(default_factory=list)
    """Per autoscaled tier Deployment with replicas.min above 0: one more replica, on a fresh node and on warm
    capacity (the class's warm nodes, or what one would give: ``warmNodes`` 0 marks it as not configured)."""

    @property
    def critical_path_seconds(self) -> int:
        return self.steps[self.critical_path[-1]].finish_seconds if self.critical_path else 0

    @property
    def critical_path_typical_seconds(self) -> int:
        """The longest chain with typical durations (it may run through other resources than the slow-end one)."""
        return max((s.typical_finish_seconds for s in self.steps.values()), default=0)

    def waves(self) -> list[list[Step]]:
        out: dict[int, list[Step]] = {}
        for s in self.steps.values():
            out.setdefault(s.wave, []).append(s)
        return [sorted(out[w], key=lambda s: s.label) for w in sorted(out)]

    def delete_waves(self) -> list[list[Step]]:
        out: dict[int, list[Step]] = {}
        for s in self.steps.values():
            out.setdefault(s.delete_wave, []).append(s)
        return [sorted(out[w], key=lambda s: s.label) for w in sorted(out)]

    def ancestors(self, urn: str) -> set[str]:
        """Everything ``urn`` depends on, directly or through others (what is created before it and deleted
        after it)."""
        seen: set[str] = set()
        stack = list(self.steps[urn].depends_on)
        while stack:
            u = stack.pop()
            if u not in seen:
                seen.add(u)
                stack.extend(self.steps[u].depends_on)
        return seen


# ---------------------------------------------------------------------------------------------- plan


def nodes(recording: Recording) -> list[RecordedResource]:
    """What the engine creates as a step: custom resources and provider-constructed components."""
    return [r for r in recording.resources if r.custom or r.remote]


def edges(recording: Recording) -> dict[str, list[str]]:
    """URN -> the URNs it waits for: ``dependencies``, ``propertyDependencies`` and its provider. A component
    URN (the SDK normally expands these already) stands for every step below it."""
    steps = {r.urn for r in nodes(recording)}
    children: dict[str, list[str]] = {}
    for r in recording.resources:
        children.setdefault(r.parent, []).append(r.urn)

    def expand(urn: str) -> set[str]:
        if urn in steps:
            return {urn}
        out: set[str] = set()
        for c in children.get(urn, []):
            out |= expand(c)
        return out

    graph: dict[str, list[str]] = {}
    for r in nodes(recording):
        deps = set(r.dependencies)
        for urns in r.property_dependencies.values():
            deps.update(urns)
        if r.provider_urn:
            deps.add(r.provider_urn)
        resolved: set[str] = set()
        for d in deps:
            resolved |= expand(d)
        graph[r.urn] = sorted(resolved - {r.urn})
    return graph


def plan(stack: str, recording: Recording) -> Plan:
    graph = edges(recording)
    classes, fast_pull = node_pool_types(recording), fast_pull_classes(recording)
    steps: dict[str, Step] = {}
    for r in nodes(recording):
        steps[r.urn] = Step(
            urn=r.urn, type=r.type, name=r.name, label=label(r), depends_on=graph[r.urn],
            awaits=await_of(r, classes, fast_pull),
            delete_budget_seconds=delete_budget(r), protect=r.protect, retain_on_delete=r.retain_on_delete,
            options={k: v for k, v in (("customTimeouts", r.custom_timeouts), ("deleteBeforeReplace",
                                                                               r.delete_before_replace),
                                       ("replaceOnChanges", r.replace_on_changes),
                                       ("ignoreChanges", r.ignore_changes)) if v})
    order = _topological(steps)
    best: dict[str, Optional[str]] = {}
    for urn in order:
        s = steps[urn]
        prev = max(s.depends_on, key=lambda d: steps[d].finish_seconds, default=None)
        s.wave = 1 + max((steps[d].wave for d in s.depends_on), default=-1)
        s.finish_seconds = (steps[prev].finish_seconds if prev else 0) + s.awaits.estimate_seconds
        s.typical_finish_seconds = max((steps[d].typical_finish_seconds for d in s.depends_on),
                                       default=0) + s.awaits.typical
        best[urn] = prev
    dependents: dict[str, list[str]] = {u: [] for u in steps}
    for s in steps.values():
        for d in s.depends_on:
            dependents[d].append(s.urn)
    for urn in reversed(order):
        steps[urn].delete_wave = 1 + max((steps[d].delete_wave for d in dependents[urn]), default=-1)
    path: list[str] = []
    # Ties go to the first URN in sorted order: the recording's order follows the engine's async registration,
    # which varies between runs, and the render must not.
    cursor = max(sorted(steps), key=lambda u: steps[u].finish_seconds, default=None)
    while cursor:
        path.append(cursor)
        cursor = best[cursor]
    components, component_edges = _components(recording, steps)
    return Plan(stack, steps, list(reversed(path)), _scale_from_zero(recording), components, component_edges,
                _scale_from_zero(recording, from_zero=False))


def _components(recording: Recording, steps: dict[str, Step]) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """The program's top-level components (children of the stack) and which waits for which: component B
    waits for A when a step under B depends on a step under A (the same captured edges as the waves)."""
    by_urn = {r.urn: r for r in recording.resources}
    top: dict[str, str] = {}

    def owner(urn: str) -> str:
        if urn not in top:
            r = by_urn.get(urn)
            parent = by_urn.get(r.parent) if r else None
            top[urn] = urn if r is None or parent is None or parent.type == "pulumi:pulumi:Stack" else owner(r.parent)
        return top[urn]

    counts: dict[str, int] = {}
    for u in steps:
        counts[owner(u)] = counts.get(owner(u), 0) + 1
    names = {}
    for u, n in counts.items():
        r = by_urn.get(u)
        kind = r.type.split(":")[-1] if r else "?"
        names[u] = f"{kind} {r.name if r else u} ({n} resource{'s' if n != 1 else ''})" if r and not r.custom \
            else f"{steps[u].label if u in steps else kind}"
    edges = {(owner(d), owner(u)) for u, s in steps.items() for d in s.depends_on if owner(d) != owner(u)}
    from llm_tiers.preview import diagrams

    return names, diagrams.reduce(edges)


def _topological(steps: dict[str, Step]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(u: str, trail: list[str]) -> None:
        if state.get(u) == 2:
            return
        if state.get(u) == 1:
            raise ValueError("dependency cycle: " + " -> ".join(steps[x].label for x in [*trail, u]))
        state[u] = 1
        for d in steps[u].depends_on:
            visit(d, [*trail, u])
        state[u] = 2
        order.append(u)

    for u in sorted(steps):
        visit(u, [])
    return order


def warm_nodes(recording: Recording) -> dict[str, int]:
    """GPU class -> nodes held warm by its placeholder Deployment (gpu/warm.py), as rendered."""
    out: dict[str, int] = {}
    for r in recording.resources:
        meta = r.inputs.get("metadata") or {}
        cls = (meta.get("labels") or {}).get(WARM_CAPACITY_LABEL)
        if r.custom and r.inputs.get("kind") == "Deployment" and cls:
            out[cls] = out.get(cls, 0) + int((r.inputs.get("spec") or {}).get("replicas", 0))
    return out


def _breakdown(steps: list[timing.StepTime]) -> dict[str, Any]:
    return {"steps": [s.to_dict() for s in steps], "typicalSeconds": sum(s.typical_seconds for s in steps),
            "upperSeconds": sum(s.upper_seconds for s in steps), "budgetSeconds": sum(s.budget_seconds for s in steps)}


def _scale_from_zero(recording: Recording, from_zero: bool = True) -> list[dict[str, Any]]:
    """Per ScaledObject with minReplicaCount 0: a request at zero replicas until its first token, step by step,
    on a fresh node and (when its GPU class keeps warm nodes) on warm capacity. ``from_zero`` False: per
    ScaledObject with minReplicaCount above 0, one more replica (no trigger), on a fresh node and on warm capacity,
    the latter whether or not the class keeps warm nodes (``warmNodes`` says)."""
    objects = {(r.inputs.get("kind"), (r.inputs.get("metadata") or {}).get("namespace"),
                (r.inputs.get("metadata") or {}).get("name")): r for r in recording.resources if r.custom}
    scrape = [int(str(ep.get("interval", "30s")).rstrip("s"))
              for r in recording.resources if r.custom and r.inputs.get("kind") == "PodMonitor"
              for ep in (r.inputs.get("spec") or {}).get("podMetricsEndpoints", [])
              if "envoy" in (r.inputs.get("metadata") or {}).get("name", "")]
    classes, warm, fast = node_pool_types(recording), warm_nodes(recording), fast_pull_classes(recording)
    backups = fallbacks(recording)
    out = []
    for (kind, ns, name), r in sorted(objects.items(), key=lambda kv: str(kv[0])):
        spec = r.inputs.get("spec") or {}
        if kind != "ScaledObject" or (spec.get("minReplicaCount") == 0) != from_zero:
            continue
        target = objects.get(("Deployment", ns, spec["scaleTargetRef"]["name"]))
        weights = weights_of(target) if target else None
        if weights is None:
            continue
        scrape_s, poll_s = (max(scrape) if scrape else 30), int(spec.get("pollingInterval", 30))
        engine, cls = engine_of(target), gpu_class_of(target) or ""  # type: ignore[arg-type]
        types = classes.get(cls, [])
        # A wake-up is never a revision's first start (its Deployment's create awaited one), so a persisted
        # compile cache is warm by then.
        cache = persisted_compile_cache(target)  # type: ignore[arg-type]
        source, shards = weights_from_of(target), shards_of(target)  # type: ignore[arg-type]
        if from_zero:
            cold = _breakdown(timing.scale_from_zero_steps(weights, scrape_s, poll_s, engine, types, new_node=True,
                                                           compile_cache=cache, fast_pull=cls in fast,
                                                           weights_from=source, shards=shards))
            hot = (_breakdown(timing.scale_from_zero_steps(weights, scrape_s, poll_s, engine, types, new_node=False,
                                                           compile_cache=cache, weights_from=source, shards=shards))
                   if warm.get(cls) else None)
        else:
            cold = _breakdown(timing.replica_steps(weights, engine, types, True, cache, cls in fast,
                                                   weights_from=source, shards=shards))
            hot = _breakdown(timing.replica_steps(weights, engine, types, False, cache, weights_from=source,
                                                  shards=shards))
        out.append({"scaledObject": f"{ns}/{name}", "deployment": f"{ns}/{spec['scaleTargetRef']['name']}",
                    "engine": engine, "gpuClass": cls, "instanceTypes": types, "warmNodes": warm.get(cls, 0),
                    "weightsFrom": source,
                    "scrapeSeconds": scrape_s, "pollingSeconds": poll_s, "coldNode": cold, "warmNode": hot,
                    "totalSeconds": (hot or cold)["upperSeconds"],
                    "typicalSeconds": (hot or cold)["typicalSeconds"]})
        if cls in fast:
            out[-1]["imagePull"] = "soci-parallel"
        tier = ((target.inputs.get("metadata") or {}).get("labels") or {}).get(TIER_LABEL) if target else None
        if tier in backups:
            out[-1]["fallback"] = backups[tier]
    return out


# ---------------------------------------------------------------------------------------------- output


def minutes(seconds: Optional[int]) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds}s"
    h, m = divmod(round(seconds / 60), 60)
    return f"{h}h{m:02d}m" if h else f"{m}m"


def assumptions() -> dict[str, Any]:
    """Every figure the estimates come from, with its source, and the budgets (timing.figures)."""
    return timing.figures()


def to_json(p: Plan) -> str:
    steps = sorted(p.steps.values(), key=lambda s: (s.wave, s.label))
    return json.dumps({
        "stack": p.stack,
        "assumptions": assumptions(),
        "criticalPath": {"totalSeconds": p.critical_path_seconds, "typicalSeconds": p.critical_path_typical_seconds,
                         "steps": [p.steps[u].label for u in p.critical_path]},
        "createWaves": [[s.label for s in wave] for wave in p.waves()],
        "deleteWaves": [[s.label for s in wave] for wave in p.delete_waves()],
        "scaleFromZero": p.scale_from_zero,
        "scaleOut": p.scale_out,
        "resources": [{
            "urn": s.urn, "label": s.label, "wave": s.wave, "deleteWave": s.delete_wave,
            "dependsOn": sorted(p.steps[d].label for d in s.depends_on),
            "await": asdict(s.awaits), "finishSeconds": s.finish_seconds,
            "typicalFinishSeconds": s.typical_finish_seconds,
            "deleteBudgetSeconds": s.delete_budget_seconds, "protect": s.protect, "retainOnDelete": s.retain_on_delete,
            **s.options,
        } for s in steps],
    }, indent=2, sort_keys=False) + "\n"


