"""The models lock as read at preview, and the gated-model rule it enables."""

from __future__ import annotations

import json

import pytest

from llm_tiers.tiers import models_lock
from conftest import overrides, stack_values
from llm_tiers.preview import render as render_tool

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"


def entry(gated: bool, revision: str = "0" * 40) -> dict:
    return {"revision": revision, "license": "llama3.1" if gated else "apache-2.0", "gated": gated,
            "numLayers": 32, "numAttentionHeads": 32, "numKeyValueHeads": 8, "headDim": 128,
            "files": [{"path": "model.safetensors", "size": 10}], "weightsBytes": 10}


def write_lock(path, models: dict) -> str:
    path.write_text(json.dumps({"version": 1, "models": models}))
    return str(path)


def test_missing_lock_is_none(tmp_path):
    assert models_lock.load(tmp_path / "absent.json") is None


@pytest.mark.parametrize("content,words", [
    ("{not json", "not a valid models lock"),
    (json.dumps({"version": 1, "models": {LLAMA_8B: {"revision": "main", "gated": True}}}), "not a valid models lock"),
    (json.dumps({"version": 9, "models": {}}), "lock version 9"),
    (json.dumps({"version": 1, "models": {LLAMA_8B: {**entry(True), "gatd": True}}}), "not a valid models lock"),
])
def test_unreadable_lock_is_an_error(tmp_path, content, words):
    path = tmp_path / "lock.json"
    path.write_text(content)
    with pytest.raises(models_lock.LockError, match=words):
        models_lock.load(path)


def test_valid_lock_loads(tmp_path):
    lock = models_lock.load(_written(tmp_path))
    e = lock.models[LLAMA_8B]
    assert e.gated and e.num_key_value_heads == 8 and e.files[0].size == 10


def _written(tmp_path):
    path = tmp_path / "lock.json"
    write_lock(path, {LLAMA_8B: entry(True)})
    return path


def _prod_with_lock(tmp_path, models):
    values = stack_values("prod")
    values["modelPolicy"]["lockFile"] = write_lock(tmp_path / "models.lock.json", models)
    return overrides(values)


def test_gated_model_without_token_is_refused_at_preview(tmp_path):
    over = _prod_with_lock(tmp_path, {LLAMA_8B: entry(True), LLAMA_70B: entry(True)})
    with pytest.raises(render_tool.RenderError) as info:
        render_tool.render("prod", overrides=over, omit_secrets=True)
    message = str(info.value)
    assert f"tiers[0].modelId: {LLAMA_8B} is gated" in message
    assert f"tiers[1].modelId: {LLAMA_70B} is gated" in message
    assert "pulumi config set --secret hfToken" in message
    assert info.value.recording.resources == []


def test_gated_model_with_token_renders(tmp_path):
    over = _prod_with_lock(tmp_path, {LLAMA_8B: entry(True), LLAMA_70B: entry(True)})
    result = render_tool.render("prod", overrides=over, secrets={"hfToken": "hf_x"})
    assert result.of_type("aws:eks/cluster:Cluster")


def test_ungated_models_need_no_token(tmp_path):
    over = _prod_with_lock(tmp_path, {LLAMA_8B: entry(False), LLAMA_70B: entry(False)})
    urls = {"alertReceiverUrls": {"oncall": "https://x.invalid", "ml-platform": "https://y.invalid"}}
    result = render_tool.render("prod", overrides=over, omit_secrets=True, secrets=urls)
    assert result.of_type("aws:eks/cluster:Cluster")


def test_candidate_models_are_checked_too(tmp_path):
    values = stack_values("prod")
    values["tiers"][0]["candidate"] = {"modelId": "meta-llama/Llama-3.3-70B-Instruct"}
    values["gpuClasses"]["l4"]["maxGpus"] = 18  # both releases at replicas.max, each with a surge replica
    values["modelPolicy"]["lockFile"] = write_lock(tmp_path / "l.json", {
        LLAMA_8B: entry(False), LLAMA_70B: entry(False), "meta-llama/Llama-3.3-70B-Instruct": entry(True)})
    with pytest.raises(render_tool.RenderError, match=r"tiers\[0\]\.candidate\.modelId: meta-llama/Llama-3.3-70B"):
        render_tool.render("prod", overrides=overrides(values), omit_secrets=True)


def test_corrupt_lock_is_reported_at_its_key(tmp_path):
    values = stack_values("dev")
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    values["modelPolicy"]["lockFile"] = str(bad)
    with pytest.raises(render_tool.RenderError, match=r"modelPolicy\.lockFile: .* not a valid models lock"):
        render_tool.render("dev", overrides=overrides(values))


def test_the_committed_lock_refuses_prods_gated_llama_without_a_token():
    urls = {"alertReceiverUrls": {"oncall": "https://x.invalid", "ml-platform": "https://y.invalid"}}
    with pytest.raises(render_tool.RenderError,
                       match=r"tiers\[0\]\.modelId: meta-llama/Llama-3.1-8B-Instruct is gated"):
        render_tool.render("prod", omit_secrets=True, secrets=urls)


def _dev_with(tmp_path, tier_changes: dict, entry_changes: dict):
    values = stack_values("dev")
    values["tiers"][0].update(tier_changes)
    lock = {"Qwen/Qwen2.5-7B-Instruct": {**entry(False, "a" * 40), **entry_changes}}
    values["modelPolicy"]["lockFile"] = write_lock(tmp_path / "lock.json", lock)
    return overrides(values)


@pytest.mark.parametrize("tier_changes,entry_changes,words", [
    ({}, {"license": "cc-by-nc-4.0"}, r"tiers\[0\]\.modelId: Qwen/Qwen2.5-7B-Instruct is licensed 'cc-by-nc-4.0'"),
    ({}, {"requiresRemoteCode": True}, r"tiers\[0\]\.trustRemoteCode: .* needs custom code"),
    ({"revision": "b" * 40}, {}, r"tiers\[0\]\.revision: 'b{40}' differs from the locked revision a{40}"),
])
def test_lock_policy_is_enforced_at_preview(tmp_path, tier_changes, entry_changes, words):
    with pytest.raises(render_tool.RenderError, match=words):
        render_tool.render("dev", overrides=_dev_with(tmp_path, tier_changes, entry_changes))


def test_lock_policy_passes_when_allowed(tmp_path):
    over = _dev_with(tmp_path, {"revision": "aaaaaaa", "trustRemoteCode": True}, {"requiresRemoteCode": True})
    assert render_tool.render("dev", overrides=over).of_type("aws:eks/cluster:Cluster")
