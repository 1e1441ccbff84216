"""Capacity planner and TGI argument builder (pure), and the planner's verdict at preview."""

from __future__ import annotations

import math

import pytest

from llm_tiers.tiers import capacity
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.tiers import tgi
from llm_tiers.tiers.capacity import GIB, ModelShape
from conftest import overrides, stack_values
from llm_tiers.preview import render as render_tool

# Published architecture numbers (config.json of each model).
LLAMA_8B = ModelShape(num_layers=32, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                      weights_bytes=16_060_522_496)
LLAMA_70B = ModelShape(num_layers=80, num_attention_heads=64, num_key_value_heads=8, head_dim=128,
                       weights_bytes=141_107_412_992)


def test_kv_bytes_per_token_matches_published_figures():
    assert capacity.kv_bytes_per_token(LLAMA_8B) == 131_072
    assert capacity.kv_bytes_per_token(LLAMA_70B) == 327_680


# ------------------------------------------------------------------- the planner against each engine's math
#
# Each engine's own KV formula, written out from its source at the pinned version (capacity.py's docstring has
# the paths), fed the *lowest* overheads the evidence allows: the planner must come out at or below it, so it
# never says "fits" where the engine's warm-up would refuse the tier.


def _tgi_engine_kv_bytes(total_gib, weights_bytes, context_gib, activation_bytes):
    """flash_causal_lm.py warmup (3.3.6): free after the warm-up prefill - (1 - 1.0 x 0.90) x total."""
    total = total_gib * GIB
    free_after_prefill = total - context_gib * GIB - weights_bytes - activation_bytes
    return free_after_prefill - (1 - 1.0 * 0.90) * total


def _vllm_engine_kv_bytes(total_gib, utilization, weights_bytes, peak_bytes, non_torch_gib, graphs_gib):
    """gpu_worker.py determine_available_memory (0.33.0): ceil(total x util) - non-KV - CUDA graph estimate."""
    return math.ceil(total_gib * GIB * utilization) - (weights_bytes + peak_bytes + non_torch_gib * GIB) \
        - graphs_gib * GIB


LLAMA_8B_FULL = ModelShape(num_layers=32, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                           weights_bytes=16_060_522_496, hidden_size=4096, vocab_size=128_256)


def test_the_planner_uses_cuda_visible_memory_not_the_nominal_size():
    assert gpu_catalog.L4.memory_gib == 24 and gpu_catalog.L4.cuda_total_gib == pytest.approx(22.03)
    assert gpu_catalog.H100.cuda_total_gib == pytest.approx(79.18)
    for gpu in (gpu_catalog.T4, gpu_catalog.A10G, gpu_catalog.L40S, gpu_catalog.A100_40, gpu_catalog.A100_80,
                gpu_catalog.H200):
        assert 0.9 * gpu.memory_gib < gpu.cuda_total_gib < gpu.memory_gib, gpu.name
    # A GPU without a measured figure falls back below every measured ratio.
    unknown = gpu_catalog.GpuModel("X", 24, 300)
    assert unknown.cuda_total_gib < min(g.cuda_total_gib / g.memory_gib
                                        for g in (gpu_catalog.L4, gpu_catalog.H100)) * 24


def test_8b_on_one_l4_tgi_is_at_or_below_tgis_own_warmup_math():
    p = capacity.plan(LLAMA_8B_FULL, gpu_catalog.L4, 1, 8192, [gpu_catalog.lookup("g6.xlarge"),
                                                               gpu_catalog.lookup("g6.2xlarge")],
                      engine="tgi", prefill_tokens=4096)
    # TGI with the lowest plausible overheads: a 0.3 GiB CUDA context and only the MLP's gate/up output of the
    # 4096-token prefill (2 x 14336 bf16 values per token) left reserved by the allocator.
    engine = _tgi_engine_kv_bytes(22.03, LLAMA_8B_FULL.weights_bytes, 0.3, 4096 * 2 * 14336 * 2)
    assert p.kv_free_bytes_per_gpu <= engine
    assert p.kv_token_capacity <= engine // 131_072
    # ... and not uselessly far below it (the planner is for sizing tiers, not only for refusing them).
    assert p.kv_token_capacity >= 0.75 * (engine // 131_072)
    assert p.fits and p.concurrent_max_sequences == p.kv_token_capacity // 8192 >= 3
    assert p.replica_hourly_usd == 0.8048  # the cheaper of the two instance types


def test_the_old_nominal_memory_planner_was_45_percent_optimistic():
    # What the planner said before (24 GiB x 0.9 - 1 GiB - weights) against TGI's math above.
    old = (int(24 * GIB * 0.9) - GIB - LLAMA_8B_FULL.weights_bytes) // 131_072
    engine = _tgi_engine_kv_bytes(22.03, LLAMA_8B_FULL.weights_bytes, 0.45, 4096 * 2 * 14336 * 2 * 2) // 131_072
    assert 1.35 < old / engine < 1.55
    # A tier sized on the old number: 40k tokens "fit" then, but TGI's router refuses max_total_tokens above its
    # batch total tokens (backends/v3/src/main.rs at v3.3.6). The planner now says so.
    assert old > 40_000 > engine
    p = capacity.plan(LLAMA_8B_FULL, gpu_catalog.L4, 1, 40_000, engine="tgi", prefill_tokens=4096)
    assert not p.fits and "fewer than one maxTotalTokens sequence (40000)" in p.problems[0]


def test_tgi_on_a10g_is_below_a_published_warmup_result():
    # A public TGI deployment log: Mistral-7B-Instruct-v0.3 on one A10G (ml.g5.8xlarge) with the default memory
    # fraction logged "Setting max batch total tokens to 43808" (SageMaker HyperPod workshop README; code index
    # excerpt 4957697114, whose repository the index does not name). Its prefill budget is not in the log: the
    # planner stays below for any budget up to 8192.
    mistral = ModelShape(num_layers=32, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                         weights_bytes=14_496_047_104, hidden_size=4096, vocab_size=32_768)
    for prefill in (2048, 4096, 8192):
        p = capacity.plan(mistral, gpu_catalog.A10G, 1, 4096, engine="tgi", prefill_tokens=prefill)
        assert p.kv_token_capacity <= 43_808, prefill
    assert capacity.plan(mistral, gpu_catalog.A10G, 1, 4096, engine="tgi", prefill_tokens=4096).kv_token_capacity \
        >= 0.75 * 43_808


# A published vLLM memory profile on one H100 (79.18 GiB), vLLM v0.11.0, --gpu-memory-utilization 0.9,
# --max-model-len 16000, the server's batch defaults for >= 70 GiB GPUs (8192 batched tokens, 1024 sequences:
# vllm/engine/arg_utils.py get_batch_defaults): weights, torch peak increase, non-torch memory and the KV cache
# vLLM allocated, GiB ("vLLM Empirical Memory Profiling Results"; code index file 27349653019, repository not
# named by the index). v0.11 did not subtract its CUDA graph estimate; 0.33.0 does, so its KV is at most this.
VLLM_H100_PROFILES = [
    # (model, shape, TP, weights GiB per GPU, activation GiB, non-torch GiB, KV GiB)
    ("Llama-3.1-8B", LLAMA_8B_FULL, 1, 14.99, 4.76, 0.13, 51.38),
    ("Qwen3-0.6B", ModelShape(num_layers=28, num_attention_heads=16, num_key_value_heads=8, head_dim=128,
                              weights_bytes=0, hidden_size=1024, vocab_size=151_936), 1, 1.12, 5.56, 0.13, 64.45),
    ("Qwen3-32B", ModelShape(num_layers=64, num_attention_heads=64, num_key_value_heads=8, head_dim=128,
                             weights_bytes=0, hidden_size=5120, vocab_size=151_936), 1, 61.03, 5.64, 0.14, 4.45),
    ("Qwen3-32B", ModelShape(num_layers=64, num_attention_heads=64, num_key_value_heads=8, head_dim=128,
                             weights_bytes=0, hidden_size=5120, vocab_size=151_936), 2, 30.59, 5.64, 0.54, 34.49),
    ("Llama-3.3-70B-FP8", ModelShape(num_layers=80, num_attention_heads=64, num_key_value_heads=8, head_dim=128,
                                     weights_bytes=0, hidden_size=8192, vocab_size=128_256), 2, 33.88, 4.84, 0.55,
     32.00),
]


@pytest.mark.parametrize("name,shape,tp,weights_gib,act_gib,non_torch_gib,kv_gib", VLLM_H100_PROFILES)
def test_vllm_on_h100_is_below_published_profiles(monkeypatch, name, shape, tp, weights_gib, act_gib, non_torch_gib,
                                                  kv_gib):
    from dataclasses import replace
    monkeypatch.setattr(capacity, "VLLM_GPU_MEMORY_UTILIZATION", 0.9)  # the profile's setting
    shape = replace(shape, weights_bytes=int(weights_gib * GIB * tp))
    # The engine's formula reproduces the profile (a check on the formula the planner follows).
    assert _vllm_engine_kv_bytes(79.18, 0.9, weights_gib * GIB, act_gib * GIB, non_torch_gib, 0) / GIB == \
        pytest.approx(kv_gib, abs=0.02)
    p = capacity.plan(shape, gpu_catalog.H100, tp, 16000, engine="vllm", prefill_tokens=8192, max_num_seqs=1024)
    assert p.kv_free_bytes_per_gpu <= kv_gib * GIB, name
    assert p.kv_free_bytes_per_gpu >= 0.6 * kv_gib * GIB, name
    if kv_gib * GIB / p.kv_bytes_per_token_per_gpu > 1.5 * 16000:  # where vLLM has room to spare, it fits
        assert p.fits, name


def test_8b_on_one_l4_vllm_is_at_or_below_vllms_own_profile_math():
    p = capacity.plan(LLAMA_8B_FULL, gpu_catalog.L4, 1, 8192, engine="vllm", prefill_tokens=4096, max_num_seqs=128)
    # vLLM with the lowest plausible overheads: the profile's weights (14.99 GiB), a sampler peak of fp32 logits
    # and their sort (16 bytes per logit) over 128 sequences, 0.13 GiB non-torch memory, a CUDA graph estimate
    # that frees 0.45 GiB (the most negative the H100 profiles above saw for this model).
    engine = _vllm_engine_kv_bytes(22.03, 0.92, 14.99 * GIB, 128 * 128_256 * 16, 0.13, -0.45)
    assert p.kv_free_bytes_per_gpu <= engine and p.fits
    # Without the vocabulary in the lock the sampler is sized for 262144 entries: lower, never higher.
    from dataclasses import replace
    unknown_vocab = capacity.plan(replace(LLAMA_8B_FULL, vocab_size=None), gpu_catalog.L4, 1, 8192, engine="vllm",
                                  prefill_tokens=4096, max_num_seqs=128)
    assert unknown_vocab.kv_token_capacity < p.kv_token_capacity


def test_each_engine_is_planned_with_its_own_budget():
    tgi_plan = capacity.plan(LLAMA_8B_FULL, gpu_catalog.L4, 1, 8192, engine="tgi", prefill_tokens=4096)
    vllm_plan = capacity.plan(LLAMA_8B_FULL, gpu_catalog.L4, 1, 8192, engine="vllm", prefill_tokens=4096)
    assert tgi_plan.engine == "tgi" and vllm_plan.engine == "vllm"
    assert tgi_plan.usable_bytes_per_gpu != vllm_plan.usable_bytes_per_gpu
    # A bigger prefill budget costs TGI's warm-up activations, and vLLM's profile run, KV room.
    for engine in ("tgi", "vllm"):
        small = capacity.plan(LLAMA_8B_FULL, gpu_catalog.L4, 1, 8192, engine=engine, prefill_tokens=4096)
        big = capacity.plan(LLAMA_8B_FULL, gpu_catalog.L4, 1, 8192, engine=engine, prefill_tokens=16384)
        assert big.kv_token_capacity < small.kv_token_capacity, engine


def test_tgi_refuses_a_prefill_budget_above_its_kv_capacity():
    p = capacity.plan(LLAMA_8B_FULL, gpu_catalog.L4, 1, 8192, engine="tgi", prefill_tokens=16_384)
    assert p.kv_token_capacity >= 8192
    assert not p.fits and "fewer than the prefill budget (16384)" in p.problems[0]


def test_70b_on_four_h100_shards_weights_and_kv():
    p = capacity.plan(LLAMA_70B, gpu_catalog.H100, 4, 20480, [gpu_catalog.lookup("p5.48xlarge")])
    assert p.weights_bytes_per_gpu == -(-LLAMA_70B.weights_bytes // 4)
    assert p.kv_bytes_per_token_per_gpu == 327_680 / 4
    assert p.fits and p.concurrent_max_sequences >= 1
    # Priced as the whole node: the tier's hostname spread gives each replica its own p5
    # (components/llm_tiers/cost/bill.py).
    assert p.replica_hourly_usd == pytest.approx(55.04)


def test_70b_on_a_single_24gb_gpu_does_not_fit_and_says_what_to_do():
    p = capacity.plan(LLAMA_70B, gpu_catalog.L4, 1, 8192)
    assert not p.fits
    (problem,) = p.problems
    assert "weights need 131.4 GiB per GPU across 1 L4 GPU(s)" in problem and "GiB is usable" in problem
    assert "more GPUs per replica" in problem and "quantized" in problem


def test_a_sequence_that_does_not_fit_the_kv_cache_is_refused():
    p = capacity.plan(LLAMA_8B, gpu_catalog.L4, 1, 200_000, prefill_tokens=4096)
    assert not p.fits and "fewer than one maxTotalTokens sequence (200000)" in p.problems[0]


def test_shards_must_divide_the_heads():
    shape = ModelShape(num_layers=28, num_attention_heads=28, num_key_value_heads=4, head_dim=128,
                       weights_bytes=15 * GIB)
    p = capacity.plan(shape, gpu_catalog.L4, 8, 4096)
    assert any("do not divide the model's 28 attention heads" in x for x in p.problems)


# ------------------------------------------------------------------------------------------ TGI args

BASE = tgi.TgiSettings(model_id="meta-llama/Llama-3.1-8B-Instruct", revision="0e9e39f249a16976918f6564b8830bc894c89659",
                       max_input_tokens=4096, max_total_tokens=8192)


def _flag(args, name):
    return args[args.index(name) + 1]


def test_args_carry_every_guarded_setting():
    a = tgi.args(BASE)
    assert _flag(a, "--model-id") == BASE.model_id and _flag(a, "--revision") == BASE.revision
    assert _flag(a, "--hostname") == "0.0.0.0" and _flag(a, "--port") == "8080"
    assert _flag(a, "--max-input-tokens") == "4096" and _flag(a, "--max-total-tokens") == "8192"
    assert _flag(a, "--max-batch-prefill-tokens") == "4096"
    assert _flag(a, "--num-shard") == "1" and _flag(a, "--usage-stats") == "off"
    assert _flag(a, "--max-concurrent-requests") == "128"
    assert "--max-input-length" not in a, "the deprecated flag together with --max-input-tokens is an error"
    assert "--quantize" not in a and "--dtype" not in a and "--trust-remote-code" not in a


@pytest.mark.parametrize("change,error", [
    (dict(max_input_tokens=8192), "must be below max_total_tokens"),
    (dict(max_batch_prefill_tokens=1024), "at least max_input_tokens"),
    (dict(quantize="int3"), "unknown quantize"),
    (dict(dtype="float32"), "unknown dtype"),
    (dict(quantize="awq", dtype="float16"), "dtype cannot be combined with quantize awq"),
    (dict(num_shard=0), "num_shard"),
    (dict(extra_args=["--max-total-tokens=100000"]), "platform-owned flags: --max-total-tokens"),
    (dict(extra_args=["--port", "8080"]), "--port"),
])
def test_args_refuse_what_tgi_would_reject(change, error):
    from dataclasses import replace
    with pytest.raises(ValueError, match=error):
        tgi.args(replace(BASE, **change))


def test_optional_flags():
    from dataclasses import replace
    a = tgi.args(replace(BASE, quantize="bitsandbytes-nf4", dtype="bfloat16", num_shard=4, trust_remote_code=True,
                         otlp_endpoint="http://otel:4317", otlp_service_name="chat-small",
                         extra_args=["--max-waiting-tokens=20"]))
    assert _flag(a, "--quantize") == "bitsandbytes-nf4" and _flag(a, "--dtype") == "bfloat16"
    assert _flag(a, "--num-shard") == "4" and "--trust-remote-code" in a
    assert _flag(a, "--otlp-endpoint") == "http://otel:4317" and _flag(a, "--otlp-service-name") == "chat-small"
    assert a[-1] == "--max-waiting-tokens=20"


def test_config_refuses_extra_args_that_override_guarded_flags():
    from llm_tiers.config.schema import ConfigError
    from llm_tiers.stack.parse import parse
    values = stack_values("prod")
    values["tiers"][0]["extraArgs"] = ["--max-waiting-tokens=20", "--max-total-tokens=65536"]
    with pytest.raises(ConfigError) as info:
        parse(values)
    (issue,) = info.value.issues
    assert issue.path == "tiers[0].extraArgs[1]" and "--max-total-tokens is set by the platform" in issue.message


# ------------------------------------------------------------------------------------------ at preview


def test_a_70b_model_on_one_24gb_gpu_fails_at_render_with_the_planners_message():
    # prod's chat-large (Llama-3.1-70B, in the committed lock) moved onto one L4.
    values = stack_values("prod")
    values["tiers"][1].update(gpuClass="l4", gpusPerReplica=1, maxInputTokens=4096, maxTotalTokens=8192,
                              replicas={"min": 2, "max": 4})
    values["tiers"][1].pop("dtype")
    with pytest.raises(render_tool.RenderError) as info:
        render_tool.render("prod", overrides=overrides(values))
    message = str(info.value)
    assert "tiers[1]: meta-llama/Llama-3.1-70B-Instruct on 1 x L4: weights need 131.4 GiB per GPU" in message
    assert "tiers[0]" not in message
    assert info.value.recording.resources == []


def test_plan_md_shows_the_planner_numbers(rendered, tmp_path):
    plan = (render_tool.write_build(rendered("prod"), tmp_path / "build") / "plan.md").read_text()
    row = next(line for line in plan.splitlines() if line.startswith("| chat-large | live | meta-llama/"))
    assert "| 1605565b47bb9346c5515c34102e054115b4f98b |" in row
    # One price per replica: the bill's $/node-hour (p5.48xlarge + its root volume), as in the cost summary.
    assert "| 327680 |" in row and "| yes |" in row and "| 55.1359 |" in row
    assert "| p5.48xlarge (on-demand) | 4 / 8 | 95, 768 | 55.1359 |" in plan
    # The output cap column is what the gateway enforces: chat-small sets maxOutputTokens 2048 (not 8192 - 4096).
    small = next(line for line in plan.splitlines() if line.startswith("| chat-small | live | meta-llama/"))
    assert "| 4096 | 8192 | 2048 |" in small
    assert "planned fix" not in plan and "cannot wake" not in plan
