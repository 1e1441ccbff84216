"""The weight-sync script, run for real: huggingface_hub downloads from a local server answering like the Hub."""

from __future__ import annotations

import json

import pytest

from llm_tiers.tiers.scripts import sync_weights
from fake_hub import FakeHub, FakeRepo

SHA = "c" * 40
FILES = {"config.json": b'{"num_hidden_layers": 2}', "model-00001-of-00002.safetensors": b"a" * 2048,
         "model-00002-of-00002.safetensors": b"b" * 1024, "tokenizer.json": b"{}",
         "pytorch_model.bin": b"c" * 4096, "original/consolidated.00.pth": b"d" * 4096}
LOCKED = [{"path": p, "size": len(b)} for p, b in FILES.items() if p.endswith((".json", ".safetensors"))
          and "/" not in p]


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_sync")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    with FakeHub({"org/model": FakeRepo(SHA, FILES, gated="manual", token="hf_sync")}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", server.url)
        monkeypatch.setattr("huggingface_hub.constants.HUGGINGFACE_CO_URL_TEMPLATE",
                            server.url + "/{repo_id}/resolve/{revision}/{filename}")
        yield server


def run(tmp_path, files=LOCKED, **kw):
    logs: list[str] = []
    code = sync_weights.sync("org/model", SHA, files, tmp_path / "hub", backoff_seconds=0, log=logs.append, **kw)
    return code, logs


def test_downloads_exactly_the_locked_files_and_verifies(hub, tmp_path):
    code, logs = run(tmp_path)
    assert code == 0, logs
    snap = sync_weights.snapshot_dir(tmp_path / "hub", "org/model", SHA)
    assert sorted(p.name for p in snap.iterdir()) == sorted(f["path"] for f in LOCKED)
    assert not (snap / "pytorch_model.bin").exists() and not (snap / "original").exists()
    assert f"{len(LOCKED)} files" in logs[-1] and "verified" in logs[-1]
    assert all("hf_sync" not in line for line in logs), "the token is never printed"


def test_second_run_calls_nothing(hub, tmp_path):
    assert run(tmp_path)[0] == 0
    hub.requests.clear()
    code, logs = run(tmp_path)
    assert code == 0 and hub.requests == [] and "nothing to download" in logs[-1]


def test_a_damaged_cache_is_repaired(hub, tmp_path):
    assert run(tmp_path)[0] == 0
    snap = sync_weights.snapshot_dir(tmp_path / "hub", "org/model", SHA)
    link = snap / "tokenizer.json"
    link.resolve().unlink()   # the blob itself is gone, as after a partial wipe of the volume
    link.unlink()
    hub.requests.clear()
    assert run(tmp_path)[0] == 0
    assert [p for p in hub.downloads()] == [f"/org/model/resolve/{SHA}/tokenizer.json"], "only the lost file"
    assert link.exists() and link.stat().st_size == len(FILES["tokenizer.json"])


def test_wrong_size_fails_verification(hub, tmp_path):
    lied = [dict(f, size=f["size"] + 1) if f["path"] == "config.json" else f for f in LOCKED]
    code, logs = run(tmp_path, files=lied)
    assert code == 1 and "verification failed: config.json" in logs[-1]


def test_gated_model_without_token_fails_without_retrying(hub, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    code, logs = run(tmp_path, attempts=3)
    assert code == 1 and "GatedRepoError" in logs[-1] and "HF_TOKEN" in logs[-1]
    assert not any("retrying" in line for line in logs)


def test_transient_failures_are_retried(tmp_path):
    calls = []

    def flaky(model_id, revision, files, cache_dir):
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("reset by peer")
        snap = sync_weights.snapshot_dir(cache_dir, model_id, revision)
        snap.mkdir(parents=True)
        for f in files:
            (snap / f["path"]).write_bytes(b"x" * f["size"])

    def listing(model_id, revision, paths):
        return {f["path"]: {"size": f["size"], "sha256": None,
                            "git_sha1": sync_weights.git_blob_sha1_of(b"x" * f["size"])} for f in LOCKED}

    code, logs = run(tmp_path, attempts=4, fetch=flaky, listing=listing)
    assert code == 0 and len(calls) == 3 and sum("retrying" in line for line in logs) == 2


def test_cli_validates_arguments(tmp_path, capsys):
    assert sync_weights.main(["--model-id", "o/m", "--revision", "main", "--files", json.dumps(LOCKED),
                              "--cache-dir", str(tmp_path)]) == 2
    argv = ["--model-id", "o/m", "--revision", SHA, "--files", "[]", "--cache-dir", str(tmp_path)]
    assert sync_weights.main(argv) == 2


# A hand-written lock entry may lack some sizes: the Job checks those against the Hub at the pinned commit.
UNSIZED = [dict(f, size=None) if f["path"].endswith(".json") else f for f in LOCKED]


def test_sizes_missing_from_the_lock_are_checked_against_the_hub(hub, tmp_path):
    code, logs = run(tmp_path, files=UNSIZED)
    assert code == 0, logs
    assert any("/tree/" in p for _, p in hub.requests), "the Hub's listing at the commit was asked"
    assert "2 sizes from the Hub's listing" in logs[-1]
    marker = json.loads(sync_weights.marker_path(tmp_path / "hub", "org/model", SHA).read_text())
    assert marker["sizes"] == {"config.json": len(FILES["config.json"]), "tokenizer.json": len(FILES["tokenizer.json"])}
    hub.requests.clear()
    code, logs = run(tmp_path, files=UNSIZED)
    assert code == 0 and hub.requests == [] and "nothing to download" in logs[-1], "second run: no Hub call"


def test_a_file_the_hub_sizes_differently_fails(hub, tmp_path):
    def lying_hub(model_id, revision, paths):
        listed = sync_weights.hub_listing(model_id, revision, paths)
        return {p: dict(e, size=999_999) for p, e in listed.items()}

    code, logs = run(tmp_path, files=UNSIZED, listing=lying_hub)
    assert code == 1 and "verification failed" in logs[-1] and "expected 999999" in logs[-1]
    assert not sync_weights.marker_path(tmp_path / "hub", "org/model", SHA).exists()


def test_a_file_the_hub_does_not_list_fails(hub, tmp_path):
    code, logs = run(tmp_path, files=UNSIZED, listing=lambda m, r, paths: {})
    assert code == 1 and "the Hub lists no config.json, model-00001-of-00002.safetensors" in logs[-1]


def test_every_file_is_checked_against_the_hubs_digests(hub, tmp_path):
    code, logs = run(tmp_path)
    assert code == 0, logs
    marker = json.loads(sync_weights.marker_path(tmp_path / "hub", "org/model", SHA).read_text())
    import hashlib
    assert marker["digests"]["model-00001-of-00002.safetensors"] == \
        "sha256:" + hashlib.sha256(FILES["model-00001-of-00002.safetensors"]).hexdigest()
    assert marker["digests"]["config.json"].startswith("git-sha1:")
    assert "2 SHA-256, 2 Git blob digests" in logs[-1]


def test_content_that_differs_from_the_hubs_digest_fails_and_is_deleted(monkeypatch, tmp_path):
    """A corrupted or tampered download with the right size: the SHA-256 the Hub lists for the LFS file differs.
    The file is deleted so the Job's next attempt downloads it again."""
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    name = "model-00002-of-00002.safetensors"
    with FakeHub({"org/model": FakeRepo(SHA, FILES, digests={name: "f" * 64})}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", server.url)
        monkeypatch.setattr("huggingface_hub.constants.HUGGINGFACE_CO_URL_TEMPLATE",
                            server.url + "/{repo_id}/resolve/{revision}/{filename}")
        code, logs = run(tmp_path)
    assert code == 1 and f"{name}: SHA-256" in logs[-1] and "the Hub lists " + "f" * 64 in logs[-1]
    snap = sync_weights.snapshot_dir(tmp_path / "hub", "org/model", SHA)
    assert not (snap / name).exists(), "the bad file is gone, so a retry downloads it again"
    assert (snap / "config.json").exists()
    assert not sync_weights.marker_path(tmp_path / "hub", "org/model", SHA).exists()


def test_the_ref_tgis_cache_reader_needs_is_written(hub, tmp_path):
    """hf-hub (Rust, TGI's router and launcher) resolves even a commit through refs/<revision>."""
    assert run(tmp_path)[0] == 0
    ref = sync_weights.snapshot_dir(tmp_path / "hub", "org/model", SHA).parent.parent / "refs" / SHA
    assert ref.read_text() == SHA


def test_flat_dir_gets_the_verified_files_under_their_names(hub, tmp_path):
    flat = tmp_path / "flat"
    assert run(tmp_path, flat_dir=flat)[0] == 0
    assert sorted(p.name for p in flat.iterdir()) == sorted(f["path"] for f in LOCKED)
    assert all(not p.is_symlink() for p in flat.iterdir()), "plain files: the upload copies what it reads"
    assert (flat / "tokenizer.json").read_bytes() == FILES["tokenizer.json"]


def test_an_old_sizes_only_cache_is_verified_without_downloading_again(hub, tmp_path):
    assert run(tmp_path)[0] == 0
    marker = sync_weights.marker_path(tmp_path / "hub", "org/model", SHA)
    marker.unlink()   # a cache filled before digests were checked
    hub.requests.clear()
    code, logs = run(tmp_path)
    assert code == 0 and hub.downloads() == [] and any("/tree/" in p for _, p in hub.requests), logs


def test_cli_accepts_null_sizes_and_refuses_other_types(tmp_path):
    bad = [{"path": "config.json", "size": "12"}]
    assert sync_weights.main(["--model-id", "o/m", "--revision", SHA, "--files", json.dumps(bad),
                              "--cache-dir", str(tmp_path)]) == 2


def test_the_token_is_read_from_the_mounted_file(hub, tmp_path, monkeypatch):
    """As the Job runs it: no HF_TOKEN in the environment, the Secret mounted as a file at HF_TOKEN_PATH."""
    monkeypatch.delenv("HF_TOKEN")
    token_file = tmp_path / "secret" / "token"
    token_file.parent.mkdir()
    token_file.write_text("hf_sync\n")
    monkeypatch.setenv("HF_TOKEN_PATH", str(token_file))
    code, logs = run(tmp_path)
    assert code == 0, logs
    assert "hf_sync" not in "\n".join(logs)
