"""Capacity planner and TGI argument builder (pure), and the planner's verdict at preview."""

from __future__ import annotations

import pytest

from llm_tiers.tiers import capacity
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.tiers import tgi
from llm_tiers.tiers.capacity import GIB, ModelShape
from conftest import overrides, stack_values
from llm_tiers.testing import render as render_tool

# Published architecture numbers (config.json of each model).
LLAMA_8B = ModelShape(num_layers=32, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                      weights_bytes=16_060_522_496)
LLAMA_70B = ModelShape(num_layers=80, num_attention_heads=64, num_key_value_heads=8, head_dim=128,
                       weights_bytes=141_107_412_992)


def test_kv_bytes_per_token_matches_published_figures():
    assert capacity.kv_bytes_per_token(LLAMA_8B) == 131_072
    assert capacity.kv_bytes_per_token(LLAMA_70B) == 327_680


def test_8b_on_one_l4():
    p = capacity.plan(LLAMA_8B, gpu_catalog.L4, 1, 8192, [gpu_catalog.lookup("g6.xlarge"), gpu_catalog.lookup("g6.2xlarge")])
    usable = int(24 * GIB * 0.9) - GIB
    assert p.usable_bytes_per_gpu == usable
    assert p.weights_bytes_per_gpu == LLAMA_8B.weights_bytes
    assert p.kv_token_capacity == (usable - LLAMA_8B.weights_bytes) // 131_072
    assert p.concurrent_max_sequences == p.kv_token_capacity // 8192
    assert p.fits and p.replica_hourly_usd == 0.8048  # the cheaper of the two instance types


def test_70b_on_four_h100_shards_weights_and_kv():
    p = capacity.plan(LLAMA_70B, gpu_catalog.H100, 4, 20480, [gpu_catalog.lookup("p5.48xlarge")])
    assert p.weights_bytes_per_gpu == -(-LLAMA_70B.weights_bytes // 4)
    assert p.kv_bytes_per_token_per_gpu == 327_680 / 4
    assert p.fits and p.concurrent_max_sequences >= 1
    # Priced as the whole node: the tier's hostname spread gives each replica its own p5 (components/llm_tiers/cost/bill.py).
    assert p.replica_hourly_usd == pytest.approx(55.04)


def test_70b_on_a_single_24gb_gpu_does_not_fit_and_says_what_to_do():
    p = capacity.plan(LLAMA_70B, gpu_catalog.L4, 1, 8192)
    assert not p.fits
    (problem,) = p.problems
    assert "weights need 131.4 GiB per GPU across 1 L4 GPU(s)" in problem and "20.6 GiB is usable" in problem
    assert "more GPUs per replica" in problem and "quantized" in problem


def test_a_sequence_that_does_not_fit_the_kv_cache_is_refused():
    p = capacity.plan(LLAMA_8B, gpu_catalog.L4, 1, 200_000)
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
    from llm_tiers.config.schema import ConfigError, parse
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
    assert "| 327680 |" in row and "| yes |" in row and "| 55.04 |" in row
