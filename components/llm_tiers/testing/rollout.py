"""The rollout plan: what the real Pulumi engine would do with a recorded program.

The mock engine answers every registration at once; the real one creates a resource only after everything
it depends on (``dependencies``, ``propertyDependencies`` and its provider, exactly as the SDK sent them),
waits for it as its provider's await rules say, and deletes in reverse. This module turns a render's
recording into that plan:

- create waves (the longest dependency chain to each resource), each resource's await condition, budget
  and estimated duration, and the critical path of a first ``pulumi up``;
- the delete order (a resource is deleted only after everything that depends on it);
- the time from zero to first token of every scale-to-zero tier.

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
from llm_tiers import versions
from llm_tiers.gpu.karpenter import GPU_CLASS_LABEL, WARM_CAPACITY_LABEL, image_pull_of
from llm_tiers.tiers.manifests import ENGINE_LABEL, TIER_LABEL, WEIGHTS_BYTES_ANNOTATION
from llm_tiers.evaluation.manifests import GATE_COMPONENT, RESULTS_EXPECTED_ANNOTATION

from llm_tiers.testing.mocks import Recording, RecordedResource

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_CHART = "kubernetes:helm.sh/v4:Chart"
WAIT_FOR = "pulumi.com/waitFor"
TIMEOUT_ANNOTATION = "pulumi.com/timeoutSeconds"
SKIP_AWAIT = "pulumi.com/skipAwait"
K8S_AWAIT = "pulumi-kubernetes provider/pkg/await"

# Kubernetes kinds whose creation is not awaited (no awaiter in provider/pkg/await/awaiters.go).
_NOT_AWAITED = {"Namespace", "ConfigMap", "Secret", "ServiceAccount", "NetworkPolicy", "PodDisruptionBudget",
                "StorageClass", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}

# (condition, default create timeout in seconds or None for "no wait", estimate in seconds). Defaults from
# the Terraform AWS provider's docs (website/docs/r/<resource>.html.markdown, "Timeouts"), which pulumi-aws
# bridges; estimates are typical AWS provisioning times, rounded up.
_AWS: dict[str, tuple[str, Optional[int], int]] = {
    "aws:eks/cluster:Cluster": ("cluster ACTIVE", 30 * 60, int(timing.EKS_CONTROL_PLANE.slow)),
    "aws:eks/nodeGroup:NodeGroup": ("node group ACTIVE (nodes joined)", 60 * 60, 360),
    "aws:eks/addon:Addon": ("add-on ACTIVE", 20 * 60, 150),
    "aws:ec2/natGateway:NatGateway": ("NAT gateway available", 10 * 60, 150),
    "aws:efs/mountTarget:MountTarget": ("mount target available", 30 * 60, 120),
    "aws:efs/fileSystem:FileSystem": ("file system available", None, 15),
    "aws:ec2/vpc:Vpc": ("VPC available", None, 10),
    "aws:ec2/subnet:Subnet": ("subnet available", 10 * 60, 10),
}


@dataclass(frozen=True)
class Await:
    condition: str
    budget_seconds: Optional[int]
    """How long the engine waits before it fails the update; None: it does not wait."""
    estimate_seconds: int
    """The slow end (the estimate's upper bound): what the budget is checked against."""
    source: str
    typical_seconds: Optional[int] = None
    """The typical duration, where timing.py has a figure for it (else the slow end)."""

    @property
    def typical(self) -> int:
        return self.estimate_seconds if self.typical_seconds is None else self.typical_seconds


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


# ---------------------------------------------------------------------------------------------- helpers


def kubernetes_kind(r: RecordedResource) -> Optional[str]:
    if not r.type.startswith("kubernetes:") or r.type in (HELM_RELEASE, HELM_CHART):
        return None
    return r.inputs.get("kind") or r.type.rsplit(":", 1)[-1]


def _component(r: RecordedResource) -> Optional[str]:
    meta = r.inputs.get("metadata") or {}
    return (meta.get("labels") or {}).get("llm-tiers.io/component") if isinstance(meta, dict) else None


def _container_args(r: RecordedResource) -> list[str]:
    spec = (((r.inputs.get("spec") or {}).get("template") or {}).get("spec") or {})
    containers = spec.get("containers") or [{}]
    return [str(a) for a in containers[0].get("args") or []]


def _annotations(r: RecordedResource) -> dict[str, str]:
    meta = r.inputs.get("metadata") or {}
    return dict(meta.get("annotations") or {}) if isinstance(meta, dict) else {}


def label(r: RecordedResource) -> str:
    kind = kubernetes_kind(r)
    if kind:
        meta = r.inputs.get("metadata") or {}
        ns = meta.get("namespace")
        return f"{kind} {ns + '/' if ns else ''}{meta.get('name', r.name)}"
    if r.type == HELM_RELEASE:
        return f"helm release {r.inputs.get('namespace', 'default')}/{r.inputs.get('name', r.name)}"
    if r.type == HELM_CHART:
        return f"CRD chart {r.name}"
    return f"{r.type.split(':')[-1]} {r.name}"


def _kubernetes_budget(r: RecordedResource, op: str = "create") -> int:
    """pulumi-kubernetes metadata.TimeoutDuration: customTimeouts wins, then pulumi.com/timeoutSeconds,
    then the 10-minute default."""
    if r.custom_timeouts.get(op):
        return timing.parse_duration(r.custom_timeouts[op])
    annotation = _annotations(r).get(TIMEOUT_ANNOTATION)
    if annotation and annotation.isdigit():
        return int(annotation)
    return timing.KUBERNETES_DEFAULT_AWAIT_SECONDS


def _chart_key(r: RecordedResource) -> Optional[str]:
    chart = str(r.inputs.get("chart", ""))
    name = chart.rsplit("/", 1)[-1]
    for key, pin in versions.CHARTS.items():
        if pin.chart == name and pin.version == r.inputs.get("version"):
            return key
    return None


def _weights(r: RecordedResource) -> Optional[int]:
    value = _annotations(r).get(WEIGHTS_BYTES_ANNOTATION)
    return int(value) if value else None


def await_of(r: RecordedResource, classes: Optional[dict[str, list[str]]] = None,
             fast_pull: frozenset[str] = frozenset()) -> Await:
    """What the engine waits for after creating ``r``, how long it may wait, and how long it should take."""
    if r.type.startswith("pulumi:providers:") or r.type.startswith("random:"):
        return Await("none", None, 0, "engine")
    if r.type == HELM_RELEASE:
        key = _chart_key(r)
        estimate = timing.CHARTS[key].estimate_seconds if key else 120
        if r.inputs.get("skipAwait") and not r.inputs.get("atomic"):
            return Await("none (skipAwait)", None, 10, "helm_release.go")
        budget = int(r.inputs.get("timeout") or timing.HELM_DEFAULT_TIMEOUT_SECONDS)
        return Await("helm --wait: the chart's workloads ready (atomic: rolled back on failure)", budget, estimate,
                     "pulumi-kubernetes provider/pkg/provider/helm_release.go (timeout; customTimeouts ignored)")
    if r.type == HELM_CHART:
        key = _chart_key(r)
        return Await("every rendered object awaited by its kind (CRDs: Established)",
                     _kubernetes_budget(r), timing.CHARTS[key].estimate_seconds if key else 60,
                     "pulumi-kubernetes helm.sh/v4 Chart (objects applied one by one)")
    kind = kubernetes_kind(r)
    if kind is not None:
        return _kubernetes_await(r, kind, classes or {}, fast_pull)
    if r.type in _AWS:
        condition, default, estimate = _AWS[r.type]
        budget = timing.parse_duration(r.custom_timeouts["create"]) if r.custom_timeouts.get("create") else default
        if r.type == "aws:eks/cluster:Cluster":
            return Await(condition, budget, estimate, "pulumi-aws (Terraform AWS provider default timeouts); estimate: "
                         + timing.EKS_CONTROL_PLANE.source, int(timing.EKS_CONTROL_PLANE.typical))
        return Await(condition, budget, estimate, "pulumi-aws (Terraform AWS provider default timeouts)")
    return Await("API call returns", None, 5, "pulumi-aws")


def engine_of(r: RecordedResource) -> str:
    """The engine of a tier Deployment (its engine label) or sync Job (the image it runs)."""
    meta = r.inputs.get("metadata") or {}
    label_value = (meta.get("labels") or {}).get(ENGINE_LABEL)
    if label_value:
        return label_value
    pod = ((r.inputs.get("spec") or {}).get("template") or {}).get("spec") or {}
    images = [c.get("image", "") for c in pod.get("containers", [])]
    return "vllm" if any(i.split("@")[0] == versions.IMAGES["vllm"] for i in images) else "tgi"


def persisted_compile_cache(r: RecordedResource) -> bool:
    """Whether a vLLM Deployment keeps its compile cache on a PersistentVolumeClaim (VLLM_CACHE_ROOT under a
    claim's mount): then every start after the revision's first one reads it instead of compiling."""
    pod = ((r.inputs.get("spec") or {}).get("template") or {}).get("spec") or {}
    claims = {v["name"] for v in pod.get("volumes", []) if "persistentVolumeClaim" in v}
    for c in pod.get("containers", []):
        root = next((e.get("value") for e in c.get("env", []) if e.get("name") == "VLLM_CACHE_ROOT"), None)
        if root and any(m["name"] in claims and (root == m["mountPath"] or root.startswith(m["mountPath"].rstrip("/") + "/"))
                        for m in c.get("volumeMounts", [])):
            return True
    return False


def fallbacks(recording: Recording) -> dict[str, dict[str, Any]]:
    """Tier -> its fallback provider as rendered (gateway/fallback.py): an AIGatewayRoute rule, named after the
    tier, whose backendRef at priority >= 1 is an AIServiceBackend over a Backend; ``host`` its hostname and
    ``model`` the model it is asked for."""
    objs = {(r.inputs.get("kind"), (r.inputs.get("metadata") or {}).get("name")): r.inputs
            for r in recording.resources if r.custom}
    out: dict[str, dict[str, Any]] = {}
    for (kind, _), route in objs.items():
        if kind != "AIGatewayRoute":
            continue
        for rule in (route.get("spec") or {}).get("rules", []):
            for ref in rule.get("backendRefs", []):
                if (ref.get("priority") or 0) < 1:
                    continue
                ai = objs.get(("AIServiceBackend", ref["name"])) or {}
                backend = objs.get(("Backend", ((ai.get("spec") or {}).get("backendRef") or {}).get("name"))) or {}
                hosts = [e["fqdn"]["hostname"] for e in (backend.get("spec") or {}).get("endpoints", []) if "fqdn" in e]
                out[rule.get("name", "")] = {"host": hosts[0] if hosts else ref["name"],
                                             "model": ref.get("modelNameOverride")}
    return out


def gpu_class_of(r: RecordedResource) -> Optional[str]:
    pod = ((r.inputs.get("spec") or {}).get("template") or {}).get("spec") or {}
    return (pod.get("nodeSelector") or {}).get(GPU_CLASS_LABEL)


def node_pool_types(recording: Recording) -> dict[str, list[str]]:
    """GPU class -> the instance types its (dynamic) NodePool may launch, as rendered."""
    out: dict[str, list[str]] = {}
    for r in recording.resources:
        if r.custom and r.inputs.get("kind") == "NodePool":
            tmpl = ((r.inputs.get("spec") or {}).get("template") or {})
            cls = ((tmpl.get("metadata") or {}).get("labels") or {}).get(GPU_CLASS_LABEL)
            for req in (tmpl.get("spec") or {}).get("requirements", []):
                if cls and req.get("key") == "node.kubernetes.io/instance-type":
                    out.setdefault(cls, []).extend(req.get("values", []))
    return out


def fast_pull_classes(recording: Recording) -> frozenset[str]:
    """GPU classes whose rendered EC2NodeClass switches on SOCI's parallel pull (gpu/karpenter.py image_pull_of)."""
    return frozenset(r.inputs["metadata"]["name"] for r in recording.resources
                     if r.custom and r.inputs.get("kind") == "EC2NodeClass"
                     and image_pull_of(r.inputs) == "soci-parallel")


def _kubernetes_await(r: RecordedResource, kind: str, classes: dict[str, list[str]],
                      fast_pull: frozenset[str] = frozenset()) -> Await:
    ann = _annotations(r)
    if ann.get(SKIP_AWAIT) == "true":
        return Await("none (pulumi.com/skipAwait)", None, 2, "metadata/overrides.go")
    if ann.get(WAIT_FOR):
        estimate = 240 if kind == "Gateway" else 45
        return Await(f"waitFor {ann[WAIT_FOR]}", _kubernetes_budget(r), estimate,
                     f"{K8S_AWAIT}/condition (pulumi.com/waitFor)")
    weights = _weights(r)
    if kind == "Deployment":
        if weights:
            steps = timing.replica_steps(weights, engine_of(r), classes.get(gpu_class_of(r) or "", []),
                                         fast_pull=(gpu_class_of(r) or "") in fast_pull)
            estimate, typical = sum(x.upper_seconds for x in steps), sum(x.typical_seconds for x in steps)
        else:
            estimate = typical = 60
        return Await("Available, new ReplicaSet ready (one replica on create; the whole rollout on update)",
                     _kubernetes_budget(r), estimate, f"{K8S_AWAIT}/deployment.go; estimate: timing.replica_steps",
                     typical)
    if kind == "Job" and _component(r) == GATE_COMPONENT:
        # The promotion gate polls for the run's result files: typically there once the candidate's benchmark has
        # run its configured strategies (the evals run beside it), at most its own wait (then it fails closed).
        args = _container_args(r)
        upper = int(float(args[args.index("--wait-seconds") + 1])) if "--wait-seconds" in args else 60
        expected = ann.get(RESULTS_EXPECTED_ANNOTATION)
        return Await("Complete (fails at once on BackoffLimitExceeded or DeadlineExceeded)", _kubernetes_budget(r),
                     upper, f"{K8S_AWAIT}/job.go; estimate: the candidate benchmark's configured run "
                     "(benchmark.sweepSize x secondsPerStrategy), at most gate.waitMinutes",
                     min(int(expected), upper) if expected else None)
    if kind == "Job":
        tolerated = bool(((r.inputs.get("spec") or {}).get("template") or {}).get("spec", {}).get("tolerations"))
        estimate = timing.sync_seconds(weights, engine_of(r), new_node=tolerated) if weights else 60
        typical = timing.sync_typical_seconds(weights, engine_of(r), new_node=tolerated) if weights else 60
        return Await("Complete (fails at once on BackoffLimitExceeded or DeadlineExceeded)", _kubernetes_budget(r),
                     estimate, f"{K8S_AWAIT}/job.go; estimate: timing.sync_seconds", typical)
    if kind == "PersistentVolumeClaim":
        return Await("Bound (Pending suffices under WaitForFirstConsumer)", timing.PVC_AWAIT_SECONDS, 30,
                     f"{K8S_AWAIT}/awaiters.go (fixed 5 minutes)")
    if kind == "Service":
        spec = r.inputs.get("spec") or {}
        if spec.get("type") == "LoadBalancer":
            return Await("load balancer address assigned", _kubernetes_budget(r), 180, f"{K8S_AWAIT}/service.go")
        if spec.get("selector") and spec.get("clusterIP") != "None":
            return Await("endpoints settled with no not-ready address", _kubernetes_budget(r), 15,
                         f"{K8S_AWAIT}/service.go")
        return Await("none (no selector)", None, 2, f"{K8S_AWAIT}/service.go")
    if kind in ("StatefulSet", "DaemonSet"):
        return Await("all replicas ready", _kubernetes_budget(r), 60, K8S_AWAIT)
    if kind in _NOT_AWAITED or "." in r.inputs.get("apiVersion", "v1").split("/")[0]:
        return Await("none (created = ready)", None, 2, "metadata/overrides.go ReadyCondition")
    return Await("none", None, 2, K8S_AWAIT)


def _delete_budget(r: RecordedResource) -> Optional[int]:
    if r.type.startswith("kubernetes:") and r.type != HELM_RELEASE:
        return _kubernetes_budget(r, "delete")
    if r.type == HELM_RELEASE:
        return int(r.inputs.get("timeout") or timing.HELM_DEFAULT_TIMEOUT_SECONDS)
    return None


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
            delete_budget_seconds=_delete_budget(r), protect=r.protect, retain_on_delete=r.retain_on_delete,
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
    return Plan(stack, steps, list(reversed(path)), _scale_from_zero(recording), components, component_edges)


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
    from llm_tiers.testing import diagrams

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


def _scale_from_zero(recording: Recording) -> list[dict[str, Any]]:
    """Per ScaledObject with minReplicaCount 0: a request at zero replicas until its first token, step by step,
    on a fresh node and (when its GPU class keeps warm nodes) on warm capacity."""
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
        if kind != "ScaledObject" or spec.get("minReplicaCount") != 0:
            continue
        target = objects.get(("Deployment", ns, spec["scaleTargetRef"]["name"]))
        weights = _weights(target) if target else None
        if weights is None:
            continue
        scrape_s, poll_s = (max(scrape) if scrape else 30), int(spec.get("pollingInterval", 30))
        engine, cls = engine_of(target), gpu_class_of(target) or ""
        types = classes.get(cls, [])
        # A wake-up is never a revision's first start (its Deployment's create awaited one), so a persisted
        # compile cache is warm by then.
        cache = persisted_compile_cache(target)
        cold = _breakdown(timing.scale_from_zero_steps(weights, scrape_s, poll_s, engine, types, new_node=True,
                                                       compile_cache=cache, fast_pull=cls in fast))
        hot = (_breakdown(timing.scale_from_zero_steps(weights, scrape_s, poll_s, engine, types, new_node=False,
                                                       compile_cache=cache))
               if warm.get(cls) else None)
        out.append({"scaledObject": f"{ns}/{name}", "deployment": f"{ns}/{spec['scaleTargetRef']['name']}",
                    "engine": engine, "gpuClass": cls, "instanceTypes": types, "warmNodes": warm.get(cls, 0),
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
        "resources": [{
            "urn": s.urn, "label": s.label, "wave": s.wave, "deleteWave": s.delete_wave,
            "dependsOn": sorted(p.steps[d].label for d in s.depends_on),
            "await": asdict(s.awaits), "finishSeconds": s.finish_seconds,
            "typicalFinishSeconds": s.typical_finish_seconds,
            "deleteBudgetSeconds": s.delete_budget_seconds, "protect": s.protect, "retainOnDelete": s.retain_on_delete,
            **s.options,
        } for s in steps],
    }, indent=2, sort_keys=False) + "\n"


def _estimate(typical: int, upper: int) -> str:
    return minutes(upper) if typical == upper else f"{minutes(typical)} (≤ {minutes(upper)})"


def fallback_sentence(fb: dict[str, Any]) -> str:
    """What a client of a tier with a fallback sees while the tier is at zero."""
    return (f"with its fallback ({fb['host']}, model `{fb['model']}`) the client sees no cold start: while the tier "
            "is at zero, waking or down, its requests are answered by the fallback (a refused connection to the tier "
            "costs milliseconds before the retry), billed per token at the provider's price "
            "(`llm:tenant_hourly_usd{via=\"fallback\"}`). The times below are how long until the tier itself answers "
            "again.")


def scale_from_zero_markdown(scale_from_zero: list[dict[str, Any]]) -> list[str]:
    """Per scale-to-zero tier: each step's estimate (typical, upper bound), its budget and the estimate's source,
    on a fresh node and, where the class keeps warm nodes, on warm capacity."""
    lines: list[str] = []
    for z in scale_from_zero:
        if z.get("fallback"):
            lines += ["", f"{z['deployment']}: {fallback_sentence(z['fallback'])}"]
        for where, b in (("a fresh GPU node", z["coldNode"]), (f"warm capacity ({z['warmNodes']} node(s))",
                                                               z.get("warmNode"))):
            if not b:
                continue
            lines += ["", f"### {z['deployment']} ({z['engine']}, class {z['gpuClass']}: "
                          f"{', '.join(z['instanceTypes'])}) onto {where}: "
                          f"{minutes(b['typicalSeconds'])} typical, ≤ {minutes(b['upperSeconds'])}", "",
                      "| step | typical | upper bound | budget | source of the estimate |", "|---|---|---|---|---|"]
            lines += [f"| {s['step']} | {minutes(s['typical_seconds'])} | {minutes(s['upper_seconds'])} | "
                      f"{minutes(s['budget_seconds'])} | {s['source']} |" for s in b["steps"]]
            lines.append(f"| **total** | **{minutes(b['typicalSeconds'])}** | **{minutes(b['upperSeconds'])}** | "
                         f"{minutes(b['budgetSeconds'])} | |")
    return lines
def first_deploy_gantt(p: Plan) -> str:
    """The first ``pulumi up``'s critical path as a Mermaid Gantt chart."""
    from llm_tiers.testing import diagrams

    return diagrams.gantt(f"{p.stack} first pulumi up, critical path {minutes(p.critical_path_seconds)}",
                          [(p.steps[u].label, p.steps[u].awaits.estimate_seconds) for u in p.critical_path])


def component_graph(p: Plan) -> str:
    """The stack's components and their edges as a Mermaid flowchart."""
    from llm_tiers.testing import diagrams

    return diagrams.graph(p.components, p.component_edges, direction="TD")


def to_markdown(p: Plan) -> str:
    a = assumptions()
    lines = [
        f"# Rollout plan: {p.stack}",
        "",
        "What the real Pulumi engine does with this program (the render's mock engine answers at once). Created in "
        "waves: a resource starts when everything it depends on is done (its `dependencies`, "
        "`propertyDependencies` and provider, as the SDK sends them); the engine then waits for it as its provider's "
        "await rule says, up to the budget, and fails the update past it. Deleted in reverse.",
        "",
        "Estimates (components/llm_tiers/timing.py; typical, and the upper bound every budget is checked against): "
        f"Hub download {a['hubDownloadBytesPerSecond']['slow'] / 1e6:.0f} MB/s per sync Job, EFS read "
        f"{a['efsReadBytesPerSecond']['typical'] / 1e6:.0f} MB/s (≥ {a['efsReadBytesPerSecond']['slow'] / 1e6:.0f}) "
        f"per replica, image pull {a['imagePullBytesPerSecond']['typical'] / 1e6:.0f} MB/s "
        f"(≥ {a['imagePullBytesPerSecond']['slow'] / 1e6:.0f}), GPU node launch "
        + ", ".join(f"{k}-family {minutes(int(v['typical']))} (≤ {minutes(int(v['slow']))})"
                    for k, v in a["gpuNodeLaunchSeconds"].items())
        + ", engine warm-up " + ", ".join(f"{k} {minutes(int(v['typical']))} (≤ {minutes(int(v['slow']))})"
                                        for k, v in a["engineWarmupSeconds"].items())
        + ". rollout.json's `assumptions` carries the source of each.",
        "",
        f"## First `pulumi up`: critical path {minutes(p.critical_path_seconds)}",
        "",
        f"Upper bound {minutes(p.critical_path_seconds)}; with typical durations the longest chain takes "
        f"{minutes(p.critical_path_typical_seconds)}.",
        "",
        "| # | resource | waits for | estimate (typical, ≤ upper) | budget | done at (upper) |",
        "|---|---|---|---|---|---|",
    ]
    for i, urn in enumerate(p.critical_path, 1):
        s = p.steps[urn]
        lines.append(f"| {i} | {s.label} | {s.awaits.condition} | "
                     f"{_estimate(s.awaits.typical, s.awaits.estimate_seconds)} | "
                     f"{minutes(s.awaits.budget_seconds)} | {minutes(s.finish_seconds)} |")
    lines += ["", "```mermaid", first_deploy_gantt(p).rstrip(), "```"]
    if p.scale_from_zero:
        lines += ["", "## Scale from zero: a request at zero replicas until its first token"]
        lines += scale_from_zero_markdown(p.scale_from_zero)
    awaited = [s for s in p.steps.values() if s.awaits.budget_seconds is not None]
    lines += ["", f"## Awaits ({len(awaited)} of {len(p.steps)} resources are waited for)", "",
              "| resource | waits for | estimate | budget | rule |", "|---|---|---|---|---|"]
    for s in sorted(awaited, key=lambda s: (-s.awaits.estimate_seconds, s.label)):
        lines.append(f"| {s.label} | {s.awaits.condition} | {minutes(s.awaits.estimate_seconds)} | "
                     f"{minutes(s.awaits.budget_seconds)} | {s.awaits.source} |")
    lines += ["", "## Create waves", ""]
    for i, wave in enumerate(p.waves()):
        lines.append(f"{i}. " + ", ".join(s.label for s in wave))
    if p.components:
        lines += ["", "## Components and their edges", "",
                  "The program's components and which waits for which (an arrow: the one it points to starts "
                  "after; implied arrows left out), from the same captured dependencies as the waves.", "",
                  "```mermaid", component_graph(p).rstrip(), "```"]
    protected = sorted(s.label for s in p.steps.values() if s.protect or s.retain_on_delete)
    lines += ["", "## Delete order (`pulumi destroy`)", "",
              "Each wave starts when the one before it is gone; Kubernetes objects are deleted with Foreground "
              "propagation and awaited until gone (finalizers included)." +
              (f" Protected (destroy stops until `pulumi state unprotect`): {', '.join(protected)}."
               if protected else " Nothing is protected in this stack."), ""]
    for i, wave in enumerate(p.delete_waves()):
        lines.append(f"{i}. " + ", ".join(s.label for s in wave))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- references

# AWS resources that other APIs address by name (besides every ARN and ID).
_NAMED_BY = {"aws:eks/cluster:Cluster", "aws:iam/role:Role", "aws:iam/policy:Policy",
             "aws:secretsmanager/secret:Secret", "aws:sqs/queue:Queue", "aws:cloudwatch/eventRule:EventRule"}
# Values that are not references even when they equal a name (tags and labels describe, they do not point).
_NOT_REFERENCES = {"tags", "labels", "annotations", "tagsAll", "matchLabels", "selector", "podSelector",
                   "namespaceSelector"}
# Kubernetes fields that name another object: key -> kind (value is the name), or key -> None (value is a
# reference object, or a list of them, with ``name`` and optional ``kind``/``namespace``).
_K8S_NAME_FIELDS = {"namespace": "Namespace", "storageClassName": "StorageClass", "serviceAccountName": "ServiceAccount",
                    "claimName": "PersistentVolumeClaim", "secretName": "Secret", "existingSecret": "Secret",
                    "gatewayClassName": "GatewayClass"}
_K8S_REF_FIELDS = {"scaleTargetRef": None, "nodeClassRef": "EC2NodeClass", "secretStoreRef": None,
                   "parametersRef": None, "parentRefs": "Gateway", "backendRefs": "Service", "targetRefs": None,
                   "targetRef": None, "secretKeyRef": "Secret", "configMap": "ConfigMap", "credentialRefs": "Secret",
                   "configMapKeyRef": "ConfigMap"}
_CLUSTER_SCOPED = {"Namespace", "StorageClass", "GatewayClass", "ClusterSecretStore", "NodePool", "EC2NodeClass",
                   "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


@dataclass(frozen=True)
class Reference:
    resource: str   # label of the resource whose input refers
    path: str       # input path
    value: str
    target: str     # label of the resource it names


def _strings(value: Any, path: tuple[str, ...] = ()):
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in _NOT_REFERENCES:
                yield from _strings(v, (*path, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, str(i)))
    elif isinstance(value, str):
        yield path, value
        if value[:1] in "[{":
            try:
                yield from _strings(json.loads(value), (*path, "<json>"))
            except ValueError:
                pass


def _k8s_refs(value: Any, namespace: Optional[str], path: tuple[str, ...] = ()):
    """(path, kind, namespace or None for cluster-scoped, name) of every object reference in a manifest."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in _NOT_REFERENCES:
                continue
            p = (*path, k)
            if k in _K8S_NAME_FIELDS and isinstance(v, str) and not (k == "namespace" and path[-1:] != ("metadata",)):
                kind = _K8S_NAME_FIELDS[k]
                yield p, kind, None if kind in _CLUSTER_SCOPED else namespace, v
            elif k in _K8S_REF_FIELDS:
                for i, ref in enumerate(v if isinstance(v, list) else [v]):
                    if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                        kind = ref.get("kind") or _K8S_REF_FIELDS[k]
                        if kind:
                            ns = None if kind in _CLUSTER_SCOPED else ref.get("namespace", namespace)
                            yield (*p, str(i)), kind, ns, ref["name"]
            else:
                yield from _k8s_refs(v, namespace, p)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _k8s_refs(v, namespace, (*path, str(i)))


def unordered_references(p: Plan, recording: Recording) -> list[Reference]:
    """Inputs that name another resource of the program (its ARN, ID or name, or a Kubernetes object it
    creates) without depending on it: the engine may create the two in parallel, or delete the named one
    first. The general form of "a name passed as a plain string adds no ordering edge"."""
    steps = {r.urn: r for r in nodes(recording)}
    by_identity: dict[str, set[str]] = {}
    objects: dict[tuple[str, Optional[str], str], set[str]] = {}
    for r in steps.values():
        if r.type.startswith("aws:"):
            ids = {r.outputs.get("arn"), r.id if r.id and r.id != "none" else None}
            if r.type in _NAMED_BY:
                ids.add(r.outputs.get("name"))
            for v in ids:
                if isinstance(v, str) and len(v) >= 4:
                    by_identity.setdefault(v, set()).add(r.urn)
        kind = kubernetes_kind(r)
        if kind:
            meta = r.inputs.get("metadata") or {}
            ns = None if kind in _CLUSTER_SCOPED else meta.get("namespace", "default")
            objects.setdefault((kind, ns, meta.get("name", "")), set()).add(r.urn)
            if kind == "ExternalSecret":  # it creates the Secret it targets
                target = (r.inputs.get("spec") or {}).get("target", {}).get("name")
                objects.setdefault(("Secret", ns, target), set()).add(r.urn)
    found: list[Reference] = []
    ancestors: dict[str, set[str]] = {}  # per referencing resource, computed once

    def check(r: RecordedResource, path: tuple[str, ...], value: str, targets: set[str]) -> None:
        if value in (r.outputs.get("name"), r.outputs.get("arn"), r.id):
            return  # its own name (two resources may share a name, e.g. the cluster and its queue)
        targets = targets - {r.urn}
        if targets and r.urn not in ancestors:
            ancestors[r.urn] = p.ancestors(r.urn)
        if targets and not targets & ancestors[r.urn]:
            found.append(Reference(label(r), ".".join(path), value, ", ".join(sorted(p.steps[t].label for t in targets))))

    for r in steps.values():
        for path, value in _strings(r.inputs):
            if value in by_identity:
                check(r, path, value, by_identity[value])
        kind = kubernetes_kind(r)
        if kind or r.type == HELM_RELEASE:
            default_ns = ((r.inputs.get("metadata") or {}).get("namespace") if kind else r.inputs.get("namespace"))
            body = r.inputs.get("values") if r.type == HELM_RELEASE else r.inputs
            if r.type == HELM_RELEASE and default_ns:
                check(r, ("namespace",), default_ns, objects.get(("Namespace", None, default_ns), set()))
            for path, ref_kind, ns, name in _k8s_refs(body or {}, default_ns or "default"):
                check(r, path, name, objects.get((ref_kind, ns, name), set()))
    return found


# ---------------------------------------------------------------------------------------------- needless edges

# What each step of a tier's start uses, so what it may wait for: (charts by versions.CHARTS key, custom resource
# kinds). Its own namespace's core objects (PVC, ConfigMap, ServiceAccounts, its Job) and AWS resources (the
# cluster, EFS, IAM) are always fine. A weights PVC needs only its StorageClass; the sync Job its hf-token
# Secret (an ExternalSecret: its store and operator); the engine also the GPU class's nodes (Karpenter, the
# device plugin) and, with tracing, the OTLP collector.
_SYNC_USES = ({"external-secrets"}, {"ExternalSecret", "ClusterSecretStore"})
TIER_STEP_USES: dict[str, tuple[set[str], set[str]]] = {
    "weights-pvc": (set(), set()),
    "weights-sync": _SYNC_USES,
    "server": (_SYNC_USES[0] | {"karpenter-crd", "karpenter", "nvidia-device-plugin", "opentelemetry-collector"},
               _SYNC_USES[1] | {"NodePool", "EC2NodeClass"}),
}


# API groups Kubernetes serves itself ("" is the core group); anything else is a custom resource some controller
# (a chart) owns.
_BUILTIN_GROUPS = {"", "apps", "batch", "policy", "autoscaling", "storage.k8s.io", "rbac.authorization.k8s.io",
                   "networking.k8s.io", "scheduling.k8s.io", "apiextensions.k8s.io", "admissionregistration.k8s.io",
                   "coordination.k8s.io", "node.k8s.io"}


def _tier_role(r: RecordedResource) -> Optional[str]:
    kind, meta = kubernetes_kind(r), r.inputs.get("metadata") or {}
    component = (meta.get("labels") or {}).get("llm-tiers.io/component")
    if kind == "PersistentVolumeClaim" and component == "weights":
        return "weights-pvc"
    if kind == "Job" and component == "weights-sync":
        return "weights-sync"
    if kind == "Deployment" and component == "server":
        return "server"
    return None


def needless_edges(p: Plan, recording: Recording, tiers_namespace: str = "llm-tiers") -> list[str]:
    """Objects a tier's weights PVC, sync Job or engine Deployment waits for (directly or through others) that it
    does not use (TIER_STEP_USES): each one puts time on the tier's path for nothing (the 70B sync starting
    after Prometheus). One line per (resource, needless ancestor)."""
    by_urn = {r.urn: r for r in nodes(recording)}
    found = []
    for r in by_urn.values():
        role = _tier_role(r)
        if role is None or (r.inputs.get("metadata") or {}).get("namespace") != tiers_namespace:
            continue
        charts, kinds = TIER_STEP_USES[role]
        # The StorageClass of the claim it mounts (or is) is used; another StorageClass is not.
        claimed = {(by_urn[u].inputs.get("spec") or {}).get("storageClassName")
                   for u in {r.urn, *p.ancestors(r.urn)} if u in by_urn
                   and kubernetes_kind(by_urn[u]) == "PersistentVolumeClaim"}
        for a in sorted(p.ancestors(r.urn)):
            x = by_urn.get(a)
            if x is None:
                continue
            if x.type in (HELM_RELEASE, HELM_CHART):
                if _chart_key(x) not in charts:
                    found.append(f"{label(r)} waits for {label(x)}")
                continue
            kind = kubernetes_kind(x)
            if kind is None:
                continue
            api = str(x.inputs.get("apiVersion", "v1"))
            group = api.split("/")[0] if "/" in api else ""
            meta = x.inputs.get("metadata") or {}
            if group not in _BUILTIN_GROUPS:
                if kind not in kinds:
                    found.append(f"{label(r)} waits for {label(x)}")
            elif kind == "StorageClass":
                if meta.get("name") not in claimed:
                    found.append(f"{label(r)} waits for {label(x)}")
            elif meta.get("namespace") and meta["namespace"] != tiers_namespace:
                found.append(f"{label(r)} waits for {label(x)}")
    return found
