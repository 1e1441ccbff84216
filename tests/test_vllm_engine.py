"""vLLM as the second engine: its argument builder (pure), the config errors per engine, and the rendered
vLLM Deployment of a tier switched to ``engine: vllm`` in every stack."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from conftest import STACKS, overrides, stack_values
from llm_tiers import versions
from llm_tiers.config.schema import ConfigError
from llm_tiers.stack.parse import parse
from llm_tiers.preview import render as render_tool
from llm_tiers.tiers import engines, tgi, vllm
from llm_tiers.tiers import manifests as tm
from llm_tiers.tiers.engine_settings import EngineSettings

BASE = EngineSettings(model_id="meta-llama/Llama-3.1-8B-Instruct", revision="0e9e39f249a16976918f6564b8830bc894c89659",
                      max_input_tokens=4096, max_total_tokens=8192, served_model_name="chat-small",
                      shutdown_timeout_seconds=180)


def _flag(args, name):
    return args[args.index(name) + 1]


def test_vllm_args_come_from_the_same_tier_keys():
    a = vllm.args(BASE)
    assert a[0] == BASE.model_id  # positional: the image's entrypoint is `vllm serve`
    assert _flag(a, "--revision") == BASE.revision
    names = a[a.index("--served-model-name") + 1:a.index("--host")]
    assert names == ["chat-small", BASE.model_id]  # the tier name first: vLLM reports it and 404s other names
    assert _flag(a, "--host") == "0.0.0.0" and _flag(a, "--port") == "8080"
    assert _flag(a, "--max-model-len") == "8192"           # maxTotalTokens
    assert _flag(a, "--max-num-batched-tokens") == "4096"  # the prefill budget (default maxInputTokens)
    assert _flag(a, "--max-num-seqs") == "128"             # maxConcurrentRequests
    assert _flag(a, "--tensor-parallel-size") == "1"
    assert json.loads(_flag(a, "--override-generation-config")) == {"max_new_tokens": 4096}  # the exact output cap
    assert _flag(a, "--shutdown-timeout") == "180"
    assert "--api-key" not in a and "--trust-remote-code" not in a and "--quantization" not in a
    assert "--dtype" not in a and "--otlp-traces-endpoint" not in a


def test_vllm_serves_the_aliases_the_gateway_routes_and_caps_at_max_output_tokens():
    a = vllm.args(replace(BASE, served_model_aliases=("llama-8b", "gpt-4o-mini"), max_output_tokens=1024))
    names = a[a.index("--served-model-name") + 1:a.index("--host")]
    assert names == ["chat-small", "llama-8b", "gpt-4o-mini", BASE.model_id]
    assert json.loads(_flag(a, "--override-generation-config")) == {"max_new_tokens": 1024}


def test_every_flag_the_platform_sets_is_guarded():
    a = vllm.args(replace(BASE, quantize="fp8", dtype="bfloat16", trust_remote_code=True, num_shard=2,
                          otlp_endpoint="http://otel:4317"))
    flags = {x for x in a if x.startswith("--")}
    assert flags - vllm.GUARDED_FLAGS == {"--disable-access-log-for-endpoints"}
    assert _flag(a, "--quantization") == "fp8_per_tensor"  # fp8 while loading full-precision weights
    assert _flag(a, "--dtype") == "bfloat16" and "--trust-remote-code" in a
    assert _flag(a, "--tensor-parallel-size") == "2" and _flag(a, "--otlp-traces-endpoint") == "http://otel:4317"


def test_a_prequantized_checkpoint_keeps_its_own_method():
    a = vllm.args(replace(BASE, quantize="awq", checkpoint_quantization="awq", dtype="float16"))
    assert "--quantization" not in a and _flag(a, "--dtype") == "float16"


@pytest.mark.parametrize("change,error", [
    (dict(max_input_tokens=8192), "must be below max_total_tokens"),
    (dict(max_batch_prefill_tokens=1024), "at least max_input_tokens"),
    (dict(quantize="bitsandbytes-nf4"), "no bitsandbytes-nf4 quantization"),
    (dict(quantize="eetq"), "no eetq quantization"),
    (dict(quantize="awq"), "full precision"),
    (dict(quantize="gptq", checkpoint_quantization="awq"), "already quantized with awq"),
    (dict(checkpoint_quantization="exl2"), "cannot load"),
    (dict(extra_args=["--gpu-memory-utilization=0.98"]), "platform-owned flags: --gpu-memory-utilization"),
    (dict(extra_args=["--api-key", "x"]), "--api-key"),
    (dict(extra_args=["--max-model-len=65536"]), "--max-model-len"),
])
def test_vllm_args_refuse_what_the_tier_cannot_honour(change, error):
    with pytest.raises(ValueError, match=error):
        vllm.args(replace(BASE, **change))


def test_each_engine_recognises_the_other_engines_flags():
    assert engines.foreign_extra_args("vllm", ["--max-waiting-tokens=20", "--enforce-eager", "--revision=x"]) == \
        [(0, "--max-waiting-tokens")]
    assert engines.foreign_extra_args("tgi", ["--max-waiting-tokens=20", "--enforce-eager"]) == [(1, "--enforce-eager")]
    # Flags both engines have are nobody's foreign flag.
    assert not engines.foreign_extra_args("tgi", ["--kv-cache-dtype=fp8"])
    assert {"--api-key", "--cuda-memory-fraction"} <= tgi.GUARDED_FLAGS


# ------------------------------------------------------------------------------------------ config errors


def _errors(values):
    with pytest.raises(ConfigError) as info:
        parse(values)
    return {i.path: i.message for i in info.value.issues}


def test_the_engine_is_a_tier_and_a_candidate_key():
    values = stack_values("prod")
    values["tiers"][0]["engine"] = "vllm"
    values["tiers"][0]["candidate"] = {"engine": "tgi"}
    cfg = parse(values)
    assert cfg.tiers[0].engine == "vllm" and cfg.tiers[0].candidate.engine == "tgi"
    values["tiers"][0]["engine"] = "sglang"
    assert "tiers[0].engine" in _errors(values)


def test_a_tgi_only_quantization_on_vllm_is_refused_at_its_key():
    values = stack_values("prod")
    values["tiers"][0].update(engine="vllm", quantize="bitsandbytes-nf4")
    errors = _errors(values)
    assert "TGI quantization that vLLM 0.33 does not have" in errors["tiers[0].quantize"]


def test_a_candidate_on_vllm_is_checked_against_vllm():
    values = stack_values("prod")
    values["tiers"][0].update(quantize="eetq", candidate={"engine": "vllm"})
    errors = _errors(values)
    assert "tiers[0].candidate.engine is vllm" in errors["tiers[0].quantize"]


@pytest.mark.parametrize("engine,extra,path,words", [
    ("vllm", ["--max-batch-prefill-tokens=8192"], "tiers[0].extraArgs[0]", "is a tgi flag, but this release runs vllm"),
    ("vllm", ["--gpu-memory-utilization=0.98"], "tiers[0].extraArgs[0]", "is set by the platform"),
    ("tgi", ["--enforce-eager"], "tiers[0].extraArgs[0]", "is a vllm flag, but this release runs tgi"),
    ("tgi", ["--api-key=abc"], "tiers[0].extraArgs[0]", "is set by the platform"),
])
def test_extra_args_are_checked_against_the_releases_engine(engine, extra, path, words):
    values = stack_values("prod")
    values["tiers"][0].update(engine=engine, extraArgs=extra)
    assert words in _errors(values)[path]


def test_a_vllm_candidate_inheriting_tgi_extra_args_is_refused():
    values = stack_values("prod")
    values["tiers"][0].update(extraArgs=["--max-waiting-tokens=20"], candidate={"engine": "vllm"})
    assert "this release runs vllm" in _errors(values)["tiers[0].extraArgs[0]"]
    # With its own extraArgs the candidate is fine.
    values["tiers"][0]["candidate"]["extraArgs"] = ["--enforce-eager"]
    parse(values)


# ------------------------------------------------------------------------------------------ the render


def _objects(result):
    return {(o["kind"], o["metadata"]["name"]): o for o in result.kubernetes_objects()}


@pytest.fixture(scope="module")
def vllm_renders():
    """Every stack with its first tier switched to ``engine: vllm`` (live release), its weights on EFS (streaming
    from the S3 mirror: tests/test_weight_mirror.py)."""
    out = {}
    for stack in STACKS:
        values = stack_values(stack)
        values["tiers"][0]["engine"] = "vllm"
        values["tiers"][0]["weightsFrom"] = "efs"
        values["tiers"][0].pop("candidate", None)
        values["tiers"][0]["serve"] = "live"
        out[stack] = (values["tiers"][0], render_tool.render(stack, overrides=overrides(values)))
    return out


@pytest.mark.parametrize("stack", STACKS)
def test_a_tier_switched_to_vllm_renders_a_vllm_server(vllm_renders, stack):
    tier, result = vllm_renders[stack]
    objs = _objects(result)
    d = objs[("Deployment", f"{tier['name']}-live")]
    pod = d["spec"]["template"]
    (c,) = pod["spec"]["containers"]
    assert c["name"] == "vllm" and c["image"] == versions.IMAGES["vllm"] and "command" not in c
    a = c["args"]
    assert a[0] == tier["modelId"] and _flag(a, "--max-model-len") == str(tier["maxTotalTokens"])
    assert _flag(a, "--max-num-batched-tokens") == str(tier.get("maxBatchPrefillTokens", tier["maxInputTokens"]))
    assert _flag(a, "--tensor-parallel-size") == str(tier.get("gpusPerReplica", 1))
    assert json.loads(_flag(a, "--override-generation-config")) == {
        "max_new_tokens": tier.get("maxOutputTokens", tier["maxTotalTokens"] - tier["maxInputTokens"])}
    names = a[a.index("--served-model-name") + 1:a.index("--host")]
    assert names == [tier["name"], *tier.get("aliases", []), tier["modelId"]]
    assert "--api-key" not in a
    # Same port name and number as TGI: the Service (80 -> http), the PodMonitor (port http) and the
    # NetworkPolicies do not change with the engine.
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert _flag(a, "--port") == "8080"
    svc = objs[("Service", tier["name"])]
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert objs[("PodMonitor", tier["name"])]["spec"]["podMetricsEndpoints"][0]["port"] == "http"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["HF_HUB_OFFLINE"] == "1" and env["HF_HOME"] == "/data" and env["VLLM_NO_USAGE_STATS"] == "1"
    assert {"name": "weights", "mountPath": "/data"} in c["volumeMounts"]
    # SIGTERM comes after preStop; the drain and the exit fit in the grace period.
    drain = int(_flag(a, "--shutdown-timeout"))
    assert drain > 0
    assert c["lifecycle"]["preStop"]["sleep"]["seconds"] + drain < pod["spec"]["terminationGracePeriodSeconds"]
    # Non-root, and so without the TGI image's root exceptions.
    sec = pod["spec"]["securityContext"]
    assert sec["runAsNonRoot"] is True and sec["runAsUser"] >= 10000
    skips = " ".join(v for k, v in d["metadata"]["annotations"].items() if k.startswith("checkov.io/skip"))
    assert "CKV_K8S_23" not in skips and "CKV_K8S_40" not in skips
    assert pod["metadata"]["labels"][tm.ENGINE_LABEL] == "vllm"
    # The tier's weight sync runs the vLLM image too: python3 (the image has no `python`), as the same UID.
    (job,) = [o for (k, n), o in objs.items() if k == "Job" and n.startswith(f"{tier['name']}-sync-")]
    (sync,) = job["spec"]["template"]["spec"]["containers"]
    assert sync["image"] == versions.IMAGES["vllm"] and sync["command"][0] == "python3"
    assert job["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == sec["runAsUser"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_release_pod_carries_its_engine(rendered, stack):
    deployments = [o for o in rendered(stack).kubernetes_objects() if o["kind"] == "Deployment"
                   and o["metadata"]["labels"].get(tm.COMPONENT_LABEL) == "server"]
    assert deployments
    for d in deployments:
        (c,) = d["spec"]["template"]["spec"]["containers"]
        assert d["spec"]["template"]["metadata"]["labels"][tm.ENGINE_LABEL] == c["name"] in engines.ENGINES


def test_staging_benchmarks_a_vllm_candidate_beside_tgi(rendered):
    result = rendered("staging")
    objs = _objects(result)
    live = objs[("Deployment", "chat-small-live")]["spec"]["template"]
    cand = objs[("Deployment", "chat-small-candidate")]["spec"]["template"]
    assert live["spec"]["containers"][0]["image"] == versions.IMAGES["tgi"]
    assert cand["spec"]["containers"][0]["image"] == versions.IMAGES["vllm"]
    # One cache for both: the same revision, no second sync Job.
    claims = {t["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] for t in (live, cand)}
    assert len(claims) == 1
    assert len([o for o in result.kubernetes_objects() if o["kind"] == "Job"
                and o["metadata"]["name"].startswith("chat-small-sync-")]) == 1
    # staging serves its (gated) vLLM candidate: the plan row names what serves.
    row = next(r for r in result.outputs()["tierPlan"] if r["tier"] == "chat-small")
    assert row["engine"] == "vllm" and "on tgi" in row["otherRelease"]
    assert objs[("Service", "chat-small")]["spec"]["selector"][tm.RELEASE_LABEL] == "candidate"


def test_serving_the_tgi_live_release_shows_tgi_in_the_plan():
    values = stack_values("staging")
    values["tiers"][0]["serve"] = "live"
    result = render_tool.render("staging", overrides=overrides(values))
    row = next(r for r in result.outputs()["tierPlan"] if r["tier"] == "chat-small")
    assert row["engine"] == "tgi" and "on vllm" in row["otherRelease"]
    svc = _objects(result)[("Service", "chat-small")]
    assert svc["spec"]["selector"][tm.RELEASE_LABEL] == "live"


def test_a_traced_vllm_release_sends_spans_to_the_collector():
    values = stack_values("prod")
    values.setdefault("observability", {})["tracing"] = {"enabled": True,
                                                         "otlpEndpoint": "https://otlp.example.com:4317"}
    values["tiers"][0]["candidate"] = {"engine": "vllm"}
    values["gpuClasses"][values["tiers"][0]["gpuClass"]]["maxGpus"] = 64
    result = render_tool.render("prod", overrides=overrides(values))
    name = values["tiers"][0]["name"]
    (c,) = _objects(result)[("Deployment", f"{name}-candidate")]["spec"]["template"]["spec"]["containers"]
    endpoint = c["args"][c["args"].index("--otlp-traces-endpoint") + 1]
    assert endpoint.startswith("http://") and endpoint.endswith(":4317")
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["OTEL_SERVICE_NAME"] == name and "inference.backend=vllm" in env["OTEL_RESOURCE_ATTRIBUTES"]
    assert "--otlp-endpoint" not in c["args"]  # TGI's flag


def test_vllm_keeps_its_compile_cache_on_the_weights_volume_and_wakes_with_it(tmp_path):
    """VLLM_CACHE_ROOT points into the weights claim's mount (so torch_compile_cache survives the pod and is
    shared by every replica of the revision); the rollout plan then counts a wake-up's warm-up from the cache,
    while the Deployment's own budgets still cover a cold compile (its first start)."""
    from llm_tiers import timing
    from llm_tiers.preview import render as render_tool
    from llm_tiers.preview import awaits, rollout
    from conftest import stack_values
    from conftest import overrides

    values = stack_values("dev")
    values["tiers"][0]["engine"] = "vllm"
    values["tiers"][0]["weightsFrom"] = "efs"
    r = render_tool.render("dev", overrides=overrides(values))
    d = next(x for x in r.custom_resources if x.inputs.get("kind") == "Deployment"
             and x.inputs["metadata"]["name"] == "chat-small-live")
    pod = d.inputs["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    mount = next(m for m in container["volumeMounts"] if env["VLLM_CACHE_ROOT"].startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["persistentVolumeClaim"]["claimName"].startswith("chat-small-weights-")
    assert awaits.persisted_compile_cache(d)
    [zero] = rollout.plan("dev", r.recording).scale_from_zero
    assert zero["engine"] == "vllm"
    assert zero["coldNode"]["steps"][-1]["step"] == "vLLM compile + CUDA graphs (persisted cache)"
    # The startup probe still allows a cold compile (the revision's first start has no cache yet).
    weights = int(d.inputs["metadata"]["annotations"]["llm-tiers.io/weights-bytes"])
    probe = container["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] >= timing.load_budget_seconds(weights, "vllm", False)
