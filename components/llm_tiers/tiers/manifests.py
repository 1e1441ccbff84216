"""Kubernetes manifests of one model tier (pure dicts): weights PVC, sync Job, engine Deployment (TGI or vLLM,
per release), Service, PodDisruptionBudget, NetworkPolicy, ServiceAccounts. ``ModelTier`` turns them into resources.

Both engines serve on the same container port named ``http`` (engine_settings.HTTP_PORT), read weights from the
same cache with ``HF_HUB_OFFLINE=1``, are probed on ``/health`` and scraped on ``/metrics`` there; the pod
template carries ``llm-tiers.io/engine`` so metrics can be attributed to the engine that produced them. vLLM
specifics (tiers/vllm.py): it drains for ``--shutdown-timeout`` seconds on SIGTERM, and it runs as a non-root
UID (vllm.RUN_AS_USER) because its image can.

Facts these manifests rely on: TGI serves HTTP, /health and /metrics on its --port
(8080 here; the Service keeps port 80) once weights are loaded (the port is closed before), drains for up to
90 s twice on SIGTERM, reads HOSTNAME and <SERVICE>_PORT from the environment (hence explicit
--hostname/--port and no service links), and needs a memory-backed /dev/shm for multi-GPU.

Hardening (checkov runs on every render, tests/test_checkov.py): read-only root filesystems with an
``emptyDir`` for scratch, every capability dropped, no privilege escalation, the HF token as a mounted file.
What TGI 3.3.6 writes outside /data and /dev/shm (launcher/src/main.rs, server/, tgi-entrypoint.sh): the
shard sockets ``/tmp/text-generation-server-<rank>`` (--shard-uds-path), and the caches Triton, CUDA,
FlashInfer and outlines keep under $HOME; ``HOME=/tmp`` puts those on the scratch volume. ``ldconfig`` in
the entrypoint cannot write /etc/ld.so.cache and says "not a big deal" (the image's LD_LIBRARY_PATH already
points at libpython). The image cannot run as non-root (security_exceptions.TGI_ROOT).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from llm_tiers.tiers import capacity
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.gpu import karpenter
from llm_tiers import naming
from llm_tiers import security as security_exceptions
from llm_tiers.cluster import system_capacity as sc
from llm_tiers.tiers import engines, tgi, vllm
from llm_tiers.tiers.engine_settings import CACHE_DIR, HTTP_PORT, EngineSettings
from llm_tiers import timing
from llm_tiers.config.schema import TierConfig
from llm_tiers.tiers.models_lock import ModelLockEntry

GIB = 2**30
SYNC_SCRIPT_KEY = "sync_weights.py"
TIER_LABEL = f"{naming.LABEL_DOMAIN}/tier"
RELEASE_LABEL = f"{naming.LABEL_DOMAIN}/release"
COMPONENT_LABEL = f"{naming.LABEL_DOMAIN}/component"
# The serving engine of a release's pods (``tgi`` | ``vllm``), on the pod template: Prometheus relabels the
# engine of every scraped series from it (``__meta_kubernetes_pod_label_llm_tiers_io_engine``).
ENGINE_LABEL = f"{naming.LABEL_DOMAIN}/engine"
# TGI drains for up to 90 s, twice (launcher, then shards): the grace period must exceed both, plus preStop.
PRESTOP_SECONDS = 15
TERMINATION_GRACE_SECONDS = 2 * 90 + PRESTOP_SECONDS + 15
# vLLM drains for --shutdown-timeout after SIGTERM, which arrives once preStop ends: the same grace period
# holds preStop, the drain and 15 s for the process to exit.
VLLM_SHUTDOWN_TIMEOUT_SECONDS = TERMINATION_GRACE_SECONDS - PRESTOP_SECONDS - 15
# How many bytes a release syncs and loads (read by the rollout plan's estimates, components/llm_tiers/preview/rollout.py).
WEIGHTS_BYTES_ANNOTATION = f"{naming.LABEL_DOMAIN}/weights-bytes"
# Deadlines, probe windows and await budgets come from components/llm_tiers/timing.py (one set of assumptions).
SCRATCH_DIR = "/tmp"
# vLLM's cache root (compile cache) on the weights volume: persisted across restarts and replicas of a revision.
VLLM_COMPILE_CACHE = f"{CACHE_DIR}/vllm-cache"
SCRATCH_LIMIT = "4Gi"   # shard sockets and JIT caches (Triton, CUDA, FlashInfer): small, rebuilt on restart
HF_TOKEN_DIR = "/var/run/secrets/huggingface"
HF_TOKEN_FILE = "token"
SERVICE_PORT = 80       # the tier Service's port (routes and clients); it targets the container's "http" port
# Every finding checkov raises on a TGI container that has no real fix (security_exceptions.SKIPS).
_TGI_SKIPS_ROOT = ("CKV_K8S_23", "CKV_K8S_40")
_TGI_SKIPS = ("CKV_K8S_43", "CKV_K8S_15")


@dataclass(frozen=True)
class Release:
    """One deployable release of a tier: ``live`` or ``candidate``."""

    name: str  # "live" | "candidate"
    model_id: str
    lock: ModelLockEntry
    image: str
    extra_args: tuple[str, ...]
    engine: str = "tgi"  # "tgi" | "vllm": switching it is a blue/green event like a model change


def release_run_as_user(release: Release, run_as_user: Optional[int]) -> Optional[int]:
    """The UID a release's containers run as: ``run_as_user`` when given; otherwise vLLM's non-root UID for a
    vLLM release (its image can run as one) and None (root) for TGI (security_exceptions.TGI_ROOT)."""
    if run_as_user is not None:
        return run_as_user
    return vllm.RUN_AS_USER if release.engine == "vllm" else None


def object_name(tier: str, release: str, suffix: str = "") -> str:
    base = f"{tier}-{release}" if release else tier
    return f"{base}-{suffix}" if suffix else base


def labels(tier: TierConfig, release: Optional[str], component: str, engine: str = "tgi") -> dict[str, str]:
    """``app.kubernetes.io/name`` is the engine of a release's Deployment and pods (``tgi`` elsewhere, as
    before vLLM: renaming it on shared objects would only churn them)."""
    out = naming.k8s_labels(engine, tier.name, **{TIER_LABEL: tier.name, COMPONENT_LABEL: component})
    if release:
        out[RELEASE_LABEL] = release
    return out


def selector(tier: TierConfig, release: str) -> dict[str, str]:
    return {TIER_LABEL: tier.name, RELEASE_LABEL: release, COMPONENT_LABEL: "server"}


def cache_key(release: Release) -> str:
    """What a weights cache holds, in its name: the model's revision (a commit of one repository, so it names
    the model too). Live and candidate releases of the same revision share one cache and one sync Job, and
    promoting a candidate renames nothing, so nothing is downloaded twice."""
    return release.lock.revision[:10]


def weights_claim_name(tier: TierConfig, release: Release) -> str:
    return f"{tier.name}-weights-{cache_key(release)}"


def sync_job_name(tier: TierConfig, release: Release) -> str:
    return f"{tier.name}-sync-{cache_key(release)}"


def pvc_size_gib(lock: ModelLockEntry) -> int:
    """Weights plus 25% headroom (EFS does not enforce it, but it documents intent and quota tooling reads it)."""
    # A manual lock entry may lack some sizes: its weightsBytes (the index's tensor total) is the floor.
    total = max(sum(f.size or 0 for f in lock.files), lock.weights_bytes)
    return max(1, math.ceil(total * 1.25 / GIB))


def pod_resources(tier: TierConfig, instance_types: list[str]) -> dict[str, Any]:
    """CPU and memory a replica requests: its GPU share of the smallest instance type in the class, less
    room for the kubelet and daemon sets (``capacity.replica_requests``); GPUs requested = limited."""
    cpu, memory_gib = capacity.replica_requests([gpu_catalog.lookup(t) for t in instance_types], tier.gpus_per_replica)
    gpus = str(tier.gpus_per_replica)
    return {"requests": {"cpu": str(cpu), "memory": f"{memory_gib}Gi", karpenter.GPU_RESOURCE: gpus},
            "limits": {"memory": f"{memory_gib}Gi", karpenter.GPU_RESOURCE: gpus}}


def _cache_annotations(release: Release) -> dict[str, str]:
    return {f"{naming.LABEL_DOMAIN}/model": release.model_id, f"{naming.LABEL_DOMAIN}/revision": release.lock.revision,
            WEIGHTS_BYTES_ANNOTATION: str(release.lock.weights_bytes)}


def weights_pvc(tier: TierConfig, release: Release, namespace: str, storage_class: str) -> dict[str, Any]:
    """The release's weights cache (RWX on EFS), named by what it holds (``cache_key``). A PVC's size cannot
    shrink and the EFS driver cannot expand one (it implements no ControllerExpandVolume): a new revision is
    a new claim, never a resize. EFS ignores the size; it documents intent."""
    return {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": weights_claim_name(tier, release), "namespace": namespace,
                     "labels": labels(tier, None, "weights"), "annotations": _cache_annotations(release)},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": storage_class,
                 "resources": {"requests": {"storage": f"{pvc_size_gib(release.lock)}Gi"}}},
    }


def sync_job(tier: TierConfig, release: Release, namespace: str, script_config_map: str,
             hf_token_secret: Optional[str], node_selector: dict[str, str],
             run_as_user: Optional[int] = None, tolerations: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The Job that fills the weights PVC. Its name carries the revision: a new revision is a new Job.

    The engine waits for it to complete, past its own ``activeDeadlineSeconds`` (timing.py), and
    ``pulumi.com/replaceUnready`` makes the next ``pulumi up`` replace a Job that failed (say, on a revoked
    token), instead of leaving the failed one in place forever."""
    lock = release.lock
    run_as_user = release_run_as_user(release, run_as_user)
    files = [{"path": f.path, "size": f.size} for f in lock.files]
    env = [{"name": "HF_HOME", "value": CACHE_DIR}, {"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"},
           {"name": "HOME", "value": SCRATCH_DIR}]
    mounts = [{"name": "weights", "mountPath": CACHE_DIR},
              {"name": "scripts", "mountPath": "/scripts", "readOnly": True},
              {"name": "scratch", "mountPath": SCRATCH_DIR}]
    volumes: list[dict[str, Any]] = [
        {"name": "weights", "persistentVolumeClaim": {"claimName": weights_claim_name(tier, release)}},
        {"name": "scripts", "configMap": {"name": script_config_map}},
        {"name": "scratch", "emptyDir": {"sizeLimit": SCRATCH_LIMIT}},
    ]
    if hf_token_secret:
        # A file, not an environment variable (env leaks into crash dumps and `kubectl describe`):
        # huggingface_hub and the sync script read HF_TOKEN_PATH.
        env.append({"name": "HF_TOKEN_PATH", "value": f"{HF_TOKEN_DIR}/{HF_TOKEN_FILE}"})
        mounts.append({"name": "hf-token", "mountPath": HF_TOKEN_DIR, "readOnly": True})
        volumes.append({"name": "hf-token", "secret": {"secretName": hf_token_secret, "defaultMode": 0o400,
                                                        "items": [{"key": "HF_TOKEN", "path": HF_TOKEN_FILE}]}})
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": sync_job_name(tier, release), "namespace": namespace,
                     "labels": labels(tier, None, "weights-sync"),
                     "annotations": {**_cache_annotations(release), naming.REPLACE_UNREADY: "true",
                                     **_skips(run_as_user)}},
        "spec": {
            "backoffLimit": 4,
            # Tolerating a taint means the weight-sync NodePool: a node is launched for the pod first.
            "activeDeadlineSeconds": timing.sync_deadline_seconds(lock.weights_bytes, release.engine,
                                                                  new_node=bool(tolerations)),
            "template": {
                "metadata": {"labels": labels(tier, None, "weights-sync")},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": object_name(tier.name, "", "weights-sync"),
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "nodeSelector": node_selector,
                    **({"tolerations": [dict(t) for t in tolerations]} if tolerations else {}),
                    "securityContext": _pod_security(run_as_user),
                    "containers": [{
                        "name": "sync",
                        "image": release.image,
                        # The vLLM image has python3 only (docker/Dockerfile: update-alternatives python3).
                        "command": ["python3" if release.engine == "vllm" else "python",
                                    f"/scripts/{SYNC_SCRIPT_KEY}"],
                        "args": ["--model-id", release.model_id, "--revision", lock.revision,
                                 "--files", json.dumps(files, separators=(",", ":")),
                                 "--cache-dir", f"{CACHE_DIR}/hub"],
                        "env": env,
                        # Runs on the weight-sync NodePool's nodes (gpu/karpenter.py), sized from these requests; the
                        # CPU limit keeps one download from starving the others beside it.
                        "resources": sc.WEIGHT_SYNC.resources(),
                        "securityContext": _container_security(),
                        # Exits by itself; "alive" is the Job's activeDeadlineSeconds.
                        "volumeMounts": mounts,
                    }],
                    "volumes": volumes,
                },
            },
        },
    }


def engine_settings(tier: TierConfig, release: Release, otlp_endpoint: Optional[str]) -> EngineSettings:
    """What the release asks of its engine, from the tier keys (the same for TGI and vLLM)."""
    return EngineSettings(
        model_id=release.model_id, revision=release.lock.revision, max_input_tokens=tier.max_input_tokens,
        max_total_tokens=tier.max_total_tokens, num_shard=tier.gpus_per_replica,
        max_batch_prefill_tokens=tier.max_batch_prefill_tokens, max_concurrent_requests=tier.max_concurrent_requests,
        quantize=tier.quantize, dtype=tier.dtype, trust_remote_code=tier.trust_remote_code,
        otlp_endpoint=otlp_endpoint, otlp_service_name=tier.name if otlp_endpoint else None,
        extra_args=release.extra_args, served_model_name=tier.name, served_model_aliases=tuple(tier.aliases),
        max_output_tokens=tier.max_output_tokens,
        checkpoint_quantization=release.lock.quantization,
        shutdown_timeout_seconds=VLLM_SHUTDOWN_TIMEOUT_SECONDS if release.engine == "vllm" else None)


def _container_security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}


def _pod_security(run_as_user: Optional[int]) -> dict[str, Any]:
    """The pinned TGI image runs only as root (security_exceptions.TGI_ROOT); with ``run_as_user`` (an image
    that can) the pod runs as that UID/GID, and ``fsGroup`` makes its emptyDirs and secret files its own."""
    out: dict[str, Any] = {"seccompProfile": {"type": "RuntimeDefault"}}
    if run_as_user is not None:
        out.update(runAsNonRoot=True, runAsUser=run_as_user, runAsGroup=run_as_user, fsGroup=run_as_user)
    return out


def _skips(run_as_user: Optional[int], *more: str) -> dict[str, str]:
    return security_exceptions.annotations(*(() if run_as_user is not None else _TGI_SKIPS_ROOT), *_TGI_SKIPS, *more)


def deployment(tier: TierConfig, release: Release, namespace: str, instance_types: list[str],
               otlp_endpoint: Optional[str] = None, autoscaled: bool = True,
               run_as_user: Optional[int] = None) -> dict[str, Any]:
    """The release's Deployment. When ``autoscaled``, ``replicas`` is left to KEDA's HPA (a value here would
    reset the autoscaler's choice on every deploy); otherwise it is ``replicas.min`` (at least 1)."""
    probe = {"httpGet": {"path": "/health", "port": "http"}}
    sched = karpenter.tier_scheduling(tier.gpu_class)
    run_as_user = release_run_as_user(release, run_as_user)
    env = [
        {"name": "HF_HOME", "value": CACHE_DIR},
        # Serving pods never call the Hub and hold no token: weights come only from the synced cache.
        {"name": "HF_HUB_OFFLINE", "value": "1"},
        {"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"},
        # Triton, CUDA, FlashInfer, outlines (and vLLM's torch.compile cache, ~/.cache/vllm) keep JIT caches under
        # $HOME: on the scratch volume, as the root filesystem is read-only.
        {"name": "HOME", "value": SCRATCH_DIR},
    ]
    if release.engine == "vllm":
        env += [
            # A UID without a passwd entry: what the image's non-root entrypoint would export
            # (docker/entrypoints/vllm-nonroot-entrypoint.sh), for getpass.getuser() in torch's caches.
            {"name": "USER", "value": vllm.USER_NAME},
            {"name": "LOGNAME", "value": vllm.USER_NAME},
            # vLLM reports usage to its maintainers unless told not to (vllm/envs.py VLLM_NO_USAGE_STATS and
            # VLLM_DO_NOT_TRACK / DO_NOT_TRACK; vllm/usage/usage_lib.py); TGI gets --usage-stats off.
            {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
            {"name": "DO_NOT_TRACK", "value": "1"},
            # vLLM's compile cache on the weights volume (shared by every replica of the revision): torch.compile
            # artifacts go to $VLLM_CACHE_ROOT/torch_compile_cache/<hash of the config> (vllm/envs.py
            # VLLM_CACHE_ROOT; vllm/compilation/backends.py), so only the first start of a revision compiles
            # (~96 s cold, ~20 s from the cache: timing.ENGINE_WARMUP) and a scale-from-zero reuses it.
            {"name": "VLLM_CACHE_ROOT", "value": VLLM_COMPILE_CACHE},
        ]
    if otlp_endpoint:
        if release.engine == "vllm":
            # The OpenTelemetry SDK's service name (TGI takes --otlp-service-name instead).
            env.append({"name": "OTEL_SERVICE_NAME", "value": tier.name})
        env.append({"name": "OTEL_RESOURCE_ATTRIBUTES",
                    "value": f"inference.backend={release.engine},model_id={release.model_id},tier={tier.name}"})
    shm = "2Gi" if tier.gpus_per_replica > 1 else "1Gi"
    pod_labels = {**labels(tier, release.name, "server", release.engine), **selector(tier, release.name),
                  ENGINE_LABEL: release.engine}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": object_name(tier.name, release.name), "namespace": namespace,
                     "labels": {**labels(tier, release.name, "server", release.engine), ENGINE_LABEL: release.engine},
                     "annotations": {**_cache_annotations(release),
                                     **({f"{naming.LABEL_DOMAIN}/max-context": str(release.lock.max_position_embeddings)}
                                        if release.lock.max_position_embeddings else {}),
                                     **_skips(run_as_user, "CKV_K8S_11")}},
        "spec": {
            **({} if autoscaled else {"replicas": max(tier.replicas.min, 1)}),
            "revisionHistoryLimit": 5,
            # One replica on a fresh GPU node (launch, image pull, weight load, warm-up), with head room.
            "progressDeadlineSeconds": timing.progress_deadline_seconds(release.lock.weights_bytes, release.engine,
                                                                        instance_types),
            "selector": {"matchLabels": selector(tier, release.name)},
            # A new GPU pod must be ready before an old one goes: capacity never dips during a rollout.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": pod_labels,
                             "annotations": {f"{naming.LABEL_DOMAIN}/model": release.model_id,
                                             f"{naming.LABEL_DOMAIN}/revision": release.lock.revision}},
                "spec": {
                    "serviceAccountName": object_name(tier.name, "", "server"),
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
                    "nodeSelector": sched["nodeSelector"],
                    "tolerations": sched["tolerations"],
                    "securityContext": _pod_security(run_as_user),
                    "topologySpreadConstraints": [
                        {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
                         "labelSelector": {"matchLabels": selector(tier, release.name)}}
                        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")],
                    "containers": [{
                        "name": release.engine,
                        "image": release.image,
                        "args": engines.args(release.engine, engine_settings(tier, release, otlp_endpoint)),
                        "env": env,
                        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
                        "resources": pod_resources(tier, instance_types),
                        # The port opens only after weights are loaded and warmed up.
                        "startupProbe": {**probe, "periodSeconds": timing.STARTUP_PERIOD_SECONDS,
                                         "failureThreshold": timing.startup_failure_threshold(
                                             release.lock.weights_bytes, release.engine)},
                        "readinessProbe": {**probe, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 2},
                        "livenessProbe": {**probe, "periodSeconds": 15, "timeoutSeconds": 5, "failureThreshold": 4},
                        # Let the gateway and endpoints stop routing here before the engine starts draining.
                        "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SECONDS}}},
                        # Port 8080 needs no capability back. The cache stays writable: TGI's download-weights
                        # step runs at every start (offline here) and huggingface_hub may keep lock files there.
                        "securityContext": _container_security(),
                        "volumeMounts": [{"name": "weights", "mountPath": CACHE_DIR},
                                         {"name": "shm", "mountPath": "/dev/shm"},
                                         {"name": "scratch", "mountPath": SCRATCH_DIR}],
                    }],
                    "volumes": [
                        {"name": "weights", "persistentVolumeClaim": {"claimName": weights_claim_name(tier, release)}},
                        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": shm}},
                        {"name": "scratch", "emptyDir": {"sizeLimit": SCRATCH_LIMIT}},
                    ],
                },
            },
        },
    }


def service(tier: TierConfig, namespace: str) -> dict[str, Any]:
    """The tier's stable address; ``serve`` picks which release's pods it sends to (the blue/green switch)."""
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": tier.name, "namespace": namespace, "labels": labels(tier, None, "server")},
        "spec": {"type": "ClusterIP", "selector": selector(tier, tier.serve),
                 "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}]},
    }


def pdb(tier: TierConfig, release: Release, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": object_name(tier.name, release.name), "namespace": namespace,
                     "labels": labels(tier, release.name, "server")},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(tier, release.name)},
                 "unhealthyPodEvictionPolicy": "AlwaysAllow"},
    }


BENCHMARK_COMPONENT = "benchmark"


def benchmark_pod_selector(tier: TierConfig) -> dict[str, str]:
    """Labels of the tier's benchmark pods (components/llm_tiers/benchmark/manifests.py sets them)."""
    return {TIER_LABEL: tier.name, COMPONENT_LABEL: BENCHMARK_COMPONENT}


def network_policy(tier: TierConfig, namespace: str, gateway_namespace: str, monitoring_namespace: str,
                   allow_otlp: bool, gateway_pod_labels: Optional[dict[str, str]] = None,
                   admit_benchmark: bool = False) -> dict[str, Any]:
    """Serving pods accept HTTP only from the gateway's proxy pods and Prometheus's namespace, and talk only
    to DNS (and the OTLP collector when tracing is on). With ``admit_benchmark``, the tier's own benchmark
    pods (same namespace, ``benchmark_pod_selector``) may call the API too, bypassing the gateway's tenant
    limits on purpose."""
    ns = naming.namespace_peer
    http = [{"port": "http", "protocol": "TCP"}]
    gateway = {**ns(gateway_namespace), **({"podSelector": {"matchLabels": dict(gateway_pod_labels)}}
                                           if gateway_pod_labels else {})}
    egress = [naming.dns_egress()]
    if allow_otlp:
        egress.append({"ports": [{"port": 4317, "protocol": "TCP"}, {"port": 4318, "protocol": "TCP"}]})
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": tier.name, "namespace": namespace, "labels": labels(tier, None, "server")},
        "spec": {
            "podSelector": {"matchLabels": {TIER_LABEL: tier.name, COMPONENT_LABEL: "server"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [gateway], "ports": http},
                        {"from": [ns(monitoring_namespace)], "ports": http},
                        *([{"from": [{"podSelector": {"matchLabels": benchmark_pod_selector(tier)}}], "ports": http}]
                          if admit_benchmark else [])],
            "egress": egress,
        },
    }


def sync_network_policy(tier: TierConfig, namespace: str) -> dict[str, Any]:
    """Weight-sync pods serve nothing (no ingress) and reach only DNS and HTTPS (the Hub and its CDN)."""
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": object_name(tier.name, "", "weights-sync"), "namespace": namespace,
                     "labels": labels(tier, None, "weights-sync")},
        "spec": {
            "podSelector": {"matchLabels": {TIER_LABEL: tier.name, COMPONENT_LABEL: "weights-sync"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [naming.dns_egress(), {"ports": [{"port": 443, "protocol": "TCP"}]}],
        },
    }


def service_account(name: str, namespace: str, tier: TierConfig, component: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace, "labels": labels(tier, None, component)},
            "automountServiceAccountToken": False}


# Engine of a scrape target when its pod has no llm-tiers.io/engine label (pods created before the label
# existed): from the server container's image repository, whose last path segment names the engine
# (versions.IMAGES). Prometheus relabel regexes are anchored at both ends.
ENGINE_IMAGE_PATTERNS = {"tgi": "(.*/)?text-generation-inference[:@].*", "vllm": "(.*/)?vllm-openai[:@].*"}


def pod_monitor(tier: TierConfig, namespace: str) -> dict[str, Any]:
    """Scrape the engine's /metrics on its HTTP port and attribute every series to tier, release, model and
    engine. The engine comes from each pod, so a tier whose live and candidate releases run different engines
    is attributed per release: the pod label ``llm-tiers.io/engine`` wins, the container image is the fallback
    for pods without it (``__meta_kubernetes_pod_label_*`` and ``__meta_kubernetes_pod_container_image`` are
    Prometheus kubernetes_sd pod-role meta labels). vLLM labels its own series ``engine`` (its engine-core
    index, "0": vllm 0.33.0 ``vllm/v1/metrics/loggers.py``); with ``honorLabels`` false (the default kept
    here) Prometheus keeps the target's ``engine`` and renames vLLM's to ``exported_engine``, which
    ``metricRelabelings`` (applied after that merge) renames to ``engine_index``. Renamed, not dropped: a pod
    with several engine cores (data parallel) would otherwise expose duplicate series."""
    meta = "__meta_kubernetes_pod_"
    by_image = [{"action": "replace", "sourceLabels": [f"{meta}container_image"], "regex": pattern,
                 "targetLabel": "engine", "replacement": engine}
                for engine, pattern in ENGINE_IMAGE_PATTERNS.items()]
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
        "metadata": {"name": tier.name, "namespace": namespace, "labels": labels(tier, None, "server")},
        "spec": {
            "selector": {"matchLabels": {TIER_LABEL: tier.name, COMPONENT_LABEL: "server"}},
            "podMetricsEndpoints": [{
                "port": "http", "path": "/metrics", "interval": "15s",
                "relabelings": [
                    {"action": "replace", "targetLabel": "tier", "replacement": tier.name},
                    {"action": "replace", "sourceLabels": [f"{meta}label_llm_tiers_io_release"], "targetLabel": "release"},
                    {"action": "replace", "sourceLabels": [f"{meta}annotation_llm_tiers_io_model"],
                     "targetLabel": "model_id"},
                    *by_image,
                    # The pod's own engine label, where it has one, overrides the image's guess.
                    {"action": "replace", "sourceLabels": [f"{meta}label_llm_tiers_io_engine"], "regex": "(.+)",
                     "targetLabel": "engine", "replacement": "$1"},
                ],
                "metricRelabelings": [
                    {"action": "replace", "sourceLabels": ["exported_engine"], "regex": "(.+)",
                     "targetLabel": "engine_index", "replacement": "$1"},
                    {"action": "labeldrop", "regex": "exported_engine"},
                ],
            }],
        },
    }


# Envoy cluster counters the wake-up query reads. Envoy creates every counter of a cluster when the cluster is
# created (values 0), so the series exist before the first request; a cluster exists for an FQDN Backend
# whether or not the Service has endpoints (envoyproxy/gateway internal/gatewayapi/route.go at v1.9.0 turns
# only a *Service* backend without ready endpoints into a direct 503 without a cluster). At zero pods the
# ClusterIP refuses the connection: the attempt counts in upstream_cx_connect_fail; with pods, requests count
# in upstream_rq_total.
WAKE_COUNTERS = ("envoy_cluster_upstream_rq_total", "envoy_cluster_upstream_cx_connect_fail")


def gateway_wake_query(tier: TierConfig, gateway_namespace: str, clusters: Sequence[str] = ()) -> str:
    """Requests reaching the gateway for this tier, counted even while the tier has no pod: the signal that
    wakes a scaled-to-zero tier. ``clusters``: the Envoy clusters carrying the tier's traffic (the single
    route's rule, ``aigw.tier_cluster``, and the per-tier route's while it is served); default: the per-tier
    route's. Each term falls back to 0, so one missing series does not blank the sum."""
    names = list(clusters) or [f"httproute/{gateway_namespace}/{tier.name}/rule/0"]
    # Regex metacharacters escaped ("-" needs none), each backslash doubled inside the PromQL string.
    match = "|".join(re.escape(n).replace("\\-", "-").replace("\\", "\\\\") for n in names)
    sel = f'envoy_cluster_name=~"{match}"'
    return " + ".join(f"(sum(rate({c}{{{sel}}}[2m])) or vector(0))" for c in WAKE_COUNTERS)


def scaled_object(tier: TierConfig, release: Release, namespace: str, prometheus_url: str,
                  gateway_namespace: str, gateway_clusters: Sequence[str] = ()) -> dict[str, Any]:
    """KEDA ScaledObject (it owns the release's HPA): queue depth per replica and GPU utilization from the
    recorded signals, explicit HPA behaviour (fast up, slow stabilized down so streams are not cut),
    fallback replicas if Prometheus is unreachable, and for sporadic tiers scale to zero with a wake-up
    trigger on gateway traffic."""
    sel = f'tier="{tier.name}",release="{release.name}"'
    a = tier.autoscaling
    prom = lambda name, query, threshold, metric_type: {  # noqa: E731
        "type": "prometheus", "name": name, "metricType": metric_type,
        "metadata": {"serverAddress": prometheus_url, "query": query, "threshold": str(threshold)}}
    triggers = [
        prom("queue-depth", f"sum(llm:tier_queue_depth{{{sel}}})", a.queue_depth_per_replica, "AverageValue"),
        prom("gpu-utilization", f"avg(llm:tier_gpu_utilization_percent{{{sel}}})", a.gpu_utilization_percent, "Value"),
    ]
    if tier.sporadic:
        wake = prom("gateway-requests", gateway_wake_query(tier, gateway_namespace, gateway_clusters), 1, "AverageValue")
        wake["metadata"]["activationThreshold"] = "0.01"
        triggers.append(wake)
    name = object_name(tier.name, release.name)
    return {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(tier, release.name, "server")},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicaCount": tier.replicas.min,
            "maxReplicaCount": tier.replicas.max,
            "pollingInterval": 15,
            "cooldownPeriod": a.idle_minutes_before_zero * 60,
            "fallback": {"failureThreshold": 3, "replicas": max(tier.replicas.min, 1)},
            "advanced": {"horizontalPodAutoscalerConfig": {"name": f"keda-hpa-{name}", "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                            "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60},
                                         {"type": "Percent", "value": 100, "periodSeconds": 60}]},
                "scaleDown": {"stabilizationWindowSeconds": a.scale_down_stabilization_seconds, "selectPolicy": "Min",
                              "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}]},
            }}},
            "triggers": triggers,
        },
    }
