"""How long things take: the one place that states the rollout's timing assumptions (pure, no Pulumi).

Every deadline the manifests set (the sync Job's ``activeDeadlineSeconds``, the startup probe, the
Deployment's ``progressDeadlineSeconds``), every await budget the engine gets (``customTimeouts``, a Helm
release's ``timeout``) and every estimate in ``build/<stack>/rollout.md`` is computed here from the numbers
below, so a budget can never be sized from one assumption and estimated from another.

The numbers are deliberately conservative (the slow end of what these services deliver, not the typical);
change one and every budget, deadline and estimate moves with it in the render.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# --------------------------------------------------------------------------------------- assumptions
#: Hub (and its CDN) download rate one weight-sync pod sustains. huggingface_hub downloads files one after
#: another per process; 50 MB/s is the slow end seen from one EC2 instance through a NAT gateway.
HUB_BYTES_PER_SECOND = 50_000_000
#: Rate a TGI replica reads its weights from the EFS cache (elastic throughput; reads per client are capped
#: far above this, but small files and first-byte latency make 200 MB/s a safe floor).
EFS_READ_BYTES_PER_SECOND = 200_000_000
#: Size of the engine image a new node pulls (TGI 3.3 is ~10 GB unpacked) and the rate a node pulls and
#: unpacks it from the registry.
ENGINE_IMAGE_BYTES = 10_000_000_000
IMAGE_PULL_BYTES_PER_SECOND = 50_000_000
#: Karpenter sees the pending pod, launches the instance, it boots the AL2023 NVIDIA AMI, joins the
#: cluster and the device plugin advertises its GPUs. GPU instances (p5 in particular) boot slowly.
GPU_NODE_LAUNCH_SECONDS = 600
#: The same for a CPU node of the weight-sync NodePool (gpu/karpenter.py sync_node_pool): the standard AL2023
#: AMI, no driver or device plugin to wait for. Assumed (not measured here): 3 minutes, the slow end.
CPU_NODE_LAUNCH_SECONDS = 180
#: TGI's warm-up after the weights are in GPU memory (prefill of the full batch budget, CUDA graphs).
ENGINE_WARMUP_SECONDS = 300
#: Scheduling, volume mount and container start of a pod on a node that is already there.
POD_START_SECONDS = 60
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


# --------------------------------------------------------------------------------------- weights
def image_pull_seconds() -> int:
    return math.ceil(ENGINE_IMAGE_BYTES / IMAGE_PULL_BYTES_PER_SECOND)


def sync_seconds(weights_bytes: int, new_node: bool = False) -> int:
    """Estimated run time of a weight-sync Job: with ``new_node``, a node of the weight-sync NodePool first
    (Karpenter launches one for the pending pod); the image pull on it, then the Hub download."""
    return ((CPU_NODE_LAUNCH_SECONDS if new_node else 0) + POD_START_SECONDS + image_pull_seconds()
            + math.ceil(weights_bytes / HUB_BYTES_PER_SECOND))


def sync_deadline_seconds(weights_bytes: int, new_node: bool = False) -> int:
    """The Job's ``activeDeadlineSeconds`` (counted from the Job's start, so it includes the node and the image
    pull)."""
    return sync_seconds(weights_bytes, new_node) + SYNC_DEADLINE_SLACK_SECONDS


def sync_await_seconds(weights_bytes: int, new_node: bool = False) -> int:
    """What the engine waits for the Job: past its deadline, so the Job's own failure is what it reports."""
    return _ceil_minutes(sync_deadline_seconds(weights_bytes, new_node) + AWAIT_MARGIN_SECONDS)


# --------------------------------------------------------------------------------------- serving
def load_seconds(weights_bytes: int) -> int:
    """From container start to an open port: weights from EFS into GPU memory, then warm-up."""
    return ENGINE_WARMUP_SECONDS + math.ceil(weights_bytes / EFS_READ_BYTES_PER_SECOND)


def startup_failure_threshold(weights_bytes: int) -> int:
    """Startup probe failures allowed: the probe window covers the worst-case load, with 50% head room."""
    return math.ceil(load_seconds(weights_bytes) * 1.5 / STARTUP_PERIOD_SECONDS)


def replica_ready_seconds(weights_bytes: int, new_node: bool = True) -> int:
    """Estimated time from a pod's creation to Ready: (a new GPU node,) image pull, load, warm-up."""
    node = GPU_NODE_LAUNCH_SECONDS if new_node else 0
    pull = image_pull_seconds() if new_node else 0
    return POD_START_SECONDS + node + pull + load_seconds(weights_bytes)


def progress_deadline_seconds(weights_bytes: int) -> int:
    """The Deployment's ``progressDeadlineSeconds``: one replica on a fresh node, with 50% head room. The
    controller resets it whenever a replica becomes available, so it bounds one step of a rollout."""
    return _ceil_minutes(replica_ready_seconds(weights_bytes) * 1.5)


@dataclass(frozen=True)
class DeploymentBudget:
    create_seconds: int
    update_seconds: int


def deployment_await(weights_bytes: int, max_replicas: int, max_surge: int = 1) -> DeploymentBudget:
    """Await budgets of an engine Deployment.

    Create: pulumi-kubernetes waits for the first ReplicaSet to be available (one replica: the autoscaler
    is not there yet). Update: it waits for the whole rollout (provider/pkg/await/deployment.go), and with
    ``maxUnavailable: 0`` a rollout at ``replicas.max`` replaces ``max_surge`` replicas per step, each on a
    fresh node in the worst case.
    """
    step = progress_deadline_seconds(weights_bytes)
    steps = math.ceil(max(max_replicas, 1) / max(max_surge, 1))
    return DeploymentBudget(create_seconds=step + AWAIT_MARGIN_SECONDS,
                            update_seconds=steps * step + AWAIT_MARGIN_SECONDS)


def scale_from_zero_seconds(weights_bytes: int, scrape_interval: int, polling_interval: int) -> int:
    """A request arrives at a tier with no replica: Prometheus scrapes the gateway's counter, KEDA polls and
    activates the Deployment, then one replica becomes ready on a fresh GPU node."""
    return scrape_interval + polling_interval + replica_ready_seconds(weights_bytes)


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
