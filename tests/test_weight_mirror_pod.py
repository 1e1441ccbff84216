"""The S3 weight mirror's transfers, run as their pods run them (tests/podrun.py): the sync Job's download (its init
container) and upload, then a `weightsFrom: nvme` replica's fetch-weights init container, each with the rendered
uid/gid, env, args (after the kubelet's $(VAR) expansion), mounts and memory limit, sharing the pod's emptyDir as the
kubelet does between a pod's containers.

What runs: the real sync script and huggingface_hub against the fake Hub (tests/fake_hub.py); the real AWS CLI
command lines against a local S3 (moto's server). Differences from the cluster, by necessity: the AWS CLI is v1 from
PyPI (requirements-dev.txt), whose `aws s3 sync` / `aws s3 cp` take the same options as the image's v2; v2's CRT
transfer client (the ConfigMap's `preferred_transfer_client = crt`) is not exercised. AWS_ENDPOINT_URL and dummy
keys stand in for the S3 endpoint and EKS Pod Identity's credentials; HF_ENDPOINT for the Hub."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import tempfile
from pathlib import Path

import pytest

import podrun
from fake_hub import FakeHub, FakeRepo
from llm_tiers.preview import render as render_tool
from test_sync_weights_pod import TOKEN, _stack_with_tiny_lock

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3():
    """A local S3 (moto) and a PATH holding `aws`: the AWS CLI from the test virtualenv, as the pod runs it."""
    pytest.importorskip("moto.server", reason="moto[server] is in requirements-dev.txt: pip install -r it")
    pytest.importorskip("awscli", reason="awscli is in requirements-dev.txt: pip install -r it")
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # moto keeps its state per process, across servers: start each test from an empty S3.
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST"))
    # Not under /tmp: the containers mount their scratch emptyDir there.
    bin_dir = Path(tempfile.mkdtemp(prefix="podrun-aws-", dir="/var/tmp"))
    os.chmod(bin_dir, 0o755)
    shim = bin_dir / "aws"
    shim.write_text(f'#!/bin/sh\nexec {podrun.INTERPRETERS["python3"]} -m awscli "$@"\n')
    shim.chmod(0o755)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", **CREDENTIALS,
           "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin"}
    import boto3

    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1", **{
        "aws_access_key_id": "testing", "aws_secret_access_key": "testing"})
    try:
        yield client, env
    finally:
        server.stop()


def _objects(result):
    objs = result.kubernetes_objects()
    job = next(o for o in objs if o["kind"] == "Job" and "-sync-" in o["metadata"]["name"])
    deployment = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-live")
                      and "llm-tiers.io/tier" in o["metadata"]["labels"])
    pod = job["spec"]["template"]["spec"]
    script_cm = next(v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "scripts")
    aws_cm = next(v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "aws-config")
    by_name = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ConfigMap"}
    return job, deployment, by_name[script_cm], by_name[aws_cm]


def _env_of(container, name):
    return next(e["value"] for e in container["env"] if e["name"] == name)


@pytest.mark.parametrize("engine, uid", [("tgi", 0), ("vllm", 10001)])
def test_sync_uploads_verified_files_and_a_replica_copies_them_onto_its_disk(tmp_path, s3, engine, uid):
    podrun.require()
    client, aws_env = s3
    overrides, entry, files = _stack_with_tiny_lock(tmp_path, engine, "nvme")
    job, deployment, script_cm, aws_cm = _objects(render_tool.render("dev", overrides=overrides))
    pod = job["spec"]["template"]["spec"]
    download, upload = pod["initContainers"][0], pod["containers"][0]
    assert (download["name"], upload["name"]) == ("sync", "upload")
    assert pod["securityContext"].get("runAsUser", 0) == uid
    args = download["args"]
    model, revision = args[args.index("--model-id") + 1], args[args.index("--revision") + 1]
    uri = _env_of(upload, "MIRROR_URI")
    bucket, prefix = uri[len("s3://"):].split("/", 1)
    assert prefix == f"models/{model}/{revision}/"
    client.create_bucket(Bucket=bucket)
    sync_disk = tmp_path / "sync-node-disk"
    volumes = {"scripts": {k: v.encode() for k, v in script_cm["data"].items()},
               "hf-token": {"HF_TOKEN": TOKEN.encode()},
               "aws-config": {k: v.encode() for k, v in aws_cm["data"].items()}}

    with FakeHub({model: FakeRepo(revision, files, gated="manual", token=TOKEN)}) as hub:
        p = podrun.start(job, "sync", files=volumes, pythonpath_venv=True, host_network=True,
                         claims={"weights": sync_disk}, extra_env={"HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1"})
        code, out, err = p.wait(timeout=120)
        p.cleanup()
    assert code == 0, f"download exit {code}: {(out + err)[-3000:]}"
    assert sorted(f.name for f in (sync_disk / "flat").iterdir()) == sorted(files)

    p = podrun.start(job, "upload", files=volumes, pythonpath_venv=True, host_network=True,
                     claims={"weights": sync_disk}, extra_env=aws_env)
    code, out, err = p.wait(timeout=120)
    p.cleanup()
    assert code == 0, f"upload exit {code}: {(out + err)[-3000:]}"
    listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    assert sorted(o["Key"][len(prefix):] for o in listed) == sorted(files)
    for path, content in files.items():
        head = client.head_object(Bucket=bucket, Key=prefix + path, ChecksumMode="ENABLED")
        # --checksum-algorithm SHA256: the CLI sent the content's SHA-256 and S3 stored (and checked) it.
        assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(content).digest()).decode(), path

    # The replica: its init container copies the revision onto the node's disk, where the engine reads it offline.
    fetch = deployment["spec"]["template"]["spec"]["initContainers"][0]
    assert fetch["name"] == "fetch-weights" and _env_of(fetch, "MIRROR_URI") == uri
    node_disk = tmp_path / "gpu-node-disk"
    p = podrun.start(deployment, "fetch-weights", files={"aws-config": volumes["aws-config"]}, host_network=True,
                     pythonpath_venv=True, claims={"weights": node_disk}, extra_env=aws_env)
    code, out, err = p.wait(timeout=120)
    p.cleanup()
    assert code == 0, f"fetch exit {code}: {(out + err)[-3000:]}"
    from huggingface_hub import try_to_load_from_cache

    repo = node_disk / "hub" / f"models--{model.replace('/', '--')}"
    assert (repo / "refs" / revision).read_text() == revision, "TGI's Rust hub client resolves revisions via refs/"
    for path, content in files.items():
        found = try_to_load_from_cache(model, path, cache_dir=node_disk / "hub", revision=revision)
        assert found and Path(found).read_bytes() == content, path
        assert Path(found).stat().st_uid == uid, "written by the pod's own uid"


def test_a_replica_without_the_mirrored_revision_fails_its_init_container(tmp_path, s3):
    """An empty prefix (the sync Job never uploaded) copies nothing: the engine would then start without weights.
    The init container must fail instead, so the pod never reaches the engine."""
    podrun.require()
    client, aws_env = s3
    overrides, entry, files = _stack_with_tiny_lock(tmp_path, "tgi", "nvme")
    job, deployment, script_cm, aws_cm = _objects(render_tool.render("dev", overrides=overrides))
    fetch = deployment["spec"]["template"]["spec"]["initContainers"][0]
    bucket = _env_of(fetch, "MIRROR_URI")[len("s3://"):].split("/", 1)[0]
    client.create_bucket(Bucket=bucket)
    p = podrun.start(deployment, "fetch-weights", files={"aws-config": {k: v.encode() for k, v in
                                                                       aws_cm["data"].items()}},
                     host_network=True, pythonpath_venv=True, claims={"weights": tmp_path / "disk"}, extra_env=aws_env)
    code, out, err = p.wait(timeout=120)
    p.cleanup()
    assert code != 0, (out + err)[-2000:]
