"""The S3 weight mirror's transfers, run as their pods run them (tests/podrun.py): the sync Job's download (its init
container) and upload, then a `weightsFrom: nvme` replica's fetch-weights init container, each with the rendered
uid/gid, env, args (after the kubelet's $(VAR) expansion), mounts and memory limit, sharing the pod's emptyDir as the
kubelet does between a pod's containers.

What runs: the real sync script and huggingface_hub against the fake Hub (tests/fake_hub.py); the real AWS CLI
command lines against a local S3 (moto's server). Differences from the cluster, by necessity: by default the AWS CLI
is v1 from PyPI (requirements-dev.txt), whose `aws s3 sync` / `aws s3 cp` take the same options as the image's v2
but has no CRT transfer client. Set AWS_CLI to an `aws` of v2 to run the image's own CLI with the ConfigMap's
`preferred_transfer_client = crt` (PyPI has no v2; it installs from the aws/aws-cli source at the image's tag, into
a virtualenv made with /usr/bin/python3 outside /tmp and /root so the pod's uid reaches it:
`/usr/bin/python3 -m venv /opt/awscli && /opt/awscli/bin/pip install <aws/aws-cli checkout at 2.36.7>`); S3 is then
served over HTTPS, as the CRT client requires. AWS_ENDPOINT_URL and dummy keys stand in for the S3 endpoint and EKS
Pod Identity's credentials; HF_ENDPOINT for the Hub."""

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


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key): S3 is HTTPS, and the CRT transfer client speaks only TLS to an
    endpoint it is not told is plain HTTP on the command line (awscli/customizations/s3/factory.py at 2.36.7)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "s3.crt", directory / "s3.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.chmod(0o644)
    return cert_path, key_path


def _recording(app, sent: dict[str, str]):
    """The S3 app, recording the SHA-256 each PUT carried for its key (``/<bucket>/<key>``): as a header (the classic
    transfer client) or as the trailer of an ``aws-chunked`` body (the CRT client), which S3 checks on receipt and
    moto 5.2.5 does not keep for a single PUT."""
    import io

    def wrapped(environ, start_response):
        if environ["REQUEST_METHOD"] == "PUT" and "partNumber=" not in environ.get("QUERY_STRING", ""):
            checksum = environ.get("HTTP_X_AMZ_CHECKSUM_SHA256")
            if environ.get("HTTP_X_AMZ_TRAILER", "").lower() == "x-amz-checksum-sha256":
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
                for line in body.split(b"\r\n"):
                    if line.lower().startswith(b"x-amz-checksum-sha256:"):
                        checksum = line.split(b":", 1)[1].strip().decode()
            if checksum:
                sent[environ["PATH_INFO"]] = checksum
        return app(environ, start_response)

    return wrapped


@pytest.fixture
def s3():
    """A local S3 (moto) and a PATH holding `aws`: the AWS CLI from the test virtualenv, or $AWS_CLI over HTTPS
    (AWS_CA_BUNDLE makes it trust the local certificate), as the pod runs it."""
    pytest.importorskip("moto.server", reason="moto[server] is in requirements-dev.txt: pip install -r it")
    cli = os.environ.get("AWS_CLI")
    if not cli:
        pytest.importorskip("awscli", reason="awscli is in requirements-dev.txt: pip install -r it")
    import ssl
    import threading

    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    # Not under /tmp: the containers mount their scratch emptyDir there.
    bin_dir = Path(tempfile.mkdtemp(prefix="podrun-aws-", dir="/var/tmp"))
    os.chmod(bin_dir, 0o755)
    # HTTPS for v2 (its CRT client speaks TLS to an endpoint given by environment); v1 over HTTP: werkzeug's TLS
    # server drops some of v1's pooled keep-alive connections ("EOF occurred in violation of protocol").
    cert, key = _self_signed(bin_dir)
    context = None
    if cli:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
    port = _free_port()
    sent: dict[str, str] = {}
    server = make_server("127.0.0.1", port, _recording(DomainDispatcherApplication(create_backend_app), sent),
                         threaded=True, request_handler=MotoRequestHandler, ssl_context=context)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    import boto3

    endpoint = f"{'https' if context else 'http'}://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          verify=str(cert) if context else None,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    # moto keeps its state per process, across servers: start each test from an empty S3.
    for bucket in client.list_buckets().get("Buckets", []):
        for obj in client.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []):
            client.delete_object(Bucket=bucket["Name"], Key=obj["Key"])
        client.delete_bucket(Bucket=bucket["Name"])
    shim = bin_dir / "aws"
    # $AWS_CLI is a program with its own packages: the test virtualenv's (on the pod's PYTHONPATH for v1) would
    # shadow them.
    shim.write_text(f'#!/bin/sh\nexec env -u PYTHONPATH {cli} "$@"\n' if cli else
                    f'#!/bin/sh\nexec {podrun.INTERPRETERS["python3"]} -m awscli "$@"\n')
    shim.chmod(0o755)
    env = {"AWS_ENDPOINT_URL": endpoint, **({"AWS_CA_BUNDLE": str(cert)} if context else {}), **CREDENTIALS,
           "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin"}
    try:
        yield client, env, sent
    finally:
        server.shutdown()


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
    client, aws_env, sent = s3
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
        # --checksum-algorithm SHA256: the CLI sent the content's SHA-256 (S3 rejects a PUT whose body does not match).
        digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
        assert sent.get(f"/{bucket}/{prefix}{path}") == digest, path
        assert client.get_object(Bucket=bucket, Key=prefix + path)["Body"].read() == content, path

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
    client, aws_env, sent = s3
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
