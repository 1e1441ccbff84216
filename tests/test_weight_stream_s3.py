"""dev's `weightsFrom: s3` tier as vLLM 0.33.0 reads it: the Run:ai Model Streamer (the library vLLM calls) against a
local S3 holding the revision under the prefix the sync Job uploads to, with the env the rendered container gets.

What runs, in that order, the calls vLLM 0.33.0 makes with an ``s3://`` model (read in its sdist):
vllm/config/model.py ``maybe_pull_model_tokenizer_for_runai`` -> vllm/transformers_utils/runai_utils.py
``ObjectStorageModel.pull_files`` twice (``*.model, *.py, *.json``; then all but weights) ->
model_loader/runai_streamer_loader.py ``list_safetensors`` -> weight_utils.py ``runai_safetensors_weights_iterator``
(``SafetensorsStreamer.stream_files`` on CPU, ``get_tensors``). The streamer resolves credentials and the region
through a boto3 Session from the environment, as in the pod.

Opt-in: the streamer's package depends on torch (a 5.5 GB virtualenv), so it is not in requirements-dev.txt. Build
one and point RUNAI_STREAMER_PYTHON at it:
``python3 -m venv /opt/rms && /opt/rms/bin/pip install 'runai-model-streamer[s3]>=0.15.7'`` (vLLM 0.33.0's
docker/Dockerfile pin). Differences from the cluster: AWS_ENDPOINT_URL, dummy keys and path-style addressing
(``RUNAI_STREAMER_S3_USE_VIRTUAL_ADDRESSING=0``: the local S3 is an IP address) stand in for S3 and Pod Identity.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from llm_tiers.preview import render as render_tool
from test_weight_mirror_pod import CREDENTIALS, _free_port

PYTHON = os.environ.get("RUNAI_STREAMER_PYTHON")

# What vLLM 0.33.0 runs, reduced to the streamer calls (see the module docstring).
VLLM_SIDE = textwrap.dedent("""
    import json, os, sys
    from runai_model_streamer import SafetensorsStreamer, list_safetensors, pull_files

    model, dst = sys.argv[1], sys.argv[2]
    pull_files(model, dst, ["*.model", "*.py", "*.json"], None)
    pull_files(model, dst, None, ["*.pt", "*.safetensors", "*.bin", "*.tensors", "*.pth"])
    files = list_safetensors(model)
    tensors = {}
    with SafetensorsStreamer() as streamer:
        streamer.stream_files(files, device="cpu")
        for name, tensor in streamer.get_tensors():
            tensors[name] = tensor.clone().tolist()
    print(json.dumps({"pulled": sorted(os.listdir(dst)), "listed": sorted(files), "tensors": tensors}))
""")


def _safetensors(tensors: dict[str, list[float]]) -> bytes:
    """A safetensors file (F32 vectors) written from the format's spec: 8-byte header length, JSON header, data."""
    header, data = {}, b""
    for name, values in tensors.items():
        raw = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": [len(values)], "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    return struct.pack("<Q", len(blob)) + blob + data


@pytest.fixture
def plain_s3():
    pytest.importorskip("moto.server", reason="moto[server] is in requirements-dev.txt: pip install -r it")
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.mark.skipif(not PYTHON, reason="set RUNAI_STREAMER_PYTHON to a Python with runai-model-streamer[s3] "
                                       "(module docstring: how to build one)")
def test_vllm_streams_the_mirrored_revision_with_the_rendered_env(plain_s3, tmp_path):
    import boto3

    r = render_tool.render("dev")
    [dep] = [o for o in r.kubernetes_objects() if o["kind"] == "Deployment"
             and o["metadata"]["name"] == "chat-small-live"]
    container = dep["spec"]["template"]["spec"]["containers"][0]
    args, env = container["args"], {e["name"]: e["value"] for e in container["env"] if "value" in e}
    model = args[0]
    assert model.startswith("s3://") and model.endswith("/")
    bucket, prefix = model[len("s3://"):].split("/", 1)
    extra = json.loads(args[args.index("--model-loader-extra-config") + 1])
    region = yaml.safe_load(Path("stacks/Pulumi.dev.yaml").read_text())["config"]["aws:region"]

    # The revision as the sync Job leaves it: plain names under the prefix (the lock's safetensors shards, the
    # configs and tokenizer files), in the stack's region.
    shards = {f"model-0000{i}-of-00002.safetensors": {f"layer{i}.weight": [float(i), i + 0.5, -i]} for i in (1, 2)}
    others = {"config.json": b'{"architectures": ["Qwen2ForCausalLM"]}', "tokenizer.json": b"{}",
              "merges.txt": b"#version: 0.2\n", "generation_config.json": b"{}"}
    s3 = boto3.client("s3", endpoint_url=plain_s3, region_name=region, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    # moto keeps its state per process, across servers (tests/test_weight_mirror_pod.py uploads to this prefix too).
    for b in s3.list_buckets().get("Buckets", []):
        for obj in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", []):
            s3.delete_object(Bucket=b["Name"], Key=obj["Key"])
        s3.delete_bucket(Bucket=b["Name"])
    s3.create_bucket(Bucket=bucket)
    for name, tensors in shards.items():
        s3.put_object(Bucket=bucket, Key=prefix + name, Body=_safetensors(tensors))
    for name, body in others.items():
        s3.put_object(Bucket=bucket, Key=prefix + name, Body=body)
    # Another revision beside it must not leak in.
    s3.put_object(Bucket=bucket, Key=prefix.rstrip("/") + "-other/model.safetensors", Body=_safetensors({"x": [9.0]}))

    script = tmp_path / "vllm_side.py"
    script.write_text(VLLM_SIDE)
    pod_env = {**{k: v for k, v in env.items() if k.startswith(("AWS_", "HF_", "HOME"))},
               # --model-loader-extra-config {"concurrency": N} -> RUNAI_STREAMER_CONCURRENCY (runai_streamer_loader.py)
               "RUNAI_STREAMER_CONCURRENCY": str(extra["concurrency"]),
               "AWS_ENDPOINT_URL": plain_s3, "RUNAI_STREAMER_S3_USE_VIRTUAL_ADDRESSING": "0", **CREDENTIALS,
               "AWS_CONFIG_FILE": "/nonexistent", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    assert pod_env.get("AWS_DEFAULT_REGION") == region, "the rendered env must carry the region for boto3"
    dst = tmp_path / "assets"
    dst.mkdir()
    done = subprocess.run([PYTHON, str(script), model, str(dst)], env=pod_env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["pulled"] == sorted(others)
    assert out["listed"] == sorted(model + name for name in shards)
    expected = {n: v for tensors in shards.values() for n, v in tensors.items()}
    assert out["tensors"] == expected
