"""The weight-sync Job run as its pod runs it (tests/podrun.py), for both uid shapes the render produces: the
TGI image's (root, every capability dropped) and vLLM's (uid/gid 10001 with fsGroup 10001). The rendered
command, args, env, mounts and memory limit; the script from the rendered ConfigMap; the hf-token Secret file
written root-owned with its rendered mode; the weights PVC as a fresh, root-owned filesystem; the real
huggingface_hub client against a local fake Hub (tests/fake_hub.py).

Differences from the cluster, by necessity: HF_ENDPOINT points at the fake Hub (and HF_HUB_DISABLE_XET=1, which
the fake Hub needs); the interpreter is this machine's /usr/bin/python3 with the test virtualenv's
huggingface_hub on PYTHONPATH (podrun.py); the models lock is a copy of the committed entry whose files are a
few bytes each, so the Job's --files names sizes a local server can serve."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

import podrun
from fake_hub import FakeHub, FakeRepo
from llm_tiers.preview import render as render_tool

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "hf_podrun_token"


def _stack_with_tiny_lock(tmp_path: Path, engine: str, weights_from: str = "efs"):
    """dev's config with its first tier on ``engine``, its weights from ``weights_from``, and a lock whose files are
    small; and the repo's files."""
    lock = json.loads((ROOT / "models.lock.json").read_text())
    raw = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["config"]
    tiers = copy.deepcopy(raw["llm-tiers:tiers"])[:1]
    tiers[0]["engine"] = engine
    tiers[0]["weightsFrom"] = weights_from
    tiers[0].pop("candidate", None)
    tiers[0].pop("serve", None)
    entry = lock["models"][tiers[0]["modelId"]]
    files = {f["path"]: (f"{f['path']}\n".encode() * 3) for f in entry["files"]}
    entry["files"] = [{"path": p, "size": len(b)} for p, b in files.items()]
    lock_path = tmp_path / "models.lock.json"
    lock_path.write_text(json.dumps(lock))
    policy = {**(raw.get("llm-tiers:modelPolicy") or {}), "lockFile": str(lock_path)}
    tenants = [{**t, "tiers": [x for x in t.get("tiers", []) if x == tiers[0]["name"]] or [tiers[0]["name"]]}
               for t in raw.get("llm-tiers:tenants") or []]
    overrides = {"llm-tiers:tiers": tiers, "llm-tiers:modelPolicy": policy, "llm-tiers:tenants": tenants,
                 "llm-tiers:benchmark": None}
    return overrides, entry, files


def _job_and_script(result):
    jobs = [o for o in result.kubernetes_objects() if o["kind"] == "Job" and "-sync-" in o["metadata"]["name"]]
    assert len(jobs) == 1, [j["metadata"]["name"] for j in jobs]
    job = jobs[0]
    pod = job["spec"]["template"]["spec"]
    cm_name = next(v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "scripts")
    cm = next(o for o in result.kubernetes_objects() if o["kind"] == "ConfigMap" and o["metadata"]["name"] == cm_name)
    return job, cm


def _run(job, cm, hub_url):
    files = {"scripts": {k: v.encode() for k, v in cm["data"].items()}, "hf-token": {"HF_TOKEN": TOKEN.encode()}}
    pod = podrun.start(job, "sync", files=files, pythonpath_venv=True, host_network=True,
                       extra_env={"HF_ENDPOINT": hub_url, "HF_HUB_DISABLE_XET": "1"})
    return pod, pod.wait(timeout=120)


@pytest.mark.parametrize("engine, uid", [("tgi", 0), ("vllm", 10001)])
def test_the_sync_job_fills_the_cache_as_its_pod(tmp_path, engine, uid):
    podrun.require()
    overrides, entry, files = _stack_with_tiny_lock(tmp_path, engine)
    result = render_tool.render("dev", overrides=overrides)
    job, cm = _job_and_script(result)
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert c["image"].rsplit("/", 1)[-1].startswith("vllm-openai" if engine == "vllm" else "text-generation")
    assert job["spec"]["template"]["spec"]["securityContext"].get("runAsUser", 0) == uid
    args = c["args"]
    model, revision = args[args.index("--model-id") + 1], args[args.index("--revision") + 1]
    with FakeHub({model: FakeRepo(revision, files, gated="manual", token=TOKEN)}) as hub:
        pod, (code, out, err) = _run(job, cm, hub.url)
        try:
            assert code == 0, f"exit {code}: {err[-3000:]}"
            assert "memory" in pod.memory or "RLIMIT_AS" in pod.memory
            cache = pod.volumes["weights"] / "hub" / f"models--{model.replace('/', '--')}" / "snapshots" / revision
            for path, content in files.items():
                got = cache / path
                assert got.read_bytes() == content, path
                # written by the rendered uid; with fsGroup the PVC's group (setgid) is kept
                blob = got.resolve()
                assert blob.stat().st_uid == uid, (path, blob.stat().st_uid)
            assert sorted(d.rsplit("/" + revision + "/", 1)[-1] for d in hub.downloads()) == sorted(files)
        finally:
            pod.cleanup()


def test_the_vllm_sync_job_without_fs_group_cannot_write_the_volume(tmp_path):
    """The harness sees what the kubelet does: without fsGroup the fresh PVC stays root's 0755."""
    podrun.require()
    overrides, entry, files = _stack_with_tiny_lock(tmp_path, "vllm")
    job, cm = _job_and_script(render_tool.render("dev", overrides=overrides))
    job = copy.deepcopy(job)
    del job["spec"]["template"]["spec"]["securityContext"]["fsGroup"]
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    with FakeHub({args[args.index("--model-id") + 1]: FakeRepo(args[args.index("--revision") + 1], files,
                                                               gated="manual", token=TOKEN)}) as hub:
        pod, (code, out, err) = _run(job, cm, hub.url)
        pod.cleanup()
    assert code != 0 and "ermission" in out + err, (out + err)[-3000:]
