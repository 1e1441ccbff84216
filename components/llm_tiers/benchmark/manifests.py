"""Kubernetes manifests of a tier's GuideLLM benchmark (pure dicts): the results PVC, a Service per non-serving
release, one Job per release and run, and the Jobs' ServiceAccount and NetworkPolicy. ``Benchmark`` turns them
into resources.

GuideLLM at the pinned tag (vllm-project/guidellm v0.7.3; ``versions.IMAGES['guidellm']``):

* The image's ENTRYPOINT is ``guidellm``, so the container args start with ``run`` (Containerfile). It runs as
  USER 1001:0, and its home and app directories are group-0 writable "so any user" can run it
  (OpenShift-style). Here it runs as a high UID with GID 0 (checkov CKV_K8S_40).
* ``run`` takes registry-style options ``--<arg> kind=<kind>,key=value`` built from ``BenchmarkArgs``
  (src/guidellm/cli/run.py, ``registry_options_from_model``; src/guidellm/benchmark/schemas/entrypoints.py):
  ``--backend``, ``--profile``, ``--constraint``, ``--tokenizer``, ``--data``, ``--output`` (repeatable),
  ``--label k=v`` (repeatable), ``--disable-console-interactive``.
* ``--backend kind=openai_http`` (src/guidellm/backends/openai/http.py): ``target`` is stripped of a trailing
  ``/v1``. The backend checks ``/health`` first. ``model`` left empty is resolved from the server's
  ``/v1/models`` (``resolve_backend`` in src/guidellm/benchmark/entrypoints.py), so the same Job works for
  either engine. ``request_format`` defaults to ``/v1/chat/completions`` and ``stream`` to true.
* ``--profile kind=sweep`` (src/guidellm/benchmark/profiles/sweep.py): ``sweep_size`` (>= 2) and
  ``max_concurrency``. ``--constraint kind=max_duration,seconds=N`` applies per strategy
  (src/guidellm/scheduler/constraints/request.py).
* ``--tokenizer kind=huggingface_auto,model=<path>`` calls ``AutoTokenizer.from_pretrained(model)``
  (src/guidellm/data/tokenizers/huggingface.py). Here ``model`` is the release's snapshot directory in the
  weights cache, mounted read-only. ``--data kind=synthetic_text,prompt_tokens=P,output_tokens=O``
  (src/guidellm/data/deserializers/synthetic.py) generates prompts of exactly P tokens from text that ships
  in the package, so nothing is fetched. ``HF_HUB_OFFLINE=1`` makes any Hub call fail loudly.
* ``--output kind=json,path=...`` (src/guidellm/benchmark/outputs/serialized.py) writes every benchmark with its
  per-request metrics. ``kind=console`` prints the summary tables to the pod log.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

from llm_tiers import naming
from llm_tiers import security as security_exceptions
from llm_tiers import versions
from llm_tiers.cluster import system_capacity as sc
from llm_tiers.config.benchmark import BenchmarkConfig
from llm_tiers.config.schema import TierConfig
from llm_tiers.tiers import manifests as tm
from llm_tiers.tiers import tgi

WEIGHTS_DIR = "/weights"     # the release's weights cache, read-only (its hub cache is <dir>/hub)
RESULTS_DIR = "/results"     # the tier's results PVC
HOME_DIR = "/home/guidellm"  # the image's HOME (Containerfile); an emptyDir, as the root filesystem is read-only
SCRATCH_DIR = "/tmp"
RUN_AS_USER = 10001          # any UID works with GID 0 (the image's g=u permissions); high, for CKV_K8S_40
RUN_AS_GROUP = 0
RESULTS_SIZE = "10Gi"        # EFS ignores it; one run's JSON is a few MB per release
RUN_ID_ANNOTATION = f"{naming.LABEL_DOMAIN}/benchmark-run"
# The engine's container port. Egress rules match the destination pod's port after the Service's DNAT, not
# the Service's port 80.
ENGINE_PORT = tgi.HTTP_PORT


@dataclass(frozen=True)
class BenchRelease:
    """One release of a tier to benchmark."""

    name: str       # live | candidate
    model_id: str
    revision: str
    engine: str
    serving: bool   # the tier's Service sends traffic to it
    own_service: bool = False
    """Benchmark it through its own Service even when it serves (a tier with ``eval``): a release then measures
    the same whichever one serves, and switching ``serve`` changes no Job (the promotion gate reads the results
    of the run before the switch)."""


def job_name(tier: TierConfig, release: str, run_id: str) -> str:
    return f"{tier.name}-{release}-bench-{run_id}"


def results_claim_name(tier: TierConfig) -> str:
    return f"{tier.name}-benchmark-results"


def release_service_name(tier: TierConfig, release: str) -> str:
    return f"{tier.name}-{release}"


def service_account_name(tier: TierConfig) -> str:
    return f"{tier.name}-benchmark"


def target_host(tier: TierConfig, release: BenchRelease, namespace: str) -> str:
    """The tier's Service for the serving release, the release's own Service for the other one. Either way the
    request goes straight to the engine pods, never through the gateway."""
    name = tier.name if release.serving and not release.own_service else release_service_name(tier, release.name)
    return f"{name}.{namespace}.svc.cluster.local"


def target_url(tier: TierConfig, release: BenchRelease, namespace: str) -> str:
    return f"http://{target_host(tier, release, namespace)}/v1"


def tokenizer_dir(release: BenchRelease) -> str:
    """The release's snapshot in the weights cache (huggingface_hub layout, as the sync Job writes it:
    components/llm_tiers/tiers/scripts/sync_weights.py ``snapshot_dir``)."""
    return f"{WEIGHTS_DIR}/hub/models--{release.model_id.replace('/', '--')}/snapshots/{release.revision}"


def results_path(tier: TierConfig, release: BenchRelease, run_id: str) -> str:
    return f"{RESULTS_DIR}/{run_id}/{tier.name}-{release.name}.json"


def max_concurrency(tier: TierConfig, settings: BenchmarkConfig) -> int:
    return settings.max_concurrency or tier.max_concurrent_requests


def run_seconds(settings: BenchmarkConfig) -> int:
    """How long one release's GuideLLM run lasts once it starts: every strategy runs for ``secondsPerStrategy``
    (its ``max_duration`` constraint, ``guidellm_args``)."""
    return settings.sweep_size * settings.seconds_per_strategy


def deadline_seconds(settings: BenchmarkConfig) -> int:
    """The Job's activeDeadlineSeconds: every strategy's duration plus a minute each for ramp-down and
    draining, plus 10 minutes for start-up (image pull, tokenizer load, the backend check)."""
    return settings.sweep_size * (settings.seconds_per_strategy + 60) + 600


def guidellm_args(tier: TierConfig, release: BenchRelease, namespace: str, settings: BenchmarkConfig) -> list[str]:
    assert settings.run_id, "benchmark.runId is checked by the config schema"
    return [
        "run",
        "--backend", f"kind=openai_http,target={target_url(tier, release, namespace)}",
        "--profile", f"kind=sweep,sweep_size={settings.sweep_size},max_concurrency={max_concurrency(tier, settings)}",
        "--constraint", f"kind=max_duration,seconds={settings.seconds_per_strategy}",
        "--tokenizer", f"kind=huggingface_auto,model={tokenizer_dir(release)}",
        "--data", f"kind=synthetic_text,prompt_tokens={settings.prompt_tokens},output_tokens={settings.output_tokens}",
        "--output", f"kind=json,path={results_path(tier, release, settings.run_id)}",
        "--output", "kind=console",
        "--label", f"tier={tier.name}", "--label", f"release={release.name}", "--label", f"engine={release.engine}",
        "--label", f"model={release.model_id}", "--label", f"revision={release.revision}",
        "--label", f"run={settings.run_id}",
        "--disable-console-interactive",
    ]


def labels(tier: TierConfig, release: Optional[str]) -> dict[str, str]:
    out = {**naming.k8s_labels("guidellm", tier.name), **tm.benchmark_pod_selector(tier)}
    if release:
        out[tm.RELEASE_LABEL] = release
    return out


def job(tier: TierConfig, release: BenchRelease, namespace: str, settings: BenchmarkConfig,
        node_selector: dict[str, str], image: str = versions.IMAGES["guidellm"]) -> dict[str, Any]:
    """One benchmark run of one release. The engine does not wait for it (``pulumi.com/skipAwait``): a sweep
    outlasts the provider's await, and a benchmark is no precondition of anything. ``backoffLimit: 0``:
    a failed run is not retried into the same results. No ``ttlSecondsAfterFinished``: if Kubernetes deleted
    the finished Job, the next ``pulumi up`` would create it again and re-run the benchmark."""
    assert settings.run_id
    env = [{"name": "HF_HUB_OFFLINE", "value": "1"}, {"name": "TRANSFORMERS_OFFLINE", "value": "1"},
           {"name": "HF_DATASETS_OFFLINE", "value": "1"}, {"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"},
           {"name": "HF_HOME", "value": f"{SCRATCH_DIR}/hf"}, {"name": "HOME", "value": HOME_DIR}]
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": job_name(tier, release.name, settings.run_id), "namespace": namespace,
                     "labels": labels(tier, release.name),
                     "annotations": {"pulumi.com/skipAwait": "true", RUN_ID_ANNOTATION: settings.run_id,
                                     **security_exceptions.checkov_skips("CKV_K8S_43", "CKV_K8S_15")}},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline_seconds(settings),
            "template": {
                "metadata": {"labels": labels(tier, release.name),
                             "annotations": {RUN_ID_ANNOTATION: settings.run_id}},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": service_account_name(tier),
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "nodeSelector": dict(node_selector),
                    "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS_USER, "runAsGroup": RUN_AS_GROUP,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "guidellm",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": guidellm_args(tier, release, namespace, settings),
                        "env": env,
                        # Runs on the system nodes: counted by the system capacity check.
                        "resources": sc.BENCHMARK.resources(),
                        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "weights", "mountPath": WEIGHTS_DIR, "readOnly": True},
                                         {"name": "results", "mountPath": RESULTS_DIR},
                                         {"name": "home", "mountPath": HOME_DIR},
                                         {"name": "scratch", "mountPath": SCRATCH_DIR}],
                    }],
                    "volumes": [
                        {"name": "weights", "persistentVolumeClaim": {
                            "claimName": weights_claim(tier, release), "readOnly": True}},
                        {"name": "results", "persistentVolumeClaim": {"claimName": results_claim_name(tier)}},
                        {"name": "home", "emptyDir": {"sizeLimit": "1Gi"}},
                        {"name": "scratch", "emptyDir": {"sizeLimit": "2Gi"}},
                    ],
                },
            },
        },
    }


def weights_claim(tier: TierConfig, release: BenchRelease) -> str:
    """The release's weights cache claim (``tier_manifests.weights_claim_name``: named by the revision)."""
    return f"{tier.name}-weights-{release.revision[:10]}"


def results_pvc(tier: TierConfig, namespace: str, storage_class: str) -> dict[str, Any]:
    """Where every run's JSON stays (``<runId>/<tier>-<release>.json``). It outlives the Jobs, which a new runId
    replaces. RWX on EFS, so a reader pod can mount it while a run writes."""
    return {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": results_claim_name(tier), "namespace": namespace, "labels": labels(tier, None)},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": storage_class,
                 "resources": {"requests": {"storage": RESULTS_SIZE}}},
    }


def release_service(tier: TierConfig, release: str, namespace: str) -> dict[str, Any]:
    """A ClusterIP Service for one release (the tier's Service selects only the serving one), so a candidate
    can be benchmarked before it takes traffic. Nothing else routes to it: the gateway uses the tier's Service."""
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": release_service_name(tier, release), "namespace": namespace,
                     "labels": labels(tier, release)},
        "spec": {"type": "ClusterIP", "selector": tm.selector(tier, release),
                 "ports": [{"name": "http", "port": tm.SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}]},
    }


def service_account(tier: TierConfig, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": service_account_name(tier), "namespace": namespace, "labels": labels(tier, None)},
            "automountServiceAccountToken": False}


def network_policy(tier: TierConfig, namespace: str) -> dict[str, Any]:
    """Benchmark pods accept nothing and reach only DNS and the tier's engine pods (its HTTP port). The tier's
    own NetworkPolicy admits them (``tier_manifests.network_policy(admit_benchmark=True)``)."""
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": f"{tier.name}-benchmark", "namespace": namespace, "labels": labels(tier, None)},
        "spec": {
            "podSelector": {"matchLabels": tm.benchmark_pod_selector(tier)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [
                naming.dns_egress(),
                {"to": [{"podSelector": {"matchLabels": {tm.TIER_LABEL: tier.name, tm.COMPONENT_LABEL: "server"}}}],
                 "ports": [{"port": ENGINE_PORT, "protocol": "TCP"}]},
            ],
        },
    }


def releases_of(tier: TierConfig, lock_models: Any) -> list[BenchRelease]:
    """The tier's releases as the benchmark sees them, from the models lock (``{model_id: ModelLockEntry}``)."""
    own = getattr(tier, "eval", None) is not None
    out = [BenchRelease("live", tier.model_id, lock_models[tier.model_id].revision, tier.engine, tier.serve == "live",
                        own)]
    if tier.candidate is not None:
        model = tier.candidate.model_id or tier.model_id
        engine = getattr(tier.candidate, "engine", None) or tier.engine
        out.append(BenchRelease("candidate", model, lock_models[model].revision, engine, tier.serve == "candidate",
                                own))
    return out


def release_specs(tier: TierConfig, lock_models: Any) -> list[dict[str, Any]]:
    """:func:`releases_of` as the plain release list ``BenchmarkArgs.releases`` takes."""
    return [dataclasses.asdict(r) for r in releases_of(tier, lock_models)]
