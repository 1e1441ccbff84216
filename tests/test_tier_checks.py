"""A ModelTier composed outside the stack loader refuses bad args itself, with the loader's messages, before
it registers anything (components/llm_tiers/tiers/checks.py)."""

from __future__ import annotations

import textwrap

import pytest

from llm_tiers.tiers import models_lock
from llm_tiers.tiers import checks as tier_checks
from llm_tiers.config.schema import ConfigError, TierConfig
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
    ({"extraArgs": ["--max-total-tokens=99"]}, "tier.extraArgs[0]", "is set by the platform"),
    ({"candidate": {"extraArgs": ["--port=1"]}}, "tier.candidate.extraArgs[0]", "is set by the platform"),
    ({"candidate": {"modelId": LLAMA_70B}}, "tier.candidate", "on 1 x"),  # 70B on one L4
    ({"candidate": {"modelId": LLAMA_70B}, "token": False}, "tier.candidate.modelId", "is gated"),
    ({"licenses": ["mit"]}, "tier.modelId", "licensed 'apache-2.0'"),
    ({"maxTotalTokens": 65536, "maxInputTokens": 4096}, "tier.maxTotalTokens", "exceeds the context length"),
    ({"quantize": "awq"}, "tier.quantize", ""),
    ({"types": ["g6.xlarge2"]}, "instance_types[0]", "not in the GPU catalog"),
    ({"gpusPerReplica": 4}, "tier.gpusPerReplica", "largest instance type"),
])
def test_bad_args_are_refused_at_their_path(kw, path, words):
    issues = _paths(**kw)
    assert path in issues and words in issues[path], issues


def test_a_composed_tier_registers_nothing_when_refused(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: team\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(f"""
        from pathlib import Path
        from llm_tiers import ModelTier, ModelTierArgs
        from llm_tiers.config.schema import TierConfig
        from llm_tiers.tiers.models_lock import load
        lock = load(Path({str(ROOT / "models.lock.json")!r}))
        tier = TierConfig(name="chat", model_id={LLAMA_70B!r}, gpu_class="l4", max_input_tokens=4096,
                          max_total_tokens=8192)
        ModelTier("chat", ModelTierArgs(tier=tier, lock=lock.models[tier.model_id], instance_types=["g6.xlarge"]))
    """))
    with pytest.raises(render_tool.RenderError) as info:
        render_tool.run_program("test", {"aws:region": "us-east-1"}, [], project_dir=tmp_path)
    text = str(info.value)
    assert "ModelTier chat's args" in text and "tier.modelId" in text and "is gated" in text
    assert "tier: " in text or "tier:" in text
    assert not info.value.recording.resources, "nothing may be registered"


def test_check_raises_a_config_error():
    with pytest.raises(ConfigError, match="Fix them in the ModelTierArgs"):
        tier_checks.check(_tier(extraArgs=["--port=1"]), LOCK.models[QWEN], ["g6.xlarge"])
