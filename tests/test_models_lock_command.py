"""`make models-lock`: the real huggingface_hub client against a local server that answers like the Hub."""

from __future__ import annotations

import json

import pytest
from huggingface_hub import HfApi

from llm_tiers.tiers import models_lock
from llm_tiers.tiers.models_lock import LockError
from fake_hub import FakeHub, FakeRepo
from llm_tiers.cli import models_lock as lock_tool

LLAMA_CONFIG = {"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 32, "num_attention_heads": 32,
                "num_key_value_heads": 8, "hidden_size": 4096, "max_position_embeddings": 131072,
                "torch_dtype": "bfloat16"}
QWEN_AWQ_CONFIG = {"architectures": ["Qwen2ForCausalLM"], "num_hidden_layers": 64, "num_attention_heads": 40,
                   "num_key_value_heads": 8, "hidden_size": 5120, "max_position_embeddings": 32768,
                   "torch_dtype": "float16", "quantization_config": {"quant_method": "awq", "bits": 4}}
SHA_A, SHA_B = "a" * 40, "b" * 40


def hub_repos() -> dict[str, FakeRepo]:
    return {
        "org/gated-llama": FakeRepo(SHA_A, {
            "config.json": json.dumps(LLAMA_CONFIG).encode(),
            "model-00001-of-00002.safetensors": b"x" * 1000, "model-00002-of-00002.safetensors": b"y" * 500,
            "model.safetensors.index.json": b"{}", "tokenizer.json": b"{}", "tokenizer_config.json": b"{}",
            "original/consolidated.00.pth": b"z" * 4000, "pytorch_model.bin": b"z" * 3000, "README.md": b"#",
        }, license="llama3.1", gated="manual", token="hf_test_token"),
        "org/open-awq": FakeRepo(SHA_B, {
            "config.json": json.dumps(QWEN_AWQ_CONFIG).encode(), "model.safetensors": b"w" * 700,
            "vocab.json": b"{}", "merges.txt": b"", "tokenizer.json": b"{}",
        }),
    }


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with FakeHub(hub_repos()) as server:
        yield server


def test_entry_from_hub_selects_engine_files_and_numbers():
    e = models_lock.entry_from_hub(SHA_A, [("model.safetensors", 10), ("pytorch_model.bin", 99),
                                           ("original/params.json", 1), ("config.json", 2)],
                                   "llama3.1", "manual", LLAMA_CONFIG)
    assert [f.path for f in e.files] == ["config.json", "model.safetensors"]
    assert e.weights_bytes == 10 and e.gated is True and e.head_dim == 128 and e.num_key_value_heads == 8
    assert e.requires_remote_code is False


def test_entry_needs_safetensors():
    with pytest.raises(LockError, match="no safetensors"):
        models_lock.entry_from_hub(SHA_A, [("pytorch_model.bin", 99)], "mit", False, LLAMA_CONFIG)


def test_remote_code_is_detected():
    e = models_lock.entry_from_hub(SHA_A, [("model.safetensors", 1)], "mit", False, {**LLAMA_CONFIG, "auto_map": {
        "AutoModelForCausalLM": "modeling_x.XForCausalLM"}})
    assert e.requires_remote_code is True


def test_lock_is_built_from_the_hub(hub):
    api = HfApi(endpoint=hub.url)
    lock = lock_tool.refresh(None, {"org/gated-llama": None, "org/open-awq": None}, api, token=None)
    llama, awq = lock.models["org/gated-llama"], lock.models["org/open-awq"]
    assert llama.revision == SHA_A and llama.gated and llama.license == "llama3.1"
    assert [f.path for f in llama.files] == ["config.json", "model-00001-of-00002.safetensors",
                                             "model-00002-of-00002.safetensors", "model.safetensors.index.json",
                                             "tokenizer.json", "tokenizer_config.json"]
    assert llama.weights_bytes == 1500 and llama.num_layers == 32 and llama.head_dim == 128
    assert awq.revision == SHA_B and not awq.gated and awq.quantization == "awq" and awq.weights_bytes == 700
    assert awq.num_key_value_heads == 8 and awq.head_dim == 128
    # Round trip through the file format.
    again = models_lock.ModelsLock.model_validate(json.loads(models_lock.dump(lock)))
    assert again == lock


def test_locked_models_are_not_asked_again(hub):
    api = HfApi(endpoint=hub.url)
    first = lock_tool.refresh(None, {"org/open-awq": None}, api, token=None)
    hub.requests.clear()
    second = lock_tool.refresh(first, {"org/open-awq": None}, api, token=None)
    assert second == first and hub.requests == []
    lock_tool.refresh(first, {"org/open-awq": None}, api, token=None, update=True)
    assert hub.requests, "--update asks the Hub again"


def test_hand_written_entries_are_replaced_at_their_revision_by_the_hubs_answer(hub):
    manual = models_lock.ModelLockEntry.model_validate({
        "revision": SHA_B, "license": "apache-2.0", "gated": False, "source": "manual", "note": "from the card",
        "numLayers": 64, "numAttentionHeads": 40, "numKeyValueHeads": 8, "headDim": 128, "weightsBytes": 700,
        "files": [{"path": "model.safetensors", "size": 700}, {"path": "vocab.json", "size": None}]})
    lock = models_lock.ModelsLock(version=1, models={"org/open-awq": manual})
    kept = lock_tool.refresh(lock, {"org/open-awq": None}, HfApi(endpoint=hub.url), token=None)
    assert kept.models["org/open-awq"] == manual, "a hand-written entry stays until replacing it is asked for"
    new = lock_tool.refresh(lock, {"org/open-awq": None}, HfApi(endpoint=hub.url), token=None,
                            replace_manual=True).models["org/open-awq"]
    assert new.source == "hub" and new.revision == SHA_B and new.unverified_files == []
    assert {f.path: f.size for f in new.files}["vocab.json"] == 2
    assert any(p.endswith(f"/revision/{SHA_B}") for _, p in hub.requests), "asked at the entry's own revision"


def test_models_no_stack_uses_are_dropped(hub):
    api = HfApi(endpoint=hub.url)
    both = lock_tool.refresh(None, {"org/open-awq": None, "org/gated-llama": None}, api, token=None)
    assert set(lock_tool.refresh(both, {"org/open-awq": None}, api, token=None).models) == {"org/open-awq"}


def test_gated_model_without_token_fails_clearly(hub, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(LockError, match="org/gated-llama is gated: set HF_TOKEN"):
        lock_tool.refresh(None, {"org/gated-llama": None}, HfApi(endpoint=hub.url), token=None)


@pytest.mark.parametrize("model,revision,words", [
    ("org/open-awq", "c" * 40, "has no revision"),
    ("org/missing", None, "does not exist on the Hub"),
])
def test_hub_errors_are_explained(hub, model, revision, words):
    with pytest.raises(LockError, match=words):
        lock_tool.refresh(None, {model: revision}, HfApi(endpoint=hub.url), token=None)


def test_requested_models_come_from_every_stack():
    wanted = lock_tool.requested_models()
    assert {"meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct", "Qwen/Qwen2.5-7B-Instruct",
            "Qwen/Qwen2.5-32B-Instruct-AWQ"} <= set(wanted)


def test_check_mode_reports_unlocked_models(tmp_path, capsys):
    assert lock_tool.main(["--check", "--lock-file", str(tmp_path / "none.json")]) == 1
    assert "not locked: meta-llama/Llama-3.1-8B-Instruct" in capsys.readouterr().err


def _manual_gated_entry():
    return models_lock.ModelLockEntry.model_validate({
        "revision": SHA_A, "license": "llama3.1", "gated": True, "source": "manual", "note": "by hand",
        "numLayers": 32, "numAttentionHeads": 32, "numKeyValueHeads": 8, "headDim": 128, "weightsBytes": 1500,
        "files": [{"path": "model.safetensors", "size": None}]})


def test_adding_a_model_needs_no_token_for_a_hand_written_gated_entry(hub, monkeypatch, tmp_path):
    """A composer adds an open model to a lock that holds a hand-written gated one, without that model's token."""
    monkeypatch.delenv("HF_TOKEN")
    lock_file = tmp_path / "team.lock.json"
    lock_file.write_text(models_lock.dump(models_lock.ModelsLock(version=1,
                                                                 models={"org/gated-llama": _manual_gated_entry()})))
    assert lock_tool.main(["--lock-file", str(lock_file), "--endpoint", hub.url, "--model", "org/open-awq"]) == 0
    lock = models_lock.load(lock_file)
    assert set(lock.models) == {"org/gated-llama", "org/open-awq"}
    assert lock.models["org/gated-llama"] == _manual_gated_entry()
    assert not any("gated-llama" in path for _, path in hub.requests), "only what was asked is resolved"


def test_a_composers_stack_file_is_read_for_its_tiers(hub, tmp_path):
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text("config:\n  team-program:tiers:\n    - { name: chat, modelId: org/open-awq }\n"
                     "  team-program:other: 1\n")
    lock_file = tmp_path / "lock.json"
    assert lock_tool.main(["--lock-file", str(lock_file), "--endpoint", hub.url, "--stack-file", str(stack)]) == 0
    assert set(models_lock.load(lock_file).models) == {"org/open-awq"}


def test_an_unreachable_hub_is_said_plainly_without_a_traceback(tmp_path, capsys, monkeypatch):
    import socket

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = lock_tool.main(["--lock-file", str(tmp_path / "l.json"), "--endpoint", f"http://127.0.0.1:{port}",
                           "--model", "org/open-awq"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot reach the Hub at http://127.0.0.1:" in err and "Traceback" not in err
    assert not (tmp_path / "l.json").exists(), "nothing is written when the Hub could not be asked"


def test_model_arguments_are_checked():
    assert lock_tool.parse_model("org/name@abc") == ("org/name", "abc")
    with pytest.raises(LockError, match="write it as org/name"):
        lock_tool.parse_model("name-only")
