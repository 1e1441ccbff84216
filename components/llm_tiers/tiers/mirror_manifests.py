"""The pieces of a tier's pods that talk to the S3 weight mirror (pure dicts; ``tiers/storage.py`` says what each
``weightsFrom`` does).

- The sync Job's ``upload`` container: ``aws s3 sync`` of the verified revision to its mirror prefix.
- The engine pod's ``fetch-weights`` init container (``weightsFrom: nvme``): ``aws s3 cp --recursive`` of that prefix
  onto the node's NVMe, in the Hugging Face cache layout the engine reads offline.
- The AWS CLI's configuration (a ConfigMap): the CRT transfer client, which the CLI only picks by itself on
  p4d/p5/trn1 instance types (awscli/topics/s3-config.rst at 2.36.7, ``preferred_transfer_client``: ``auto``
  resolves to ``crt`` only there), so a g6 node would otherwise copy with the classic client's 10 connections.
- Egress to S3 (HTTPS) and to the EKS Pod Identity agent (the pods' AWS credentials).

The CRT client's target bandwidth is left to the CLI: on p4d/p5/p5en it is the instance's own (awscrt 0.36.0, the
CLI's pin: crt/aws-c-s3/source/s3_platform_info.c, p5.48xlarge 400 Gb/s; the type is read from
/sys/devices/virtual/dmi/id/product_name, so the pods need no IMDS, which the nodes' hop limit of 1 keeps from them),
elsewhere 10 Gb/s (awscli/s3transfer/crt.py ``_get_crt_throughput_target_gbps``), a g6.xlarge's peak. The copy rates
in timing_figures.py (S3_READ_BYTES_PER_SECOND) stay within both.

Integrity on the way: the sync script has checked every file against the Hub's SHA-256 before the upload; the
upload sends a checksum S3 verifies on receipt (``--checksum-algorithm SHA256``); downloads validate the stored
checksums (``response_checksum_validation`` defaults to ``when_supported`` since AWS CLI 2.23.0; the CRT client's GETs
validate responses: awscli/s3transfer/crt.py at 2.36.7).
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any

from llm_tiers import versions
from llm_tiers.tiers import storage
from llm_tiers.tiers.engine_settings import CACHE_DIR

#: Where the AWS CLI's config file is mounted (``AWS_CONFIG_FILE``).
AWS_CONFIG_DIR = "/etc/aws-cli"
AWS_CONFIG_KEY = "config"
#: Where the sync Job's download leaves the verified files under their plain names for the upload.
FLAT_DIR = f"{CACHE_DIR}/flat"
#: The EKS Pod Identity agent's credential endpoint (a link-local address served on every node; EKS User Guide,
#: "Set up the Amazon EKS Pod Identity Agent": 169.254.170.23, port 80).
POD_IDENTITY_AGENT_CIDR = "169.254.170.23/32"
POD_IDENTITY_AGENT_PORT = 80
#: The CRT client's buffer pool (env ``AWS_CRT_S3_MEMORY_LIMIT_IN_GIB``, s3-config.rst at 2.36.7): capped so the
#: container's memory limit holds it with the CLI around it.
CRT_MEMORY_LIMIT_GIB = 2
TRANSFER_RESOURCES = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "4", "memory": "4Gi"}}


@dataclass(frozen=True)
class MirrorRef:
    """Where a tier's mirrored revisions live: the bucket (its name, a string or an Output), its region and the
    ConfigMap holding the AWS CLI's config in the tier's namespace."""

    bucket: Any
    region: str
    config_map: str

    def uri(self, model_id: str, revision: str) -> Any:
        return mirror_uri_of(self.bucket, model_id, revision)


def aws_cli_config() -> str:
    """The CLI's config file: the CRT transfer client for ``aws s3`` (its target bandwidth is derived from the
    node's network when the default is left, s3-config.rst ``target_bandwidth``)."""
    return "[default]\ns3 =\n  preferred_transfer_client = crt\n"


def config_map(name: str, namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "data": {AWS_CONFIG_KEY: aws_cli_config()}}


def config_volume(config_map_name: str) -> dict[str, Any]:
    return {"name": "aws-config", "configMap": {"name": config_map_name}}


def _env(region: str, uri: Any, revision: str) -> list[dict[str, Any]]:
    return [{"name": "AWS_REGION", "value": region},
            {"name": "AWS_CONFIG_FILE", "value": f"{AWS_CONFIG_DIR}/{AWS_CONFIG_KEY}"},
            {"name": "AWS_CRT_S3_MEMORY_LIMIT_IN_GIB", "value": str(CRT_MEMORY_LIMIT_GIB)},
            {"name": "MIRROR_URI", "value": uri},
            {"name": "REVISION", "value": revision},
            {"name": "HOME", "value": "/tmp"}]


def _mounts() -> list[dict[str, Any]]:
    return [{"name": "weights", "mountPath": CACHE_DIR},
            {"name": "aws-config", "mountPath": AWS_CONFIG_DIR, "readOnly": True},
            {"name": "scratch", "mountPath": "/tmp"}]


def mirror_uri_of(bucket: Any, model_id: str, revision: str) -> Any:
    """``s3://<bucket>/models/<org>/<name>/<revision>/``: a string, or an Output when the bucket's name is one."""
    prefix = storage.mirror_prefix(model_id, revision)
    if isinstance(bucket, str):
        return f"s3://{bucket}/{prefix}"
    import pulumi

    return pulumi.Output.concat("s3://", bucket, "/", prefix)


def upload_container(uri: Any, region: str, revision: str, security: dict[str, Any]) -> dict[str, Any]:
    """The sync Job's last step: the verified files (``FLAT_DIR``) to the revision's mirror prefix. ``sync`` only
    copies what is missing there or differs in size or time, so a retried Job uploads what an earlier attempt did
    not (awscli/customizations/s3/syncstrategy at 2.36.7 compares size and modification time)."""
    return {
        "name": "upload",
        "image": versions.IMAGES["aws-cli"],
        "command": ["aws"],
        "args": ["s3", "sync", f"{FLAT_DIR}/", "$(MIRROR_URI)", "--checksum-algorithm", "SHA256", "--no-progress",
                 "--only-show-errors"],
        "env": _env(region, uri, revision),
        "resources": TRANSFER_RESOURCES,
        "securityContext": security,
        "volumeMounts": _mounts(),
    }


#: The init container's script: the prefix into the snapshot directory the engine reads at ``--revision`` offline,
#: then ``refs/<revision>`` (TGI's Rust hub client resolves every revision through it; sync_weights.ensure_ref).
#: ``aws s3 cp --recursive`` of an empty or partial prefix succeeds, so every locked file (``FILES``) is checked to be
#: there before the engine may start.
FETCH_SCRIPT = """set -eu
repo="$HF_HOME/hub/models--$(printf %s "$MODEL_ID" | sed 's|/|--|g')"
aws s3 cp --recursive --no-progress --only-show-errors "$MIRROR_URI" "$repo/snapshots/$REVISION/"
for f in $FILES; do
  [ -f "$repo/snapshots/$REVISION/$f" ] || { echo "$f is not in $MIRROR_URI: has the sync Job run?" >&2; exit 1; }
done
mkdir -p "$repo/refs"
printf %s "$REVISION" > "$repo/refs/$REVISION"
"""


def fetch_container(uri: Any, region: str, model_id: str, revision: str, weights_bytes: int,
                    security: dict[str, Any], files: Sequence[str] = ()) -> dict[str, Any]:
    """``weightsFrom: nvme``: the engine pod's init container that copies the locked revision from the mirror onto
    the node's NVMe (the ``weights`` emptyDir, on the RAID0 array). It requests the local disk the copy needs, so
    the scheduler and Karpenter place the pod only where it fits."""
    return {
        "name": "fetch-weights",
        "image": versions.IMAGES["aws-cli"],
        "command": ["/bin/sh", "-c", FETCH_SCRIPT],
        "env": [{"name": "HF_HOME", "value": CACHE_DIR}, {"name": "MODEL_ID", "value": model_id},
                {"name": "FILES", "value": " ".join(files)}, *_env(region, uri, revision)],
        "resources": storage.with_local_copy(TRANSFER_RESOURCES, weights_bytes),
        "securityContext": security,
        "volumeMounts": _mounts(),
    }


def local_weights_volume(weights_bytes: int) -> dict[str, Any]:
    """The node-local copy: an emptyDir on the kubelet's disk (the RAID0 instance store), sized to the revision."""
    return {"name": "weights", "emptyDir": {"sizeLimit": f"{storage.local_weights_gib(weights_bytes)}Gi"}}


#: HTTPS to anywhere: S3 (a NetworkPolicy cannot name it; the gateway endpoint is a route, not an address).
HTTPS_EGRESS: dict[str, Any] = {"ports": [{"port": 443, "protocol": "TCP"}]}


def pod_identity_egress() -> dict[str, Any]:
    """The EKS Pod Identity agent, where a pod that reads or writes the mirror gets its AWS credentials."""
    return {"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT_CIDR}}],
            "ports": [{"port": POD_IDENTITY_AGENT_PORT, "protocol": "TCP"}]}
