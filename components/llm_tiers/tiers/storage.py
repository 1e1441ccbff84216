"""Where a release's weights come from (``tiers[].weightsFrom``), what that asks of the node and the S3 mirror, and
the rules that refuse what the engine or the kubelet would not do (pure).

- ``efs``: the release's EFS cache (a PVC), filled by its sync Job; every replica reads it over NFS.
- ``nvme``: the sync Job downloads the locked revision onto its own node's disk, verifies it and uploads it to the
  stack's S3 weight mirror (``s3://<bucket>/models/<org>/<name>/<revision>/``); each replica's init container copies
  that prefix onto its node's local NVMe (an ``emptyDir`` on the RAID0 array Karpenter assembles when the class sets
  ``instanceStore: raid0``), in the Hugging Face cache layout the engine already reads (``HF_HOME``), so the engine's
  arguments do not change.
- ``s3``: vLLM streams the safetensors from the mirror straight into GPU memory with the Run:ai Model Streamer
  (``--load-format runai_streamer``, ``--model s3://...``). TGI has no such loader (its server reads local files or
  the Hub only), so a TGI release is refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Optional

from llm_tiers.config.issues import ConfigIssue
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.timing_figures import ENGINE_IMAGE_BYTES

GIB = 1024 ** 3
#: Head room of a local copy over the weights (file-system overhead, the engine's own scratch files).
LOCAL_COPY_FACTOR = 1.10
#: Ephemeral storage a replica needs beside its local weights (logs, the container's writable layer, /tmp).
LOCAL_SCRATCH_GIB = 10
MIRRORED = ("nvme", "s3")


def mirror_prefix(model_id: str, revision: str) -> str:
    """Key prefix of one locked revision in the mirror: ``models/<org>/<name>/<revision>/``."""
    return f"models/{model_id}/{revision}/"


def local_weights_gib(weights_bytes: int) -> int:
    """The ``emptyDir`` size limit of a local copy: the weights plus head room, whole GiB."""
    return max(1, math.ceil(weights_bytes * LOCAL_COPY_FACTOR / GIB))


def ephemeral_request_gib(weights_bytes: int) -> int:
    """A replica's ``ephemeral-storage`` request when it copies its weights locally: the scheduler (and Karpenter,
    which sizes a RAID0 node's ephemeral storage from its instance store) then only places it where the copy fits."""
    return local_weights_gib(weights_bytes) + LOCAL_SCRATCH_GIB


def with_local_copy(resources: dict, weights_bytes: int) -> dict:
    """A container's ``resources`` plus the ``ephemeral-storage`` request of a local copy of ``weights_bytes`` (0:
    none): the scheduler and Karpenter then place the pod only where the copy fits."""
    if not weights_bytes:
        return resources
    return {**resources, "requests": {**resources["requests"],
                                      "ephemeral-storage": f"{ephemeral_request_gib(weights_bytes)}Gi"}}


def uses_mirror(weights_from: Sequence[str]) -> bool:
    """Whether any tier reads from the S3 mirror (the stack then creates it)."""
    return any(w in MIRRORED for w in weights_from)


def tier_storage_issues(path: str, weights_from: str, engines: dict[str, str], weights_bytes: dict[str, int],
                        gpu_class: str, instance_types: Sequence[str], instance_store: Optional[str],
                        gpus_per_replica: int) -> list[ConfigIssue]:
    """One tier's ``weightsFrom`` against its releases (``engines``/``weights_bytes`` by release name: ``live``,
    ``candidate``) and its GPU class (``instance_store`` None: not known here, the caller's nodes)."""
    issues: list[ConfigIssue] = []
    key = f"{path}.weightsFrom"
    if weights_from == "s3":
        tgi = [r for r, e in engines.items() if e == "tgi"]
        if tgi:
            issues.append(ConfigIssue(key, "s3 streams weights with vLLM's Run:ai Model Streamer, but the "
                                      f"{' and '.join(tgi)} release runs TGI, which reads only local files or the "
                                      "Hub; use `nvme` (copy "
                                      "from the S3 mirror onto the node's NVMe) or `efs`"))
    if weights_from != "nvme":
        return issues
    if instance_store is not None and instance_store != "raid0":
        issues.append(ConfigIssue(key, f"nvme copies the weights onto the node's instance store, but "
                                  f"gpuClasses.{gpu_class}.instanceStore is {instance_store!r}: set it to `raid0` "
                                  "(or use `efs` or, for vLLM, `s3`)"))
    known = [t for t in instance_types if t in gpu_catalog.CATALOG]
    for release, size in weights_bytes.items():
        need_gib = ephemeral_request_gib(size)
        image = ENGINE_IMAGE_BYTES[engines.get(release, "tgi")].slow
        for t in known:
            per_node = max(1, gpu_catalog.lookup(t).gpu_count // max(gpus_per_replica, 1))
            usable = node_ephemeral_bytes(t) - image
            # A node may hold as many replicas as its GPUs allow, each with its own copy.
            if per_node * need_gib * GIB > usable:
                store_gb = gpu_catalog.instance_store_gb(t)
                issues.append(ConfigIssue(key, f"the {release} release needs {need_gib} GiB of local disk per replica "
                                          f"({per_node} replica(s) per {t}), but {t}'s {store_gb} "
                                          f"GB of instance store leaves {max(usable, 0) / GIB:.0f} GiB for pods once "
                                          "kubelet's reserve and the engine image are taken; drop the type from the "
                                          "class, or use `efs`"))
    return issues


def node_ephemeral_bytes(instance_type: str) -> float:
    """What pods may request of a RAID0 node's instance store: Karpenter v1.14.1 sets the node's ephemeral-storage to
    the instance store's total GB and takes off kube-reserved's 1 GiB and evictionHard's ``nodefs.available`` 10%
    (pkg/providers/instancetype/types.go ``ephemeralStorage``, ``kubeReservedResources``, ``evictionThreshold``)."""
    capacity = gpu_catalog.instance_store_gb(instance_type) * 1e9
    return capacity - GIB - capacity * 0.10


def storage_issues(cfg, lock, classes_known: bool = True) -> list[ConfigIssue]:
    """:func:`tier_storage_issues` for every tier of a stack (``cfg``: StackConfig) whose models are locked.
    ``classes_known`` False: the GPU classes are stand-ins (a composed ModelTier), their ``instanceStore`` unknown."""
    from llm_tiers.config.tiers import release_engine
    from llm_tiers.tiers.models_lock import release_models

    issues: list[ConfigIssue] = []
    for i, tier in enumerate(cfg.tiers):
        if tier is None or tier.weights_from == "efs":
            continue
        releases = release_models(tier)
        entries = {r: (lock.models.get(m) if lock is not None else None) for r, m in releases.items()}
        cls = cfg.gpu_classes.get(tier.gpu_class)
        issues += tier_storage_issues(
            f"tiers[{i}]", tier.weights_from, {r: release_engine(tier, r) for r in releases},
            {r: e.weights_bytes for r, e in entries.items() if e is not None},
            tier.gpu_class, list(cls.instance_types) if cls else [],
            (cls.instance_store if cls else None) if classes_known else None, tier.gpus_per_replica)
    return issues
