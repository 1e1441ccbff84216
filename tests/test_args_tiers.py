"""ModelTier, Evaluation and Benchmark take typed args of plain data (issue 27): each refuses bad args at their
``args.`` paths before registering anything, each constructs through the component provider from the camelCase
plain inputs a TypeScript, Go or YAML program sends (a models.lock.json entry as it stands), and the Python-only
keyword arguments (``before_switch``, the ``*depends_on`` lists, ``deployments``) and other languages'
``dependsOn`` reach the objects Kubernetes would receive."""

from __future__ import annotations

import json
import typing

import pytest

from conftest import ROOT
from llm_tiers.tiers import models_lock
from llm_tiers.tiers.lock_spec import LockedFileSpec, ModelLockSpec
from test_component_args import refused as component_args_refused, run
from test_provider import construct, constructed

QWEN, LLAMA_70B = "Qwen/Qwen2.5-7B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"
LOCK = json.loads((ROOT / "models.lock.json").read_text())["models"]  # the file as another language reads it
REV = LOCK[QWEN]["revision"]
LOCK_PATH = str(ROOT / "models.lock.json")

# The head of a composed program: Python args from the lock (snake_case, lock_spec) and a plain tier.
HEAD = f"""
from pathlib import Path
from llm_tiers import Benchmark, BenchmarkArgs, Evaluation, EvaluationArgs, ModelTier, ModelTierArgs
from llm_tiers.tiers.lock_spec import lock_spec
from llm_tiers.tiers.models_lock import load
lock = {{m: lock_spec(e) for m, e in load(Path({LOCK_PATH!r})).models.items()}}
tier = dict(name="chat", model_id={QWEN!r}, gpu_class="l4", max_input_tokens=4096, max_total_tokens=8192)
"""


def refused(tmp_path, body: str, component: str, paths: list[str]) -> str:
    return component_args_refused(tmp_path, HEAD + body, component, paths)


# --- (a) bad args: every problem at its args path, nothing registered --------------------------------------------

@pytest.mark.parametrize("body,paths", [
    # Shape: unknown and mistyped keys, a missing required arg (checked before anything else).
    ("""ModelTier("chat", ModelTierArgs(tier={**tier, "replicas": {"mn": 1}}, instance_types="g6.xlarge",
                                    sync_tolerations=[{"key": "x", "toleration_seconds": "60"}]))""",
     ["args.tier.replicas.mn", "args.instance_types", "args.lock", "args.sync_tolerations[0].toleration_seconds"]),
    # Sections: the tier by TierConfig, the lock entry by ModelLockEntry; names and numbers.
    ("""ModelTier("chat", ModelTierArgs(tier={**tier, "max_total_tokens": 0},
                                    lock={**lock[tier["model_id"]], "revision": "main", "files": [{"path": "x"}]},
                                    instance_types=["g6.xlarge"], namespace="LLM", run_as_user=-1))""",
     ["args.tier.max_total_tokens", "args.lock.revision", "args.lock.files[0].size", "args.namespace",
      "args.run_as_user"]),
    # The stack loader's tier checks (tiers/checks.py), in snake_case at args paths.
    ("""ModelTier("chat", ModelTierArgs(tier={**tier, "extra_args": ["--port=1"], "candidate": {"model_id": %r}},
                                    lock=lock[tier["model_id"]], candidate_lock=lock[%r], instance_types=["g6.xlarge"]))
""" % (LLAMA_70B, LLAMA_70B),
     ["args.tier.extra_args[0]", "args.tier.candidate.model_id", "args.tier.candidate"]),
    # A candidate without its lock entry; a lock entry the sync Job and the planner cannot use.
    ("""ModelTier("chat", ModelTierArgs(tier={**tier, "candidate": {"engine": "vllm"}},
                                    lock={**lock[tier["model_id"]], "files": []}, instance_types=["g6.xlarge2"]))""",
     ["args.candidate_lock", "args.lock", "args.instance_types[0]"]),
])
def test_model_tier_refuses_bad_args(tmp_path, body, paths):
    refused(tmp_path, body, "ModelTier", paths)


def test_model_tier_names_what_to_do(tmp_path):
    message = refused(tmp_path, """ModelTier("chat", ModelTierArgs(tier={**tier, "candidate": {"model_id": %r}},
                                    lock=lock[tier["model_id"]], candidate_lock=lock[%r], instance_types=["g6.xlarge"]))
""" % (LLAMA_70B, LLAMA_70B), "ModelTier", ["args.tier.candidate.model_id"])
    assert "is gated" in message and "token" in message


EVAL_TIER = """tier = {**tier, "eval": {"lm_eval": {"tasks": ["gsm8k"], "max_gen_tokens": 9000}}}
"""


@pytest.mark.parametrize("body,paths", [
    ("""Evaluation("eval", EvaluationArgs(tier=tier, run_id="Run 1", releases=[
    {"name": "blue", "model_id": tier["model_id"], "revision": %r, "engine": "tgi"}]))""" % REV,
     ["args.tier.eval", "args.run_id", "args.releases[0].name"]),
    (EVAL_TIER + """Evaluation("eval", EvaluationArgs(tier=tier, run_id="r1", releases=[
    {"name": "live", "model_id": "other/model", "revision": "main", "engine": "vllm"},
    {"name": "candidate", "model_id": tier["model_id"], "revision": %r, "engine": "tgi"}], benchmark_seconds=-1))
""" % REV,
     ["args.tier.eval.lm_eval.max_gen_tokens", "args.releases[0].model_id", "args.releases[0].revision",
      "args.releases[0].engine", "args.releases[1].name", "args.benchmark_seconds"]),
    # The eval set's text is the component's input (the stack reads eval.eval_set.file itself).
    ("""tier = {**tier, "eval": {"eval_set": {"file": "evals/chat.jsonl"}}}
Evaluation("eval", EvaluationArgs(tier=tier, run_id="r1", releases=[
    {"name": "live", "model_id": tier["model_id"], "revision": %r, "engine": "tgi"}]))""" % REV,
     ["args.eval_set"]),
    ("""tier = {**tier, "eval": {"eval_set": {"file": "evals/chat.jsonl"}}}
Evaluation("eval", EvaluationArgs(tier=tier, run_id="r1", eval_set="not json", releases=[
    {"name": "live", "model_id": tier["model_id"], "revision": %r, "engine": "tgi"}]))""" % REV,
     ["args.eval_set"]),
    ("""Evaluation("eval", EvaluationArgs(tier=tier, run_id=1, releases={}))""", ["args.run_id", "args.releases"]),
])
def test_evaluation_refuses_bad_args(tmp_path, body, paths):
    refused(tmp_path, body, "Evaluation", paths)


@pytest.mark.parametrize("body,paths", [
    ("""Benchmark("bench", BenchmarkArgs(tier=tier, settings={"prompt_tokens": 5000}, releases=[
    {"name": "live", "model_id": tier["model_id"], "revision": %r, "engine": "tgi", "serving": True},
    {"name": "candidate", "model_id": tier["model_id"], "revision": %r, "engine": "tgi", "serving": False}]))
""" % (REV, REV), ["args.settings.run_id", "args.settings.prompt_tokens", "args.releases[1].name"]),
    ("""Benchmark("bench", BenchmarkArgs(tier=tier, settings={"run_id": "r1", "sweep_size": "ten"}, releases=[
    {"name": "live", "model_id": tier["model_id"], "revision": %r, "engine": "tgi"}]))""" % REV,
     ["args.settings.sweep_size", "args.releases[0].serving"]),
    ("""Benchmark("bench", BenchmarkArgs(tier=tier, settings={"run_id": "r1", "output_tokens": 8000},
                                 namespace="a_b", releases=[]))""",
     ["args.settings.output_tokens", "args.namespace", "args.releases"]),
])
def test_benchmark_refuses_bad_args(tmp_path, body, paths):
    refused(tmp_path, body, "Benchmark", paths)


# --- (b) through the provider's construct path, from plain camelCase inputs ------------------------------------

TIER_INPUT = {"name": "chat", "modelId": QWEN, "gpuClass": "l4", "maxInputTokens": 4096, "maxTotalTokens": 8192}


def _objects(result) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in result.kubernetes_objects()}


def test_model_tier_constructs_from_a_lock_file_entry_as_it_stands(tmp_path):
    result = constructed(tmp_path, "ModelTier", {
        "tier": {**TIER_INPUT, "candidate": {"engine": "vllm"}}, "lock": LOCK[QWEN], "candidateLock": LOCK[QWEN],
        "instanceTypes": ["g6.xlarge"], "autoscaling": False, "hfTokenSecret": "hf-token",
        "syncNodeSelector": {"pool": "sync"},
        "syncTolerations": [{"key": "sync", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60}]})
    objs = _objects(result)
    assert {("Deployment", "chat-live"), ("Deployment", "chat-candidate"), ("Service", "chat")} <= set(objs)
    assert "ScaledObject" not in {k for k, _ in objs}, "autoscaling: false"
    live = objs[("Deployment", "chat-live")]["spec"]["template"]["spec"]["containers"][0]
    assert LOCK[QWEN]["revision"] in json.dumps(live), "the engine serves the locked revision"
    job = objs[("Job", f"chat-sync-{REV[:10]}")]["spec"]["template"]["spec"]
    # What Kubernetes receives: the toleration in its own spelling, the node selector as given.
    assert job["tolerations"] == [{"key": "sync", "operator": "Exists", "effect": "NoExecute",
                                   "tolerationSeconds": 60}]
    assert job["nodeSelector"] == {"pool": "sync"}
    component = next(r for r in result.recording.resources if r.type == "llmtiers:index:ModelTier")
    assert component.outputs.get("serviceUrl", "http://chat.llm-tiers.svc/v1") == "http://chat.llm-tiers.svc/v1"


def test_model_tier_construct_refuses_at_args_paths(tmp_path):
    result = construct(tmp_path, "ModelTier", {"tier": {**TIER_INPUT, "extraArgs": ["--port=1"]}, "lock": LOCK[QWEN],
                                               "instanceTypes": ["g6.xlarge"]})
    error = result.recording.stack_outputs.get("error", "")
    assert error.startswith("ComponentInitError") and "args.tier.extra_args[0]" in error, error
    assert not result.recording.resources


def test_evaluation_constructs_from_plain_inputs(tmp_path):
    result = constructed(tmp_path, "Evaluation", {
        "tier": {**TIER_INPUT, "candidate": {"engine": "vllm"}, "serve": "candidate",
                 "eval": {"lmEval": {"tasks": ["gsm8k"]}}},
        "releases": [{"name": "live", "modelId": QWEN, "revision": REV, "engine": "tgi"},
                     {"name": "candidate", "modelId": QWEN, "revision": REV, "engine": "vllm"}],
        "runId": "r1", "nodeSelector": {"role": "system"}})
    objs = _objects(result)
    assert {("Job", "chat-live-eval-r1"), ("Job", "chat-candidate-eval-r1"), ("Job", "chat-gate-r1")} <= set(objs)
    assert objs[("Job", "chat-gate-r1")]["spec"]["template"]["spec"]["nodeSelector"] == {"role": "system"}


def test_benchmark_constructs_from_plain_inputs(tmp_path):
    result = constructed(tmp_path, "Benchmark", {
        "tier": TIER_INPUT, "settings": {"runId": "r1", "promptTokens": 256},
        "releases": [{"name": "live", "modelId": QWEN, "revision": REV, "engine": "tgi", "serving": True}]})
    objs = _objects(result)
    job = objs[("Job", "chat-live-bench-r1")]
    assert "256" in json.dumps(job["spec"]), "the workload from settings.promptTokens"
    assert ("PersistentVolumeClaim", "chat-benchmark-results") in objs


# --- (c) the lock spec, the keyword-only wiring, other languages' dependsOn --------------------------------------

def test_lock_spec_keys_are_the_lock_entrys_fields():
    assert set(typing.get_type_hints(ModelLockSpec)) == set(models_lock.ModelLockEntry.model_fields)
    assert set(typing.get_type_hints(LockedFileSpec)) == set(models_lock.LockedFile.model_fields)
    required = {n for n, f in models_lock.ModelLockEntry.model_fields.items() if f.is_required()}
    assert ModelLockSpec.__required_keys__ == required


def test_keyword_wiring_and_depends_on_reach_the_children(tmp_path):
    result = run(tmp_path, HEAD + """
import pulumi, pulumi_kubernetes as k8s
ns = k8s.core.v1.ConfigMap("ns-ready", metadata={"name": "ns-ready"})
gpu = k8s.core.v1.ConfigMap("gpu-ready", metadata={"name": "gpu-ready"})
seen = {}
def before_switch(deployments):
    seen.update(deployments)
    return [k8s.core.v1.ConfigMap("gate", metadata={"name": "gate"})]
t = ModelTier("chat", ModelTierArgs(tier=tier, lock=lock[tier["model_id"]], instance_types=["g6.xlarge"],
                                    autoscaling=False),
              opts=pulumi.ResourceOptions(depends_on=[ns]), serve_depends_on=[gpu], before_switch=before_switch)
assert set(seen) == {"live"} and t.deployments["live"] is seen["live"]
Benchmark("bench", BenchmarkArgs(tier=tier, settings={"run_id": "r1"}, releases=[
    {"name": "live", "model_id": tier["model_id"], "revision": lock[tier["model_id"]]["revision"], "engine": "tgi",
     "serving": True}]), deployments=t.deployments, depends_on=[t.service])
pulumi.export("url", t.service_url)
""")
    by_name = {r.name: r for r in result.recording.resources}
    urn = {n: r.urn for n, r in by_name.items()}
    assert urn["gate"] in by_name["chat-service"].dependencies, "the Service waits for what before_switch returned"
    assert urn["gpu-ready"] in by_name["chat-live"].dependencies, "serve_depends_on reaches the Deployment"
    assert urn["gpu-ready"] not in by_name["chat-sync-script"].dependencies
    for child in ("chat-sync-script", "chat-live", "chat-service", "chat-network-policy"):
        assert urn["ns-ready"] in by_name[child].dependencies, f"opts.depends_on (dependsOn) reaches {child}"
    bench = by_name["bench-live"].dependencies
    assert urn["chat-live"] in bench and urn["chat-service"] in bench
    assert result.recording.stack_outputs["url"] == "http://chat.llm-tiers.svc/v1"
