"""The ``gpu`` config section(s) as plain typed dicts (generated: see ``llm_tiers.config.specs``)."""

# No ``from __future__ import annotations``: Pulumi's component provider reads these annotations at runtime.
from typing import Required, TypedDict


class GpuClassSpec(TypedDict, total=False):
    """``GpuClassConfig`` as plain data. One class of GPU nodes: a Karpenter NodePool + EC2NodeClass that tiers select by name."""
    instance_types: Required[list[str]]
    """EC2 instance types in this class, from the GPU catalog (`components/llm_tiers/gpu/catalog.py`); all must carry the same GPU model. (stack file key ``instanceTypes``)"""
    capacity_types: list[str]
    """Karpenter capacity types. With both, Karpenter prefers spot. One of: ``on-demand``, ``spot``. Default: ``['on-demand']``. (stack file key ``capacityTypes``)"""
    max_gpus: Required[int]
    """Upper bound on `nvidia.com/gpu` across all nodes of the class. (stack file key ``maxGpus``)"""
    root_volume_gib: int
    """Root volume size (GiB); the TGI image alone is about 10 GB. Default: ``200``. (stack file key ``rootVolumeGiB``)"""
    consolidate_after: str
    """How long a node must be empty or underused before Karpenter may consolidate it. Default: ``'30m'``. (stack file key ``consolidateAfter``)"""
    warm_nodes: int
    """Nodes of this class kept up and idle for tiers waking from zero (opt-in; 0: none). Held by low-priority placeholder pods that run the class's engine images, so a waking replica preempts one and starts at once, with no node launch and no image pull (docs/components/gpu-capacity.md, "Warm capacity"). Each node costs its on-demand price all month (plan.md's bill: "Warm GPU capacity") and counts against maxGpus. Default: ``0``. (stack file key ``warmNodes``)"""
    image_pull: str
    """How this class's nodes pull images. `containerd`: containerd's own sequential pull (the default). `soci-parallel`: the AL2023 AMI's SOCI snapshotter in parallel pull/unpack mode, switched on by nodeadm's `FastImagePull` feature gate in the EC2NodeClass userData (experimental upstream), with the root volume raised to gp3's maximum 16,000 IOPS and 1,000 MiB/s: an engine image pulls in about half the time (rollout.md's image-pull step) for about $70 a month more per node while it runs (docs/components/gpu-capacity.md, "Faster image pulls"). One of: ``containerd``, ``soci-parallel``. Default: ``'containerd'``. (stack file key ``imagePull``)"""
    instance_store: str
    """What the nodes do with their local NVMe instance store. `none`: nothing (kubelet and containerd live on the root volume). `raid0`: Karpenter's `instanceStorePolicy: RAID0` assembles every instance-store disk into one array that holds kubelet's pod storage (emptyDir, ephemeral-storage) and containerd's images, so a node's ephemeral storage is its NVMe. Needed by tiers with `weightsFrom: nvme`; every instance type of the class must have an instance store (all in the GPU catalog do). No extra cost: the instance store is part of the instance's price (docs/components/gpu-capacity.md, "Local NVMe"). One of: ``none``, ``raid0``. Default: ``'none'``. (stack file key ``instanceStore``)"""
