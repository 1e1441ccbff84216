"""A release's weight cache: its PVC on the EFS weight store (sized from the lock) and the Job that syncs the locked
revision into it."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Optional

from llm_tiers import naming
from llm_tiers.cluster import system_capacity as sc
from llm_tiers.tiers.engine_settings import CACHE_DIR
from llm_tiers import timing
from llm_tiers.config.schema import TierConfig
from llm_tiers.tiers.models_lock import ModelLockEntry
from llm_tiers.tiers import mirror_manifests as mm
from llm_tiers.tiers import storage
from llm_tiers.tiers.manifests import (GIB, HF_TOKEN_DIR, HF_TOKEN_FILE, SCRATCH_DIR, SCRATCH_LIMIT, SYNC_SCRIPT_KEY,
                                       Release, _cache_annotations, _container_security, _pod_security, _skips,
                                       cache_key, labels, object_name, release_run_as_user, weights_claim_name)

#: A vLLM release whose weights are not on EFS still keeps its compile cache there (shared by its replicas).
COMPILE_CACHE_GIB = 10


def sync_job_name(tier: TierConfig, release: Release) -> str:
    return f"{tier.name}-sync-{cache_key(release)}"


def pvc_size_gib(lock: ModelLockEntry, weights_from: str = "efs") -> int:
    """Weights plus 25% headroom (EFS does not enforce it, but it documents intent and quota tooling reads it)."""
    if weights_from != "efs":
        return COMPILE_CACHE_GIB
    # A manual lock entry may lack some sizes: its weightsBytes (the index's tensor total) is the floor.
    total = max(sum(f.size or 0 for f in lock.files), lock.weights_bytes)
    return max(1, math.ceil(total * 1.25 / GIB))


def weights_pvc(tier: TierConfig, release: Release, namespace: str, storage_class: str) -> dict[str, Any]:
    """The release's weights cache (RWX on EFS), named by what it holds (``cache_key``). A PVC's size cannot
    shrink and the EFS driver cannot expand one (it implements no ControllerExpandVolume): a new revision is
    a new claim, never a resize. EFS ignores the size; it documents intent."""
    return {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": weights_claim_name(tier, release), "namespace": namespace,
                     "labels": labels(tier, None, "weights" if tier.weights_from == "efs" else "compile-cache"),
                     "annotations": _cache_annotations(release, tier.weights_from)},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": storage_class,
                 "resources": {"requests": {"storage": f"{pvc_size_gib(release.lock, tier.weights_from)}Gi"}}},
    }


def sync_job(tier: TierConfig, release: Release, namespace: str, script_config_map: str,
             hf_token_secret: Optional[str], node_selector: dict[str, str],
             run_as_user: Optional[int] = None, tolerations: Sequence[dict[str, Any]] = (),
             mirror: Optional[mm.MirrorRef] = None) -> dict[str, Any]:
    """The Job that fills the weights PVC, or (``mirror``: the tier's ``weightsFrom`` is ``nvme`` or ``s3``) the
    revision's prefix in the S3 weight mirror: the download, verified, onto the sync node's own disk, then the
    upload. Its name carries the revision: a new revision is a new Job.

    The engine waits for it to complete, past its own ``activeDeadlineSeconds`` (timing.py), and
    ``pulumi.com/replaceUnready`` makes the next ``pulumi up`` replace a Job that failed (say, on a revoked
    token), instead of leaving the failed one in place forever."""
    lock = release.lock
    if mirror is None and tier.weights_from != "efs":
        raise ValueError(f"tier {tier.name}: weightsFrom {tier.weights_from} needs the S3 weight mirror")
    run_as_user = release_run_as_user(release, run_as_user)
    files = [{"path": f.path, "size": f.size} for f in lock.files]
    env = [{"name": "HF_HOME", "value": CACHE_DIR}, {"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"},
           {"name": "HOME", "value": SCRATCH_DIR}]
    mounts = [{"name": "weights", "mountPath": CACHE_DIR},
              {"name": "scripts", "mountPath": "/scripts", "readOnly": True},
              {"name": "scratch", "mountPath": SCRATCH_DIR}]
    volumes: list[dict[str, Any]] = [
        mm.local_weights_volume(lock.weights_bytes) if mirror is not None else
        {"name": "weights", "persistentVolumeClaim": {"claimName": weights_claim_name(tier, release)}},
        {"name": "scripts", "configMap": {"name": script_config_map}},
        {"name": "scratch", "emptyDir": {"sizeLimit": SCRATCH_LIMIT}},
    ]
    if hf_token_secret:
        # A file, not an environment variable (env leaks into crash dumps and `kubectl describe`):
        # huggingface_hub and the sync script read HF_TOKEN_PATH.
        env.append({"name": "HF_TOKEN_PATH", "value": f"{HF_TOKEN_DIR}/{HF_TOKEN_FILE}"})
        mounts.append({"name": "hf-token", "mountPath": HF_TOKEN_DIR, "readOnly": True})
        volumes.append({"name": "hf-token", "secret": {"secretName": hf_token_secret, "defaultMode": 0o400,
                                                        "items": [{"key": "HF_TOKEN", "path": HF_TOKEN_FILE}]}})
    download = {
        "name": "sync",
        "image": release.image,
        # The vLLM image has python3 only (docker/Dockerfile: update-alternatives python3).
        "command": ["python3" if release.engine == "vllm" else "python", f"/scripts/{SYNC_SCRIPT_KEY}"],
        "args": ["--model-id", release.model_id, "--revision", lock.revision,
                 "--files", json.dumps(files, separators=(",", ":")),
                 "--cache-dir", f"{CACHE_DIR}/hub", *(["--flat-dir", mm.FLAT_DIR] if mirror is not None else [])],
        "env": env,
        # Runs on the weight-sync NodePool's nodes (gpu/karpenter.py), sized from these requests; the
        # CPU limit keeps one download from starving the others beside it. With the mirror it downloads onto the
        # node's own disk (its instance store with the NodePool's RAID0, else the root volume): requested here.
        "resources": storage.with_local_copy(sc.WEIGHT_SYNC.resources(),
                                             lock.weights_bytes if mirror is not None else 0),
        "securityContext": _container_security(),
        # Exits by itself; "alive" is the Job's activeDeadlineSeconds.
        "volumeMounts": mounts,
    }
    pod: dict[str, Any] = {"containers": [download]}
    if mirror is not None:
        volumes.append(mm.config_volume(mirror.config_map))
        pod = {"initContainers": [download],
               "containers": [mm.upload_container(mirror.uri(release.model_id, lock.revision), mirror.region,
                                                  lock.revision, _container_security())]}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": sync_job_name(tier, release), "namespace": namespace,
                     "labels": labels(tier, None, "weights-sync"),
                     "annotations": {**_cache_annotations(release, tier.weights_from), naming.REPLACE_UNREADY: "true",
                                     **_skips(run_as_user)}},
        "spec": {
            "backoffLimit": 4,
            # Tolerating a taint means the weight-sync NodePool: a node is launched for the pod first.
            "activeDeadlineSeconds": timing.sync_deadline_seconds(lock.weights_bytes, release.engine,
                                                                  new_node=bool(tolerations),
                                                                  mirror=mirror is not None),
            "template": {
                "metadata": {"labels": labels(tier, None, "weights-sync")},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": object_name(tier.name, "", "weights-sync"),
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "nodeSelector": node_selector,
                    **({"tolerations": [dict(t) for t in tolerations]} if tolerations else {}),
                    "securityContext": _pod_security(run_as_user),
                    **pod,
                    "volumes": volumes,
                },
            },
        },
    }
