"""How long things take: the one place that states the rollout's timing figures (pure, no Pulumi).

Two kinds of number live here, kept apart on purpose:

- **Estimates** (:class:`Figure`): what a step typically takes and its slow end (the estimate's upper bound),
  each with the public measurement it comes from. ``build/<stack>/rollout.md`` and ``plan.md`` show them.
- **Budgets**: how long the cluster or the engine lets a step run before it calls it failed (the sync Job's
  ``activeDeadlineSeconds``, the startup probe's window, the Deployment's ``progressDeadlineSeconds``, every
  ``customTimeouts``). A budget is never below its estimate's upper bound (tests/test_rollout.py checks every
  await), but it is not the estimate: an estimate moves when a better measurement comes along, a budget only
  when the slow end would cross it.

Per step of a replica's start (:func:`replica_steps`) the estimate depends on the engine (TGI warms up in
seconds, vLLM compiles and captures CUDA graphs), the GPU family (a p5 boots slower than a g6), whether the node
is already there (``gpuClasses.<class>.warmNodes``: a placeholder pod holds it, with the engine image pulled)
and whether vLLM's compile cache is persisted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


from llm_tiers.timing_figures import (  # noqa: F401  (the estimates, re-exported: rollout.json lists them)
    Figure, EKS_CONTROL_PLANE, HUB_DOWNLOAD_BYTES_PER_SECOND, EFS_READ_BYTES_PER_SECOND,
    IMAGE_PULL_BYTES_PER_SECOND, SOCI_PARALLEL_PULL_TIME, ENGINE_IMAGE_BYTES, GPU_NODE_LAUNCH, CPU_NODE_LAUNCH,
    POD_START, ENGINE_WARMUP, SHA256_BYTES_PER_SECOND, S3_READ_BYTES_PER_SECOND, S3_UPLOAD_BYTES_PER_SECOND,
    NVME_READ_BYTES_PER_SECOND, SAFETENSORS_LOADER_BYTES_PER_SECOND)


# --------------------------------------------------------------------------------------- budgets
#: A node that has not registered 15 minutes after launch is deleted by Karpenter and a new one launched
#: (aws/karpenter-provider-aws website concepts/nodeclaims.md, added in PR #6470: "If a node doesn't appear as
#: registered after 15 minutes since it was first created, the NodeClaim is deleted"): the step's budget.
NODE_LAUNCH_BUDGET_SECONDS = 900
#: Image pull: the slowest image (vLLM, 28.6 GB) at the slow rate is ~11.5 minutes.
IMAGE_PULL_BUDGET_SECONDS = 900
#: Pod start on an existing node.
POD_START_BUDGET_SECONDS = 60
#: Engine warm-up (TGI's prefill of its whole batch budget; vLLM's compile and graph capture).
ENGINE_WARMUP_BUDGET_SECONDS = {"tgi": 300, "vllm": 600, "vllm-cached": 600}
#: Head room of a weight load's budget over its slow-end estimate.
LOAD_BUDGET_FACTOR = 1.5
#: Head room of a sync Job's deadline over its estimate (retries after a transient Hub error).
SYNC_DEADLINE_SLACK_SECONDS = 900
#: Await budgets are this much above the controller's own deadline, so the engine reports the
#: controller's failure (DeadlineExceeded, ProgressDeadlineExceeded) rather than its own time-out.
AWAIT_MARGIN_SECONDS = 300
#: pulumi-kubernetes' default await for every kind (provider/pkg/await/await.go: ``10 * time.Minute``).
KUBERNETES_DEFAULT_AWAIT_SECONDS = 600
#: A Helm release's default ``timeout`` (provider/pkg/provider/helm_release.go ``defaultTimeoutSeconds``).
HELM_DEFAULT_TIMEOUT_SECONDS = 300
#: PVC await is fixed (provider/pkg/await/awaiters.go: ``WatchUntil(pvcReady, 5*time.Minute)``).
PVC_AWAIT_SECONDS = 300
#: Await budget of a custom resource with a readiness condition (NodePool, Gateway, ExternalSecret): the
#: Gateway's Programmed includes provisioning its NLB (a few minutes).
CUSTOM_RESOURCE_READY_SECONDS = 900
#: Deleting a NodePool waits for its nodes: Karpenter cordons, drains (tier pods are gone by then: they are
#: deleted first) and terminates each instance, then releases the finalizers.
GPU_NODE_DRAIN_SECONDS = 1800
#: Startup probe period (seconds) of an engine container.
STARTUP_PERIOD_SECONDS = 10


def _ceil_minutes(seconds: float) -> int:
    """Round up to whole minutes, in seconds (budgets read better as minutes)."""
    return int(math.ceil(seconds / 60.0) * 60)


def duration(seconds: int) -> str:
    """A Go duration string for ``customTimeouts`` (``"1h5m"``)."""
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (s, "s")) if v) or "0s"


def parse_duration(text: str) -> int:
    """Seconds of a Go duration string as ``customTimeouts`` carries it (``"1h5m"``, ``"90s"``)."""
    total, number = 0.0, ""
    units = {"h": 3600, "m": 60, "s": 1}
    for ch in text.strip():
        if ch.isdigit() or ch == ".":
            number += ch
        elif ch in units and number:
            total += float(number) * units[ch]
            number = ""
        else:
            raise ValueError(f"not a duration: {text!r}")
    if number:
        raise ValueError(f"not a duration (no unit after {number}): {text!r}")
    return int(total)


# --------------------------------------------------------------------------------------- steps
@dataclass(frozen=True)
class StepTime:
    """One step of a replica's start: typical and slow-end estimates, the budget the cluster gives it, and the
    source of the estimate."""

    step: str
    typical_seconds: int
    upper_seconds: int
    budget_seconds: int
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _family(instance_types: Sequence[str]) -> str:
    """``p`` when any type of the class is a P instance (p4d, p5: the slow boot), else ``g``."""
    return "p" if any(t.split(".")[0].startswith("p") for t in instance_types) else "g"


def node_launch(instance_types: Sequence[str] = ()) -> Figure:
    return GPU_NODE_LAUNCH[_family(instance_types)]


def _engine_key(engine: str, compile_cache: bool) -> str:
    return "vllm-cached" if engine == "vllm" and compile_cache else engine


def image_pull(engine: str = "tgi", fast_pull: bool = False) -> StepTime:
    """An engine image onto a fresh node: containerd's pull, or (``fast_pull``: the class's ``imagePull:
    soci-parallel``) that time scaled by :data:`SOCI_PARALLEL_PULL_TIME`. The budget stays the same: the slow end
    only falls, so the budget that held containerd's slow end holds this one."""
    size = ENGINE_IMAGE_BYTES[engine]
    typical = size.typical / IMAGE_PULL_BYTES_PER_SECOND.typical
    slow = size.slow / IMAGE_PULL_BYTES_PER_SECOND.slow
    source = f"{size.source}; {IMAGE_PULL_BYTES_PER_SECOND.source}"
    if not fast_pull:
        return StepTime("image pull", math.ceil(typical), math.ceil(slow), IMAGE_PULL_BUDGET_SECONDS, source)
    f = SOCI_PARALLEL_PULL_TIME
    return StepTime("image pull (SOCI parallel pull)", math.ceil(typical * f.typical), math.ceil(slow * f.slow),
                    IMAGE_PULL_BUDGET_SECONDS, f"{source}; x{f.typical}-x{f.slow}: {f.source}")


def image_pull_seconds(engine: str = "tgi") -> int:
    """Slow-end pull of an engine image on a fresh node."""
    return image_pull(engine).upper_seconds


def _rate_step(label: str, weights_bytes: int, typical_rate: float, slow_rate: float, source: str) -> StepTime:
    upper = math.ceil(weights_bytes / slow_rate)
    return StepTime(label, math.ceil(weights_bytes / typical_rate), upper, _ceil_minutes(upper * LOAD_BUDGET_FACTOR),
                    source)


def weights_copy(weights_bytes: int, instance_types: Sequence[str] = ()) -> StepTime:
    """``weightsFrom: nvme``: the init container copies the revision from the S3 mirror onto the node's NVMe."""
    rate = S3_READ_BYTES_PER_SECOND[_family(instance_types)]
    return _rate_step("weights copy (S3 mirror -> NVMe)", weights_bytes, rate.typical, rate.slow, rate.source)


def weights_load(weights_bytes: int, weights_from: str = "efs", engine: str = "tgi",
                 instance_types: Sequence[str] = (), shards: int = 1) -> StepTime:
    """Weights from where the release keeps them into GPU memory. The engine's safetensors loader (TGI; vLLM
    from EFS or NVMe) moves at most :data:`SAFETENSORS_LOADER_BYTES_PER_SECOND` per GPU, whatever the storage; vLLM
    streaming from S3 (``weightsFrom: s3``, the Run:ai Model Streamer) moves at the storage's rate."""
    if weights_from == "s3":
        rate = S3_READ_BYTES_PER_SECOND[_family(instance_types)]
        return _rate_step("weights stream (S3 mirror, Run:ai Model Streamer)", weights_bytes, rate.typical, rate.slow,
                          rate.source)
    storage, where = ((NVME_READ_BYTES_PER_SECOND, "NVMe") if weights_from == "nvme"
                      else (EFS_READ_BYTES_PER_SECOND, "EFS"))
    loader = SAFETENSORS_LOADER_BYTES_PER_SECOND
    gpus = max(shards, 1)
    typical, slow = min(storage.typical, loader.typical * gpus), min(storage.slow, loader.slow * gpus)
    bound = "loader" if loader.typical * gpus < storage.typical else "storage"
    return _rate_step(f"weights load ({where}, {bound}-bound)", weights_bytes, typical, slow,
                      f"{storage.source}; {loader.source}")


def warmup(engine: str = "tgi", compile_cache: bool = False) -> StepTime:
    key = _engine_key(engine, compile_cache)
    f = ENGINE_WARMUP[key]
    label = {"tgi": "TGI warm-up", "vllm": "vLLM compile + CUDA graphs (cold cache)",
             "vllm-cached": "vLLM compile + CUDA graphs (persisted cache)"}[key]
    return StepTime(label, math.ceil(f.typical), math.ceil(f.slow), ENGINE_WARMUP_BUDGET_SECONDS[key], f.source)


def replica_steps(weights_bytes: int, engine: str = "tgi", instance_types: Sequence[str] = (),
                  new_node: bool = True, compile_cache: bool = False, fast_pull: bool = False,
                  weights_from: str = "efs", shards: int = 1) -> list[StepTime]:
    """A pod from creation to Ready, step by step. On warm capacity (``new_node=False``) the node is there and
    the placeholder that held it ran the engine image, so neither launch nor pull is waited for. ``fast_pull``: the
    class pulls with SOCI's parallel mode (:func:`image_pull`). ``weights_from``: the tier's ``weightsFrom``
    (``nvme`` adds the init container's copy from the S3 mirror); ``shards``: the replica's GPUs."""
    steps = []
    if new_node:
        launch = node_launch(instance_types)
        steps.append(StepTime(f"GPU node launch ({_family(instance_types)} family)", int(launch.typical),
                              int(launch.slow), NODE_LAUNCH_BUDGET_SECONDS, launch.source))
        steps.append(image_pull(engine, fast_pull))
    steps.append(StepTime("pod start", int(POD_START.typical), int(POD_START.slow), POD_START_BUDGET_SECONDS,
                          POD_START.source))
    if weights_from == "nvme":
        steps.append(weights_copy(weights_bytes, instance_types))
    steps.append(weights_load(weights_bytes, weights_from, engine, instance_types, shards))
    steps.append(warmup(engine, compile_cache))
    return steps


def load_seconds(weights_bytes: int, engine: str = "tgi", compile_cache: bool = False, weights_from: str = "efs",
                 instance_types: Sequence[str] = (), shards: int = 1) -> int:
    """Slow-end estimate from the engine container's start to an open port: weights into GPU memory, then
    warm-up (an ``nvme`` copy runs before, in the init container)."""
    return (weights_load(weights_bytes, weights_from, engine, instance_types, shards).upper_seconds
            + warmup(engine, compile_cache).upper_seconds)


def load_budget_seconds(weights_bytes: int, engine: str = "tgi", compile_cache: bool = False,
                        weights_from: str = "efs", instance_types: Sequence[str] = (), shards: int = 1) -> int:
    """The startup probe's window: the load's and the warm-up's budgets."""
    return (weights_load(weights_bytes, weights_from, engine, instance_types, shards).budget_seconds
            + warmup(engine, compile_cache).budget_seconds)


def startup_failure_threshold(weights_bytes: int, engine: str = "tgi", compile_cache: bool = False,
                              weights_from: str = "efs", instance_types: Sequence[str] = (), shards: int = 1) -> int:
    """Startup probe failures allowed: the probe window is the load's budget."""
    return math.ceil(load_budget_seconds(weights_bytes, engine, compile_cache, weights_from, instance_types, shards)
                     / STARTUP_PERIOD_SECONDS)


def replica_ready_seconds(weights_bytes: int, new_node: bool = True, engine: str = "tgi",
                          instance_types: Sequence[str] = (), compile_cache: bool = False,
                          weights_from: str = "efs", shards: int = 1) -> int:
    """Slow-end estimate from a pod's creation to Ready: (a new GPU node, image pull,) start, load, warm-up."""
    return sum(s.upper_seconds for s in replica_steps(weights_bytes, engine, instance_types, new_node, compile_cache,
                                                      weights_from=weights_from, shards=shards))


def progress_deadline_seconds(weights_bytes: int, engine: str = "tgi", instance_types: Sequence[str] = (),
                              compile_cache: bool = False, weights_from: str = "efs", shards: int = 1) -> int:
    """The Deployment's ``progressDeadlineSeconds``: the budgets of one replica on a fresh node. The controller
    resets it whenever a replica becomes available, so it bounds one step of a rollout."""
    return _ceil_minutes(sum(s.budget_seconds for s in replica_steps(
        weights_bytes, engine, instance_types, True, compile_cache, weights_from=weights_from, shards=shards)))


# --------------------------------------------------------------------------------------- weights sync
def sync_steps(weights_bytes: int, engine: str = "tgi", new_node: bool = False, mirror: bool = False) -> list[StepTime]:
    """A weight-sync Job, step by step: with ``new_node``, a node of the weight-sync NodePool first (Karpenter
    launches one for the pending pod); the image pull on it, the Hub download, the SHA-256 check of every file and,
    with ``mirror`` (a tier with ``weightsFrom: nvme`` or ``s3``), the upload to the S3 mirror. Budgets are the
    Job's as a whole (:func:`sync_deadline_seconds`); each step's is its slow end."""
    steps = []
    if new_node:
        steps.append(StepTime("CPU node launch", int(CPU_NODE_LAUNCH.typical), int(CPU_NODE_LAUNCH.slow),
                              int(CPU_NODE_LAUNCH.slow), CPU_NODE_LAUNCH.source))
    pull = image_pull(engine)
    steps += [StepTime("pod start", int(POD_START.typical), int(POD_START.slow), int(POD_START.slow), POD_START.source),
              StepTime(pull.step, pull.typical_seconds, pull.upper_seconds, pull.upper_seconds, pull.source)]
    for label, rate in (("Hub download", HUB_DOWNLOAD_BYTES_PER_SECOND), ("SHA-256 check", SHA256_BYTES_PER_SECOND),
                        *((("upload to the S3 mirror", S3_UPLOAD_BYTES_PER_SECOND),) if mirror else ())):
        upper = math.ceil(weights_bytes / rate.slow)
        steps.append(StepTime(label, math.ceil(weights_bytes / rate.typical), upper, upper, rate.source))
    return steps


def sync_seconds(weights_bytes: int, engine: str = "tgi", new_node: bool = False, mirror: bool = False) -> int:
    """Slow-end run time of a weight-sync Job (:func:`sync_steps`)."""
    return sum(s.upper_seconds for s in sync_steps(weights_bytes, engine, new_node, mirror))


def sync_typical_seconds(weights_bytes: int, engine: str = "tgi", new_node: bool = False, mirror: bool = False) -> int:
    return sum(s.typical_seconds for s in sync_steps(weights_bytes, engine, new_node, mirror))


def sync_deadline_seconds(weights_bytes: int, engine: str = "tgi", new_node: bool = False, mirror: bool = False) -> int:
    """The Job's ``activeDeadlineSeconds`` (counted from the Job's start, so it includes the node and the image
    pull)."""
    return sync_seconds(weights_bytes, engine, new_node, mirror) + SYNC_DEADLINE_SLACK_SECONDS


def sync_await_seconds(weights_bytes: int, engine: str = "tgi", new_node: bool = False, mirror: bool = False) -> int:
    """What the engine waits for the Job: past its deadline, so the Job's own failure is what it reports."""
    return _ceil_minutes(sync_deadline_seconds(weights_bytes, engine, new_node, mirror) + AWAIT_MARGIN_SECONDS)


# --------------------------------------------------------------------------------------- serving
@dataclass(frozen=True)
class DeploymentBudget:
    create_seconds: int
    update_seconds: int


def deployment_await(weights_bytes: int, max_replicas: int, max_surge: int = 1, engine: str = "tgi",
                     instance_types: Sequence[str] = (), compile_cache: bool = False, weights_from: str = "efs",
                     shards: int = 1) -> DeploymentBudget:
    """Await budgets of an engine Deployment.

    Create: pulumi-kubernetes waits for the first ReplicaSet to be available (one replica: the autoscaler
    is not there yet). Update: it waits for the whole rollout (provider/pkg/await/deployment.go), and with
    ``maxUnavailable: 0`` a rollout at ``replicas.max`` replaces ``max_surge`` replicas per step, each on a
    fresh node in the worst case.
    """
    step = progress_deadline_seconds(weights_bytes, engine, instance_types, compile_cache, weights_from, shards)
    steps = math.ceil(max(max_replicas, 1) / max(max_surge, 1))
    return DeploymentBudget(create_seconds=step + AWAIT_MARGIN_SECONDS,
                            update_seconds=steps * step + AWAIT_MARGIN_SECONDS)


def trigger(scrape_interval: int, polling_interval: int) -> StepTime:
    """A request at zero replicas until KEDA activates the Deployment: Prometheus scrapes the gateway's counter,
    KEDA polls Prometheus. On average half of each interval passes, at worst all of it."""
    total = scrape_interval + polling_interval
    return StepTime("scrape + KEDA poll", math.ceil(total / 2), total, total,
                    "the rendered PodMonitor interval and ScaledObject pollingInterval")


def scale_from_zero_steps(weights_bytes: int, scrape_interval: int, polling_interval: int, engine: str = "tgi",
                          instance_types: Sequence[str] = (), new_node: bool = True,
                          compile_cache: bool = False, fast_pull: bool = False, weights_from: str = "efs",
                          shards: int = 1) -> list[StepTime]:
    """A request arrives at a tier with no replica: the trigger, then one replica becomes ready (on a fresh GPU
    node, or on warm capacity)."""
    return [trigger(scrape_interval, polling_interval),
            *replica_steps(weights_bytes, engine, instance_types, new_node, compile_cache, fast_pull, weights_from,
                           shards)]


def scale_from_zero_seconds(weights_bytes: int, scrape_interval: int, polling_interval: int, engine: str = "tgi",
                            instance_types: Sequence[str] = (), new_node: bool = True,
                            compile_cache: bool = False, weights_from: str = "efs", shards: int = 1) -> int:
    """Slow-end estimate of :func:`scale_from_zero_steps`."""
    return sum(s.upper_seconds for s in scale_from_zero_steps(weights_bytes, scrape_interval, polling_interval,
                                                              engine, instance_types, new_node, compile_cache,
                                                              weights_from=weights_from, shards=shards))


def figures() -> dict[str, Any]:
    """Every estimate with its source (rollout.json's ``assumptions``)."""
    def fig(f: Figure) -> dict[str, Any]:
        return asdict(f)
    return {
        "eksControlPlaneSeconds": fig(EKS_CONTROL_PLANE),
        "hubDownloadBytesPerSecond": fig(HUB_DOWNLOAD_BYTES_PER_SECOND),
        "efsReadBytesPerSecond": fig(EFS_READ_BYTES_PER_SECOND),
        "nvmeReadBytesPerSecond": fig(NVME_READ_BYTES_PER_SECOND),
        "s3ReadBytesPerSecond": {k: fig(v) for k, v in S3_READ_BYTES_PER_SECOND.items()},
        "s3UploadBytesPerSecond": fig(S3_UPLOAD_BYTES_PER_SECOND),
        "safetensorsLoaderBytesPerSecond": fig(SAFETENSORS_LOADER_BYTES_PER_SECOND),
        "sha256BytesPerSecond": fig(SHA256_BYTES_PER_SECOND),
        "imagePullBytesPerSecond": fig(IMAGE_PULL_BYTES_PER_SECOND),
        "sociParallelPullTimeFactor": fig(SOCI_PARALLEL_PULL_TIME),
        "engineImageBytes": {k: fig(v) for k, v in ENGINE_IMAGE_BYTES.items()},
        "gpuNodeLaunchSeconds": {k: fig(v) for k, v in GPU_NODE_LAUNCH.items()},
        "podStartSeconds": fig(POD_START),
        "engineWarmupSeconds": {k: fig(v) for k, v in ENGINE_WARMUP.items()},
        "budgets": {"nodeLaunchSeconds": NODE_LAUNCH_BUDGET_SECONDS, "imagePullSeconds": IMAGE_PULL_BUDGET_SECONDS,
                    "podStartSeconds": POD_START_BUDGET_SECONDS, "engineWarmupSeconds": ENGINE_WARMUP_BUDGET_SECONDS,
                    "loadBudgetFactor": LOAD_BUDGET_FACTOR, "kubernetesDefaultAwaitSeconds":
                        KUBERNETES_DEFAULT_AWAIT_SECONDS},
    }


# --------------------------------------------------------------------------------------- Helm
@dataclass(frozen=True)
class ChartTiming:
    estimate_seconds: int
    """Typical install (``helm --wait``: every Deployment/StatefulSet/DaemonSet of the chart ready)."""
    timeout_seconds: int
    """The release's ``timeout`` (Helm's wait; pulumi-kubernetes ignores customTimeouts for a Release)."""


#: Per chart (versions.CHARTS key). Estimates: image pulls of a few hundred MB on system nodes plus the
#: controllers' start; kube-prometheus-stack also runs its admission-webhook Jobs and creates Prometheus.
CHARTS: dict[str, ChartTiming] = {
    "karpenter-crd": ChartTiming(30, 300),
    "karpenter": ChartTiming(120, 600),
    "nvidia-device-plugin": ChartTiming(30, 300),
    "external-secrets": ChartTiming(120, 600),
    "keda": ChartTiming(120, 600),
    "prometheus-operator-crds": ChartTiming(30, 300),
    "kube-prometheus-stack": ChartTiming(300, 900),
    "dcgm-exporter": ChartTiming(30, 300),
    "envoy-gateway-crds": ChartTiming(30, 300),
    "envoy-gateway": ChartTiming(120, 600),
    "ai-gateway-crds": ChartTiming(30, 300),
    "ai-gateway": ChartTiming(90, 600),
    "cert-manager": ChartTiming(120, 600),
    "external-dns": ChartTiming(60, 300),
    "aws-load-balancer-controller": ChartTiming(90, 600),
    "opentelemetry-collector": ChartTiming(60, 300),
}
