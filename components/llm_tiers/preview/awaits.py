"""What the real engine waits for, per recorded resource: pulumi-kubernetes' await rules (provider/pkg/await/,
provider/pkg/metadata/overrides.go, provider/pkg/provider/helm_release.go), Helm's wait and pulumi-aws' default
timeouts (the Terraform AWS provider's resource docs, "Timeouts"), with each await's budget and estimate
(components/llm_tiers/timing.py). Pure: read from a render's recording (mocks.Recording)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from llm_tiers import timing
from llm_tiers import versions
from llm_tiers.gpu.karpenter import GPU_CLASS_LABEL, image_pull_of
from llm_tiers.tiers.manifests import ENGINE_LABEL, WEIGHTS_BYTES_ANNOTATION, WEIGHTS_FROM_ANNOTATION
from llm_tiers.evaluation.manifests import GATE_COMPONENT, RESULTS_EXPECTED_ANNOTATION

from llm_tiers.preview.mocks import Recording, RecordedResource


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


def chart_key(r: RecordedResource) -> Optional[str]:
    chart = str(r.inputs.get("chart", ""))
    name = chart.rsplit("/", 1)[-1]
    for key, pin in versions.CHARTS.items():
        if pin.chart == name and pin.version == r.inputs.get("version"):
            return key
    return None


def weights_of(r: RecordedResource) -> Optional[int]:
    value = _annotations(r).get(WEIGHTS_BYTES_ANNOTATION)
    return int(value) if value else None


def weights_from_of(r: RecordedResource) -> str:
    """The tier's ``weightsFrom`` as its Deployment or sync Job carries it (no annotation: ``efs``)."""
    return _annotations(r).get(WEIGHTS_FROM_ANNOTATION) or "efs"


def shards_of(r: RecordedResource) -> int:
    """GPUs a tier Deployment's pod asks for (TGI's shards, vLLM's tensor-parallel ranks): each loads its part."""
    pod = ((r.inputs.get("spec") or {}).get("template") or {}).get("spec") or {}
    return max([int((c.get("resources") or {}).get("limits", {}).get("nvidia.com/gpu", 0) or 0)
                for c in pod.get("containers", [])] + [1])


def await_of(r: RecordedResource, classes: Optional[dict[str, list[str]]] = None,
             fast_pull: frozenset[str] = frozenset()) -> Await:
    """What the engine waits for after creating ``r``, how long it may wait, and how long it should take."""
    if r.type.startswith("pulumi:providers:") or r.type.startswith("random:"):
        return Await("none", None, 0, "engine")
    if r.type == HELM_RELEASE:
        key = chart_key(r)
        estimate = timing.CHARTS[key].estimate_seconds if key else 120
        if r.inputs.get("skipAwait") and not r.inputs.get("atomic"):
            return Await("none (skipAwait)", None, 10, "helm_release.go")
        budget = int(r.inputs.get("timeout") or timing.HELM_DEFAULT_TIMEOUT_SECONDS)
        return Await("helm --wait: the chart's workloads ready (atomic: rolled back on failure)", budget, estimate,
                     "pulumi-kubernetes provider/pkg/provider/helm_release.go (timeout; customTimeouts ignored)")
    if r.type == HELM_CHART:
        key = chart_key(r)
        return Await("every rendered object awaited by its kind (CRDs: Established)",
                     _kubernetes_budget(r), timing.CHARTS[key].estimate_seconds if key else 60,
                     "pulumi-kubernetes helm.sh/v4 Chart (objects applied one by one)")
    kind = kubernetes_kind(r)
    if kind is not None:
        return _kubernetes_await(r, kind, classes or {}, fast_pull)
    if r.type in _AWS:
        condition, default, estimate = _AWS[r.type]
        budget = timing.parse_duration(r.custom_timeouts["create"]) if r.custom_timeouts.get("create") else default  # type: ignore[assignment]
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
    images = [c.get("image", "") for c in (*pod.get("initContainers", []), *pod.get("containers", []))]
    return "vllm" if any(i.split("@")[0] == versions.IMAGES["vllm"] for i in images) else "tgi"


def persisted_compile_cache(r: RecordedResource) -> bool:
    """Whether a vLLM Deployment keeps its compile cache on a PersistentVolumeClaim (VLLM_CACHE_ROOT under a
    claim's mount): then every start after the revision's first one reads it instead of compiling."""
    pod = ((r.inputs.get("spec") or {}).get("template") or {}).get("spec") or {}
    claims = {v["name"] for v in pod.get("volumes", []) if "persistentVolumeClaim" in v}
    for c in pod.get("containers", []):
        root = next((e.get("value") for e in c.get("env", []) if e.get("name") == "VLLM_CACHE_ROOT"), None)
        if root and any(m["name"] in claims
                        and (root == m["mountPath"] or root.startswith(m["mountPath"].rstrip("/") + "/"))
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
    weights = weights_of(r)
    if kind == "Deployment":
        if weights:
            steps = timing.replica_steps(weights, engine_of(r), classes.get(gpu_class_of(r) or "", []),
                                         fast_pull=(gpu_class_of(r) or "") in fast_pull,
                                         weights_from=weights_from_of(r), shards=shards_of(r))
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
        mirror = weights_from_of(r) != "efs"
        estimate = timing.sync_seconds(weights, engine_of(r), new_node=tolerated, mirror=mirror) if weights else 60
        typical = (timing.sync_typical_seconds(weights, engine_of(r), new_node=tolerated, mirror=mirror)
                   if weights else 60)
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


def delete_budget(r: RecordedResource) -> Optional[int]:
    if r.type.startswith("kubernetes:") and r.type != HELM_RELEASE:
        return _kubernetes_budget(r, "delete")
    if r.type == HELM_RELEASE:
        return int(r.inputs.get("timeout") or timing.HELM_DEFAULT_TIMEOUT_SECONDS)
    return None
