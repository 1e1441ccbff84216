"""The ``gpuClasses`` section: GPU node classes (a Karpenter NodePool each)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union  # noqa: F401

from pydantic import Field, StringConstraints, field_validator, model_validator  # noqa: F401

# The shared types and patterns (and the modules the validators use), by name.
from llm_tiers.config.base import *  # noqa: F401,F403
from llm_tiers.config.base import _cidr, _Model  # noqa: F401


class GpuClassConfig(_Model):
    """One class of GPU nodes: a Karpenter NodePool + EC2NodeClass that tiers select by name."""

    instance_types: list[Annotated[str, StringConstraints(pattern=INSTANCE_TYPE)]] = Field(
        ...,
        min_length=1,
        description="EC2 instance types in this class, from the GPU catalog (`components/llm_tiers/gpu/catalog.py`); "
        "all must carry the same GPU model.",
    )
    capacity_types: list[Literal["on-demand", "spot"]] = Field(
        default_factory=lambda: ["on-demand"],  # type: ignore[arg-type]
        min_length=1,
        description="Karpenter capacity types. With both, Karpenter prefers spot.",
    )
    max_gpus: PositiveInt = Field(..., description="Upper bound on `nvidia.com/gpu` across all nodes of the class.")
    root_volume_gib: int = Field(
        200,
        alias="rootVolumeGiB",
        ge=100,
        le=16000,
        description="Root volume size (GiB); the TGI image alone is about 10 GB.",
    )
    consolidate_after: Duration = Field(
        "30m", description="How long a node must be empty or underused before Karpenter may consolidate it."
    )
    warm_nodes: int = Field(
        0,
        ge=0,
        le=100,
        description="Nodes of this class kept up and idle for tiers waking from zero (opt-in; 0: none). "
        "Held by low-priority placeholder pods that run the class's engine images, so a waking replica preempts one "
        'and starts at once, with no node launch and no image pull (docs/components/gpu-capacity.md, "Warm '
        'capacity"). Each node costs its on-demand price all month (plan.md\'s bill: "Warm GPU capacity") and '
        "counts against maxGpus.",
    )
    image_pull: Literal["containerd", "soci-parallel"] = Field(
        "containerd",
        description="How this class's nodes pull images. `containerd`: containerd's own sequential "
        "pull (the default). `soci-parallel`: the AL2023 AMI's SOCI snapshotter in parallel pull/unpack mode, "
        "switched on by nodeadm's `FastImagePull` feature gate in the EC2NodeClass userData (experimental upstream), "
        "with the root volume raised to gp3's maximum 16,000 IOPS and 1,000 MiB/s: an engine image pulls in about "
        "half the time (rollout.md's image-pull step) for about $70 a month more per node while it runs "
        "(docs/components/gpu-capacity.md, \"Faster image pulls\").",
    )
    instance_store: Literal["none", "raid0"] = Field(
        "none",
        description="What the nodes do with their local NVMe instance store. `none`: nothing (kubelet and "
        "containerd live on the root volume). `raid0`: Karpenter's `instanceStorePolicy: RAID0` assembles every "
        "instance-store disk into one array that holds kubelet's pod storage (emptyDir, ephemeral-storage) and "
        "containerd's images, so a node's ephemeral storage is its NVMe. Needed by tiers with `weightsFrom: nvme`; "
        "every instance type of the class must have an instance store (all in the GPU catalog do). No extra "
        "cost: the instance store is part of the instance's price "
        '(docs/components/gpu-capacity.md, "Local NVMe").',
    )
