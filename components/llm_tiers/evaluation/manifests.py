"""Kubernetes manifests of a tier's quality eval and promotion gate (pure dicts). ``Evaluation`` turns them into
resources.

Per release and ``benchmark.runId``, an eval Job calls the release's own Service (``<tier>-<release>``, which the
Benchmark component keeps for every release of a tier with ``eval``) and writes
``/results/<runId>/<tier>-<release>-eval.json`` beside GuideLLM's ``<tier>-<release>.json`` on the tier's results
volume. The Job runs, in order:

1. (``eval.lmEval``) ``install-lm-eval``: ``pip install --target`` of the pinned lm-evaluation-harness into an
   emptyDir (``versions.LM_EVAL_VERSION``; the pinned Python image; the package's own ``api`` extra).
2. (``eval.lmEval``) ``lm-eval``: ``python -m lm_eval run --model local-chat-completions --model_args
   base_url=<release>/v1/chat/completions,model=<tier>,num_concurrent=..,max_retries=..,max_gen_toks=..
   --apply_chat_template --tasks .. --limit N --output_path <dir>`` (EleutherAI/lm-evaluation-harness v0.4.12:
   lm_eval/_cli/run.py for the flags; lm_eval/models/openai_completions.py ``LocalChatCompletion``:
   ``tokenizer_backend`` defaults to None for chat completions, ``base_url`` is the full endpoint URL, messages
   need ``--apply_chat_template``; lm_eval/models/api_models.py ``TemplateAPI.__init__`` for ``num_concurrent``,
   ``max_retries``, ``max_gen_toks``, ``timeout``). ``HF_DATASETS_OFFLINE=1``: the tasks' datasets come from the
   cache on the results volume (``HF_HOME=/results/hf``), never from the Hub.
3. ``eval``: the project's stdlib-only script (``scripts/eval_set.py``, from a ConfigMap) scores the team's eval
   set when one is configured, reads lm-eval's results, and writes the summary with the release's model,
   revision, engine, quantization and flags.

When ``serve`` is ``candidate``, a gate Job (``<tier>-gate-<runId>``, ``scripts/gate.py``) reads those files and
GuideLLM's, and the tier's Service depends on it: Pulumi awaits the Job's completion, so a failed gate stops
``pulumi up`` before the Service moves.
"""

from __future__ import annotations

import json
import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

from llm_tiers import naming
from llm_tiers import security as security_exceptions
from llm_tiers import versions
from llm_tiers.benchmark import manifests as bm
from llm_tiers.cluster import system_capacity as sc
from llm_tiers.config.schema import TierConfig
from llm_tiers.tiers import manifests as tm

SCRIPTS_DIR = "/scripts"
EVAL_SET_DIR = "/evalset"
LM_EVAL_DIR = "/opt/lm-eval"          # emptyDir the pinned harness is installed into
SCRATCH_DIR = "/tmp"
EVAL_SCRIPT_KEY = "eval_set.py"
GATE_SCRIPT_KEY = "gate.py"
RUN_AS_USER = 10001
EVAL_COMPONENT = "eval"
GATE_COMPONENT = "eval-gate"
# On the gate Job: when its inputs are expected, in seconds after it starts (the candidate benchmark's configured
# run; the evals run beside it). rollout.md's typical estimate for the gate; its upper bound is the gate's wait.
RESULTS_EXPECTED_ANNOTATION = "llm-tiers.io/results-expected-seconds"
# How long an eval waits for its release to answer (the Deployment may still start).
READY_WAIT_SECONDS = 3600
NUM_CONCURRENT = 4                    # lm-eval requests in flight: a light load, so the eval does not starve traffic
MAX_RETRIES = 3


@dataclass(frozen=True)
class EvalRelease:
    """One release of a tier, as its results record it."""

    name: str            # live | candidate
    model_id: str
    revision: str
    engine: str
    quantization: str    # the tier's quantize, or "none"
    flags: tuple[str, ...]


def releases_of(tier: TierConfig, lock_models: Any) -> list[EvalRelease]:
    """The tier's releases with what tells them apart, from the models lock (``{model_id: ModelLockEntry}``)."""
    quant = tier.quantize or "none"
    out = [EvalRelease("live", tier.model_id, lock_models[tier.model_id].revision, tier.engine, quant,
                       tuple(tier.extra_args))]
    if tier.candidate is not None:
        c = tier.candidate
        model = c.model_id or tier.model_id
        flags = c.extra_args if c.extra_args is not None else tier.extra_args
        out.append(EvalRelease("candidate", model, lock_models[model].revision, c.engine or tier.engine, quant,
                               tuple(flags)))
    return out


def release_specs(tier: TierConfig, lock_models: Any) -> list[dict[str, Any]]:
    """:func:`releases_of` as the plain release list ``EvaluationArgs.releases`` takes."""
    return [{**dataclasses.asdict(r), "flags": list(r.flags)} for r in releases_of(tier, lock_models)]


def gated(tier: TierConfig) -> bool:
    """The Service switch to the candidate waits for the gate."""
    return tier.eval is not None and tier.candidate is not None and tier.serve == "candidate"


def eval_job_name(tier: TierConfig, release: str, run_id: str) -> str:
    return f"{tier.name}-{release}-eval-{run_id}"


def gate_job_name(tier: TierConfig, run_id: str) -> str:
    return f"{tier.name}-gate-{run_id}"


def scripts_config_map_name(tier: TierConfig) -> str:
    return f"{tier.name}-eval-scripts"


def eval_set_config_map_name(tier: TierConfig) -> str:
    """The ConfigMap holding the eval set: the team's own, or the one made from ``evalSet.file``."""
    es = tier.eval.eval_set if tier.eval else None
    if es is not None and es.config_map:
        return es.config_map
    return f"{tier.name}-eval-set"


def results_dir(run_id: str) -> str:
    return f"{bm.RESULTS_DIR}/{run_id}"


def summary_path(tier: TierConfig, release: str, run_id: str) -> str:
    return f"{results_dir(run_id)}/{tier.name}-{release}-eval.json"


def lm_eval_output_dir(tier: TierConfig, release: str, run_id: str) -> str:
    return f"{results_dir(run_id)}/lm-eval/{tier.name}-{release}"


def release_base_url(tier: TierConfig, release: str, namespace: str) -> str:
    """The release's own Service (``benchmark.manifests.release_service``), never the tier's, so a release is
    measured the same whichever one serves, and the switch changes no Job."""
    return f"http://{bm.release_service_name(tier, release)}.{namespace}.svc.cluster.local/v1"


def lm_eval_args(tier: TierConfig, release: str, namespace: str, run_id: str) -> list[str]:
    assert tier.eval is not None and tier.eval.lm_eval is not None
    le = tier.eval.lm_eval
    model_args = ",".join([
        f"base_url={release_base_url(tier, release, namespace)}/chat/completions",
        # Both engines answer to the tier's name (TGI ignores `model`; vLLM serves the tier's name).
        f"model={tier.name}",
        f"num_concurrent={NUM_CONCURRENT}", f"max_retries={MAX_RETRIES}", f"max_gen_toks={le.max_gen_tokens}",
        "timeout=600",
    ])
    args = ["-m", "lm_eval", "run", "--model", "local-chat-completions", "--model_args", model_args,
            "--apply_chat_template", "--tasks", ",".join(le.tasks), "--limit", str(le.limit),
            "--output_path", lm_eval_output_dir(tier, release, run_id)]
    if le.num_fewshot is not None:
        args += ["--num_fewshot", str(le.num_fewshot)]
    return args


def eval_args(tier: TierConfig, release: EvalRelease, namespace: str, run_id: str) -> list[str]:
    """The scorer's arguments (``scripts/eval_set.py``)."""
    assert tier.eval is not None
    args = [f"{SCRIPTS_DIR}/{EVAL_SCRIPT_KEY}",
            "--base-url", release_base_url(tier, release.name, namespace), "--model", tier.name,
            "--out", summary_path(tier, release.name, run_id),
            "--tier", tier.name, "--release", release.name, "--run-id", run_id,
            "--model-id", release.model_id, "--revision", release.revision, "--engine", release.engine,
            "--quantization", release.quantization, "--flags", json.dumps(list(release.flags)),
            "--ready-wait-seconds", str(READY_WAIT_SECONDS)]
    es = tier.eval.eval_set
    if es is not None:
        args += ["--eval-set", f"{EVAL_SET_DIR}/{es.key}", "--scoring", es.scoring, "--max-tokens", str(es.max_tokens)]
    if tier.eval.lm_eval is not None:
        args += ["--lm-eval-dir", lm_eval_output_dir(tier, release.name, run_id)]
    return args


def gate_args(tier: TierConfig, run_id: str) -> list[str]:
    g = tier.gate
    args = [f"{SCRIPTS_DIR}/{GATE_SCRIPT_KEY}", "--tier", tier.name,
            "--candidate-eval", summary_path(tier, "candidate", run_id),
            "--live-eval", summary_path(tier, "live", run_id),
            "--candidate-benchmark", bm.results_path(tier, _named("candidate"), run_id),
            "--tolerance", repr(g.tolerance), "--ttft-p95-seconds", repr(tier.slo.ttft_p95_seconds),
            "--wait-seconds", str(g.wait_minutes * 60)]
    if g.min_output_tokens_per_second is not None:
        args += ["--min-output-tokens-per-second", repr(g.min_output_tokens_per_second)]
    if g.override:
        args += ["--override", g.override]
    return args


def _named(release: str) -> bm.BenchRelease:
    return bm.BenchRelease(release, "", "", "", False)


def labels(tier: TierConfig, component: str, release: Optional[str]) -> dict[str, str]:
    """Eval pods carry the benchmark pods' selector, so the tier's NetworkPolicy admits them and the benchmark's
    policy (DNS and the engine port only) applies; the gate's do not (it reads files and calls nothing)."""
    base = (tm.benchmark_pod_selector(tier) if component == EVAL_COMPONENT
            else {tm.TIER_LABEL: tier.name, tm.COMPONENT_LABEL: GATE_COMPONENT})
    out = {**naming.k8s_labels(f"llm-{component}", tier.name), **base}
    if release:
        out[tm.RELEASE_LABEL] = release
    return out


def _pod_security() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": RUN_AS_USER, "runAsGroup": RUN_AS_USER, "fsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"}}


def _container_security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}


def _job(name: str, namespace: str, tier: TierConfig, lbls: dict[str, str], run_id: str, deadline: int,
         node_selector: dict[str, str], init: list[dict], container: dict, volumes: list[dict],
         skip_await: bool) -> dict[str, Any]:
    annotations = {bm.RUN_ID_ANNOTATION: run_id, **security_exceptions.checkov_skips("CKV_K8S_43", "CKV_K8S_15")}
    if skip_await:
        annotations["pulumi.com/skipAwait"] = "true"
    spec: dict[str, Any] = {
        "restartPolicy": "Never", "serviceAccountName": bm.service_account_name(tier),
        "automountServiceAccountToken": False, "enableServiceLinks": False, "nodeSelector": dict(node_selector),
        "securityContext": _pod_security(), "containers": [container], "volumes": volumes}
    if init:
        spec["initContainers"] = init
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": lbls, "annotations": annotations},
        "spec": {"backoffLimit": 0, "activeDeadlineSeconds": deadline,
                 "template": {"metadata": {"labels": lbls, "annotations": {bm.RUN_ID_ANNOTATION: run_id}},
                              "spec": spec}},
    }


def eval_deadline_seconds(tier: TierConfig) -> int:
    """The release may still be starting (READY_WAIT_SECONDS), then lm-eval at a few seconds per sample per task,
    the eval set, and 10 minutes for the install."""
    assert tier.eval is not None
    le = tier.eval.lm_eval
    samples = le.limit * len(le.tasks) if le else 0
    return READY_WAIT_SECONDS + 600 + 10 * samples + 1800


def eval_job(tier: TierConfig, release: EvalRelease, namespace: str, run_id: str, node_selector: dict[str, str],
             image: str = versions.IMAGES["python"]) -> dict[str, Any]:
    """One quality run of one release. Like the benchmark, ``pulumi.com/skipAwait`` (nothing but the gate needs it,
    and the gate waits for its file) and ``backoffLimit: 0``."""
    assert tier.eval is not None
    env = [{"name": "HOME", "value": SCRATCH_DIR}, {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}]
    mounts = [{"name": "results", "mountPath": bm.RESULTS_DIR}, {"name": "scripts", "mountPath": SCRIPTS_DIR,
                                                                 "readOnly": True},
              {"name": "scratch", "mountPath": SCRATCH_DIR}]
    volumes = [{"name": "results", "persistentVolumeClaim": {"claimName": bm.results_claim_name(tier)}},
               {"name": "scripts", "configMap": {"name": scripts_config_map_name(tier)}},
               {"name": "scratch", "emptyDir": {"sizeLimit": "2Gi"}}]
    init: list[dict] = []
    if tier.eval.eval_set is not None:
        mounts.append({"name": "eval-set", "mountPath": EVAL_SET_DIR, "readOnly": True})
        volumes.append({"name": "eval-set", "configMap": {"name": eval_set_config_map_name(tier)}})
    if tier.eval.lm_eval is not None:
        volumes.append({"name": "lm-eval", "emptyDir": {"sizeLimit": "3Gi"}})
        lm_mounts = [*mounts, {"name": "lm-eval", "mountPath": LM_EVAL_DIR}]
        pip_env = [*env, {"name": "PIP_NO_CACHE_DIR", "value": "1"}, {"name": "PIP_DISABLE_PIP_VERSION_CHECK",
                                                                         "value": "1"}]
        if tier.eval.pip_index_url:
            pip_env.append({"name": "PIP_INDEX_URL", "value": tier.eval.pip_index_url})
        init.append({"name": "install-lm-eval", "image": image, "imagePullPolicy": "IfNotPresent",
                     "command": ["python"],
                     "args": ["-m", "pip", "install", "--target", LM_EVAL_DIR,
                              f"lm_eval[api]=={versions.LM_EVAL_VERSION}"],
                     "env": pip_env, "resources": sc.EVAL.resources(), "securityContext": _container_security(),
                     "volumeMounts": lm_mounts})
        init.append({"name": "lm-eval", "image": image, "imagePullPolicy": "IfNotPresent", "command": ["python"],
                     "args": lm_eval_args(tier, release.name, namespace, run_id),
                     "env": [*env, {"name": "PYTHONPATH", "value": LM_EVAL_DIR},
                             {"name": "HF_HOME", "value": f"{bm.RESULTS_DIR}/hf"},
                             {"name": "HF_DATASETS_OFFLINE", "value": "1"}, {"name": "HF_HUB_OFFLINE", "value": "1"},
                             {"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"}],
                     "resources": sc.EVAL.resources(), "securityContext": _container_security(),
                     "volumeMounts": lm_mounts})
    container = {"name": "eval", "image": image, "imagePullPolicy": "IfNotPresent", "command": ["python"],
                 "args": eval_args(tier, release, namespace, run_id), "env": env,
                 "resources": sc.EVAL.resources(), "securityContext": _container_security(), "volumeMounts": mounts}
    return _job(eval_job_name(tier, release.name, run_id), namespace, tier,
                labels(tier, EVAL_COMPONENT, release.name), run_id, eval_deadline_seconds(tier), node_selector,
                init, container, volumes, skip_await=True)


def gate_await_seconds(tier: TierConfig) -> int:
    """What Pulumi waits for the gate Job: its own wait for the results plus 5 minutes to start."""
    return tier.gate.wait_minutes * 60 + 300


def gate_job(tier: TierConfig, namespace: str, run_id: str, node_selector: dict[str, str],
             image: str = versions.IMAGES["python"], results_expected_seconds: Optional[int] = None) -> dict[str, Any]:
    """The promotion gate. Awaited (no skipAwait): its success is what the Service switch depends on. It mounts the
    results read-only and reaches nothing (its NetworkPolicy allows no traffic)."""
    env = [{"name": "HOME", "value": SCRATCH_DIR}, {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}]
    container = {"name": "gate", "image": image, "imagePullPolicy": "IfNotPresent", "command": ["python"],
                 "args": gate_args(tier, run_id), "env": env, "resources": sc.EVAL_GATE.resources(),
                 "securityContext": _container_security(),
                 "volumeMounts": [{"name": "results", "mountPath": bm.RESULTS_DIR, "readOnly": True},
                                  {"name": "scripts", "mountPath": SCRIPTS_DIR, "readOnly": True},
                                  {"name": "scratch", "mountPath": SCRATCH_DIR}]}
    volumes = [{"name": "results", "persistentVolumeClaim": {"claimName": bm.results_claim_name(tier),
                                                             "readOnly": True}},
               {"name": "scripts", "configMap": {"name": scripts_config_map_name(tier)}},
               {"name": "scratch", "emptyDir": {"sizeLimit": "64Mi"}}]
    job = _job(gate_job_name(tier, run_id), namespace, tier, labels(tier, GATE_COMPONENT, None), run_id,
               tier.gate.wait_minutes * 60 + 120, node_selector, [], container, volumes, skip_await=False)
    if results_expected_seconds is not None:
        job["metadata"]["annotations"][RESULTS_EXPECTED_ANNOTATION] = str(results_expected_seconds)
    return job


def scripts_config_map(tier: TierConfig, namespace: str, scripts: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": scripts_config_map_name(tier), "namespace": namespace,
                         "labels": labels(tier, EVAL_COMPONENT, None)},
            "data": dict(scripts)}


def eval_set_config_map(tier: TierConfig, namespace: str, jsonl: str) -> dict[str, Any]:
    assert tier.eval is not None and tier.eval.eval_set is not None
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": eval_set_config_map_name(tier), "namespace": namespace,
                         "labels": labels(tier, EVAL_COMPONENT, None)},
            "data": {tier.eval.eval_set.key: jsonl}}


def install_network_policy(tier: TierConfig, namespace: str) -> dict[str, Any]:
    """With lm-eval: the eval pods may also open HTTPS connections, to install the pinned harness from the
    package index (PyPI or ``eval.pipIndexUrl``). Nothing else: the datasets are read offline from the results
    volume. NetworkPolicies add up, so the benchmark policy's DNS and engine-port rules still apply."""
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": f"{tier.name}-eval-install", "namespace": namespace,
                     "labels": labels(tier, EVAL_COMPONENT, None)},
        "spec": {"podSelector": {"matchLabels": {**tm.benchmark_pod_selector(tier),
                                                 "app.kubernetes.io/name": f"llm-{EVAL_COMPONENT}"}},
                 "policyTypes": ["Egress"],
                 "egress": [{"ports": [{"port": 443, "protocol": "TCP"}]}]},
    }


def gate_network_policy(tier: TierConfig, namespace: str) -> dict[str, Any]:
    """The gate reads files: no ingress, no egress."""
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": f"{tier.name}-eval-gate", "namespace": namespace,
                     "labels": labels(tier, GATE_COMPONENT, None)},
        "spec": {"podSelector": {"matchLabels": {tm.TIER_LABEL: tier.name, tm.COMPONENT_LABEL: GATE_COMPONENT}},
                 "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []},
    }
