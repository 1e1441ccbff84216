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

from dataclasses import dataclass
from typing import Any, Optional

from llm_tiers.tiers import capacity
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.gpu import karpenter
from llm_tiers import naming
from llm_tiers import security as security_exceptions
from llm_tiers.tiers import engines, vllm
from llm_tiers.tiers import mirror_manifests as mm
from llm_tiers.tiers import storage
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
# How many bytes a release syncs and loads (read by the rollout plan's estimates,
# components/llm_tiers/preview/rollout.py).
WEIGHTS_BYTES_ANNOTATION = f"{naming.LABEL_DOMAIN}/weights-bytes"
WEIGHTS_FROM_ANNOTATION = f"{naming.LABEL_DOMAIN}/weights-from"  # tiers[].weightsFrom, when not efs
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
    """The release's EFS claim: its weights (``weightsFrom: efs``), or only vLLM's compile cache (the others)."""
    kind = "weights" if tier.weights_from == "efs" else "compile-cache"
    return f"{tier.name}-{kind}-{cache_key(release)}"


def needs_claim(tier: TierConfig, release: Release) -> bool:
    """An EFS claim holds the weights (``efs``), or a vLLM release's compile cache wherever its weights come from."""
    return tier.weights_from == "efs" or release.engine == "vllm"


def pod_resources(tier: TierConfig, instance_types: list[str]) -> dict[str, Any]:
    """CPU and memory a replica requests: its GPU share of the smallest instance type in the class, less
    room for the kubelet and daemon sets (``capacity.replica_requests``); GPUs requested = limited."""
    cpu, memory_gib = capacity.replica_requests([gpu_catalog.lookup(t) for t in instance_types], tier.gpus_per_replica)
    gpus = str(tier.gpus_per_replica)
    return {"requests": {"cpu": str(cpu), "memory": f"{memory_gib}Gi", karpenter.GPU_RESOURCE: gpus},
            "limits": {"memory": f"{memory_gib}Gi", karpenter.GPU_RESOURCE: gpus}}


def _cache_annotations(release: Release, weights_from: str = "efs") -> dict[str, str]:
    return {f"{naming.LABEL_DOMAIN}/model": release.model_id, f"{naming.LABEL_DOMAIN}/revision": release.lock.revision,
            WEIGHTS_BYTES_ANNOTATION: str(release.lock.weights_bytes),
            **({WEIGHTS_FROM_ANNOTATION: weights_from} if weights_from != "efs" else {})}


def engine_settings(tier: TierConfig, release: Release, otlp_endpoint: Optional[str],
                    weights_uri: Any = None) -> EngineSettings:
    """What the release asks of its engine, from the tier keys (the same for TGI and vLLM). ``weights_uri``: the
    mirror prefix vLLM streams from (``weightsFrom: s3``)."""
    return EngineSettings(weights_uri=weights_uri,
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
    return security_exceptions.checkov_skips(*(() if run_as_user is not None else _TGI_SKIPS_ROOT), *_TGI_SKIPS, *more)


def deployment(tier: TierConfig, release: Release, namespace: str, instance_types: list[str],
               otlp_endpoint: Optional[str] = None, autoscaled: bool = True,
               run_as_user: Optional[int] = None, mirror: Optional[mm.MirrorRef] = None) -> dict[str, Any]:
    """The release's Deployment. When ``autoscaled``, ``replicas`` is left to KEDA's HPA (a value here would
    reset the autoscaler's choice on every deploy); otherwise it is ``replicas.min`` (at least 1). ``mirror``: the
    S3 weight mirror, for a tier whose ``weightsFrom`` is ``nvme`` or ``s3``."""
    wf, weights = tier.weights_from, release.lock.weights_bytes
    if wf != "efs" and mirror is None:
        raise ValueError(f"tier {tier.name}: weightsFrom {wf} needs the S3 weight mirror")
    uri = mirror.uri(release.model_id, release.lock.revision) if mirror is not None else None
    # Off EFS, a vLLM release keeps only its compile cache on a claim (needs_claim).
    compile_claim = wf != "efs" and release.engine == "vllm"
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
    if wf == "s3" and mirror is not None:
        # The Run:ai streamer takes its S3 region from a boto3 Session (runai_model_streamer_s3/credentials/
        # credentials.py, ``session.region_name``); boto3's botocore reads AWS_DEFAULT_REGION only
        # (botocore/configprovider.py ``'region'``), and EKS Pod Identity injects credentials, not a region. Without it
        # the C++ client falls back to us-east-1 and a bucket elsewhere answers with a redirect.
        env += [{"name": "AWS_REGION", "value": mirror.region}, {"name": "AWS_DEFAULT_REGION", "value": mirror.region}]
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
                     "annotations": {**_cache_annotations(release, wf),
                                     **({f"{naming.LABEL_DOMAIN}/max-context":
                                         str(release.lock.max_position_embeddings)}
                                        if release.lock.max_position_embeddings else {}),
                                     **_skips(run_as_user, "CKV_K8S_11")}},
        "spec": {
            **({} if autoscaled else {"replicas": max(tier.replicas.min, 1)}),
            "revisionHistoryLimit": 5,
            # One replica on a fresh GPU node (launch, image pull, weight load, warm-up), with head room.
            "progressDeadlineSeconds": timing.progress_deadline_seconds(
                weights, release.engine, instance_types, weights_from=wf, shards=tier.gpus_per_replica),
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
                        "args": engines.args(release.engine, engine_settings(
                            tier, release, otlp_endpoint, uri if wf == "s3" else None)),
                        "env": env,
                        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
                        "resources": pod_resources(tier, instance_types),
                        # The port opens only after weights are loaded and warmed up.
                        "startupProbe": {**probe, "periodSeconds": timing.STARTUP_PERIOD_SECONDS,
                                         "failureThreshold": timing.startup_failure_threshold(
                                             weights, release.engine, weights_from=wf, instance_types=instance_types,
                                             shards=tier.gpus_per_replica)},
                        "readinessProbe": {**probe, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 2},
                        "livenessProbe": {**probe, "periodSeconds": 15, "timeoutSeconds": 5, "failureThreshold": 4},
                        # Let the gateway and endpoints stop routing here before the engine starts draining.
                        "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SECONDS}}},
                        # Port 8080 needs no capability back. The cache stays writable: TGI's download-weights
                        # step runs at every start (offline here) and huggingface_hub may keep lock files there.
                        "securityContext": _container_security(),
                        "volumeMounts": [{"name": "weights", "mountPath": CACHE_DIR},
                                         *([{"name": "compile-cache", "mountPath": VLLM_COMPILE_CACHE}]
                                           if compile_claim else []),
                                         {"name": "shm", "mountPath": "/dev/shm"},
                                         {"name": "scratch", "mountPath": SCRATCH_DIR}],
                    }],
                    **({"initContainers": [mm.fetch_container(
                        uri, mirror.region, release.model_id, release.lock.revision, weights,  # type: ignore[union-attr]
                        _container_security(), [f.path for f in release.lock.files])]} if wf == "nvme" else {}),
                    "volumes": [
                        _weights_volume(tier, release),
                        *([{"name": "compile-cache",
                            "persistentVolumeClaim": {"claimName": weights_claim_name(tier, release)}}]
                          if compile_claim else []),
                        *([mm.config_volume(mirror.config_map)] if wf == "nvme" and mirror is not None else []),
                        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": shm}},
                        {"name": "scratch", "emptyDir": {"sizeLimit": SCRATCH_LIMIT}},
                    ],
                },
            },
        },
    }


def _weights_volume(tier: TierConfig, release: Release) -> dict[str, Any]:
    """Where the engine finds its weights (``HF_HOME``): the EFS claim, the node-local copy (``nvme``), or, when
    vLLM streams from S3, a small local directory for the config files it pulls."""
    if tier.weights_from == "nvme":
        return mm.local_weights_volume(release.lock.weights_bytes)
    if tier.weights_from == "s3":
        return {"name": "weights", "emptyDir": {"sizeLimit": SCRATCH_LIMIT}}
    return {"name": "weights", "persistentVolumeClaim": {"claimName": weights_claim_name(tier, release)}}


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
    mirrored = tier.weights_from in storage.MIRRORED
    egress = [naming.dns_egress(), *([mm.pod_identity_egress(), mm.HTTPS_EGRESS] if mirrored else [])]
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
    """Weight-sync pods serve nothing (no ingress) and reach only DNS and HTTPS (the Hub and its CDN; S3 and the
    Pod Identity agent when the tier's weights go to the mirror)."""
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": object_name(tier.name, "", "weights-sync"), "namespace": namespace,
                     "labels": labels(tier, None, "weights-sync")},
        "spec": {
            "podSelector": {"matchLabels": {TIER_LABEL: tier.name, COMPONENT_LABEL: "weights-sync"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [naming.dns_egress(),
                       *([mm.pod_identity_egress()] if tier.weights_from in storage.MIRRORED else []),
                       mm.HTTPS_EGRESS],
        },
    }


def service_account(name: str, namespace: str, tier: TierConfig, component: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace, "labels": labels(tier, None, component)},
            "automountServiceAccountToken": False}
