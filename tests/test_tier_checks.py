"""A ModelTier composed outside the stack loader refuses bad args itself, with the loader's messages, before
it registers anything (components/llm_tiers/tiers/checks.py)."""

from __future__ import annotations

import textwrap

import pytest

from llm_tiers.tiers import models_lock
from llm_tiers.tiers import checks as tier_checks
from llm_tiers.config.schema import TierConfig
from conftest import ROOT
from llm_tiers.preview import render as render_tool

LOCK = models_lock.load(ROOT / "models.lock.json")
QWEN, LLAMA_70B = "Qwen/Qwen2.5-7B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"


def _tier(**kw):
    base = {"name": "chat", "modelId": QWEN, "gpuClass": "l4", "maxInputTokens": 4096, "maxTotalTokens": 8192}
    return TierConfig.model_validate({**base, **kw})


def _paths(**kw):
    tier = _tier(**{k: v for k, v in kw.items() if k not in ("types", "token", "licenses")})
    cand = LOCK.models[tier.candidate.model_id or tier.model_id] if tier.candidate else None
    return {i.path: i.message for i in tier_checks.tier_issues(
        tier, LOCK.models[tier.model_id], kw.get("types", ["g6.xlarge"]), cand, kw.get("token", True),
        kw.get("licenses"))}


def test_good_args_pass():
    assert _paths() == {}


@pytest.mark.parametrize("kw,path,words", [
    ({"extraArgs": ["--max-total-tokens=99"]}, "args.tier.extra_args[0]", "is set by the platform"),
    ({"candidate": {"extraArgs": ["--port=1"]}}, "args.tier.candidate.extra_args[0]", "is set by the platform"),
    ({"candidate": {"modelId": LLAMA_70B}}, "args.tier.candidate", "on 1 x"),  # 70B on one L4
    ({"candidate": {"modelId": LLAMA_70B}, "token": False}, "args.tier.candidate.model_id", "is gated"),
    ({"licenses": ["mit"]}, "args.tier.model_id", "licensed 'apache-2.0'"),
    ({"maxTotalTokens": 65536, "maxInputTokens": 4096}, "args.tier.max_total_tokens", "exceeds the context length"),
    ({"quantize": "awq"}, "args.tier.quantize", ""),
    ({"types": ["g6.xlarge2"]}, "args.instance_types[0]", "not in the GPU catalog"),
    ({"gpusPerReplica": 4}, "args.tier.gpus_per_replica", "largest instance type"),
])
def test_bad_args_are_refused_at_their_path(kw, path, words):
    issues = _paths(**kw)
    assert path in issues and words in issues[path], issues


def test_a_composed_tier_registers_nothing_when_refused(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: team\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(f"""
        from pathlib import Path
        from llm_tiers import ModelTier, ModelTierArgs
        from llm_tiers.tiers.lock_spec import lock_spec
        from llm_tiers.tiers.models_lock import load
        lock = load(Path({str(ROOT / "models.lock.json")!r}))
        tier = dict(name="chat", model_id={LLAMA_70B!r}, gpu_class="l4", max_input_tokens=4096, max_total_tokens=8192)
        ModelTier("chat", ModelTierArgs(tier=tier, lock=lock_spec(lock.models[tier["model_id"]]),
                                        instance_types=["g6.xlarge"]))
    """))
    with pytest.raises(render_tool.RenderError) as info:
        render_tool.run_program("test", {"aws:region": "us-east-1"}, [], project_dir=tmp_path)
    text = str(info.value)
    assert "ModelTier 'chat': " in text and "  - args.tier.model_id: " in text and "is gated" in text, text
    assert not info.value.recording.resources, "nothing may be registered"


def test_args_paths_are_the_args_keys_in_snake_case():
    assert tier_checks.args_path("tiers[0].candidate.extraArgs[0]") == "args.tier.candidate.extra_args[0]"
    assert tier_checks.args_path("tiers[0]") == "args.tier"
    assert tier_checks.args_path("modelPolicy.allowedLicenses") == "args.allowed_licenses"
