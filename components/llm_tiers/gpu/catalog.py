"""GPU instance catalog (pure): what each supported EC2 GPU instance type carries and costs.

Prices: Linux on-demand, us-east-1 (N. Virginia), USD per hour, as published in AWS's price list in
the period 2025-11 to 2026-01 (after AWS's June 2025 cut to P4/P5 prices). Other regions and dates differ;
plan.md labels every cost with ``PRICE_SOURCE``. Memory: per-GPU memory as AWS states it (GiB nominal;
the capacity planner subtracts runtime overhead), bandwidth per GPU in GB/s from NVIDIA's datasheets.

Not listed on purpose: p5e.48xlarge (no on-demand price; Capacity Blocks only) and p5.4xlarge (US regions
through Capacity Blocks only at the time of writing).
"""

from __future__ import annotations

from typing import NamedTuple

PRICE_REGION = "us-east-1"
PRICE_DATE = "2026-01"
PRICE_SOURCE = f"EC2 Linux on-demand, {PRICE_REGION}, price list of {PRICE_DATE}"


class GpuModel(NamedTuple):
    name: str
    memory_gib: int
    bandwidth_gbps: int
    """Peak memory bandwidth of one GPU in GB/s (10^9 bytes/s) as NVIDIA's datasheet states it. The cost per
    output token's decode roofline reads it (components/llm_tiers/cost/throughput.py)."""
    cuda_visible_gib: float = 0.0
    """Memory the CUDA runtime reports as the device's total (``torch.cuda.get_device_properties().total_memory``,
    what ``cudaMemGetInfo`` calls total): what TGI's and vLLM's memory math start from, below the nominal size
    (ECC, the driver's reservations). 0: unknown, the planner then uses ``cuda_total_gib``'s fallback."""

    @property
    def cuda_total_gib(self) -> float:
        """CUDA-visible memory per GPU, GiB; without a measured figure, nominal less 10% (below every measured
        ratio in this catalog, the lowest being the L4's 0.918, so the planner stays on the safe side)."""
        return self.cuda_visible_gib or self.memory_gib * 0.90


# Bandwidths, per NVIDIA's product datasheets (nvidia.com, "<GPU> Tensor Core GPU" datasheet, memory bandwidth):
# T4 320 GB/s (GDDR6); A10 600 GB/s (GDDR6; AWS's A10G is the A10 variant G5 instances carry, same memory
# system); L4 300 GB/s (GDDR6); L40S 864 GB/s (GDDR6); A100 40GB SXM 1,555 GB/s and A100 80GB SXM 2,039 GB/s
# (HBM2/HBM2e; nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf; p4d/p4de carry the SXM parts); H100 SXM
# 3.35 TB/s (HBM3; p5 carries the SXM part, not the 2.0 TB/s PCIe card); H200 SXM 4.8 TB/s (HBM3e).
# CUDA-visible totals (GiB) from public engine logs on these GPUs (PyTorch OOM
# messages "GPU 0 has a total capacity of X GiB" and mem_get_info totals): L4 22.03, A10G 22.06 (22.06-22.19
# with the driver, the lower one kept), L40S 44.52, H100 80GB HBM3 79.18. T4, A100 and H200 figures are the
# ones PyTorch OOM messages commonly print (14.58, 39.39, 79.15, 139.72), not verified here, rounded down.
T4 = GpuModel("T4", 16, 320, 14.56)
A10G = GpuModel("A10G", 24, 600, 22.06)
L4 = GpuModel("L4", 24, 300, 22.03)
L40S = GpuModel("L40S", 48, 864, 44.52)
A100_40 = GpuModel("A100-40GB", 40, 1555, 39.38)
A100_80 = GpuModel("A100-80GB", 80, 2039, 79.14)
H100 = GpuModel("H100", 80, 3350, 79.18)
H200 = GpuModel("H200", 141, 4800, 139.7)


class InstanceType(NamedTuple):
    name: str
    gpu: GpuModel
    gpu_count: int
    vcpus: int
    memory_gib: int
    hourly_usd: float

    @property
    def total_gpu_memory_gib(self) -> int:
        return self.gpu.memory_gib * self.gpu_count

    @property
    def hourly_usd_per_gpu(self) -> float:
        return self.hourly_usd / self.gpu_count


_ROWS = [
    ("g4dn.xlarge", T4, 1, 4, 16, 0.526),
    ("g4dn.2xlarge", T4, 1, 8, 32, 0.752),
    ("g4dn.12xlarge", T4, 4, 48, 192, 3.912),
    ("g5.xlarge", A10G, 1, 4, 16, 1.006),
    ("g5.2xlarge", A10G, 1, 8, 32, 1.212),
    ("g5.4xlarge", A10G, 1, 16, 64, 1.624),
    ("g5.8xlarge", A10G, 1, 32, 128, 2.448),
    ("g5.12xlarge", A10G, 4, 48, 192, 5.672),
    ("g5.16xlarge", A10G, 1, 64, 256, 4.096),
    ("g5.24xlarge", A10G, 4, 96, 384, 8.144),
    ("g5.48xlarge", A10G, 8, 192, 768, 16.288),
    ("g6.xlarge", L4, 1, 4, 16, 0.8048),
    ("g6.2xlarge", L4, 1, 8, 32, 0.9776),
    ("g6.4xlarge", L4, 1, 16, 64, 1.3232),
    ("g6.8xlarge", L4, 1, 32, 128, 2.0144),
    ("g6.12xlarge", L4, 4, 48, 192, 4.6016),
    ("g6.16xlarge", L4, 1, 64, 256, 3.3968),
    ("g6.24xlarge", L4, 4, 96, 384, 6.6752),
    ("g6.48xlarge", L4, 8, 192, 768, 13.3504),
    ("g6e.xlarge", L40S, 1, 4, 32, 1.861),
    ("g6e.2xlarge", L40S, 1, 8, 64, 2.24208),
    ("g6e.4xlarge", L40S, 1, 16, 128, 3.00424),
    ("g6e.8xlarge", L40S, 1, 32, 256, 4.52856),
    ("g6e.12xlarge", L40S, 4, 48, 384, 10.49264),
    ("g6e.16xlarge", L40S, 1, 64, 512, 7.57719),
    ("g6e.24xlarge", L40S, 4, 96, 768, 15.06559),
    ("g6e.48xlarge", L40S, 8, 192, 1536, 30.13118),
    ("p4d.24xlarge", A100_40, 8, 96, 1152, 21.957642),
    ("p4de.24xlarge", A100_80, 8, 96, 1152, 27.44705),
    ("p5.48xlarge", H100, 8, 192, 2048, 55.04),
    ("p5en.48xlarge", H200, 8, 192, 2048, 63.296),
]

CATALOG: dict[str, InstanceType] = {row[0]: InstanceType(*row) for row in _ROWS}


#: Local NVMe instance store per type: the total of its volumes in GB (10^9 bytes), as Karpenter itself sees it (the
#: ``karpenter.k8s.aws/instance-local-nvme`` label in aws/karpenter-provider-aws v1.14.1
#: website/content/en/docs/reference/instance-types.md, generated from EC2's DescribeInstanceTypes; every entry
#: below checked against it).
#: Every type in the catalog has one; it is what `gpuClasses.<class>.instanceStore: raid0` assembles into the node's
#: kubelet and containerd storage (gpu/karpenter.py), and where `tiers[].weightsFrom: nvme` copies weights.
INSTANCE_STORE_GB: dict[str, int] = {
    "g4dn.xlarge": 125, "g4dn.2xlarge": 225, "g4dn.12xlarge": 900,
    "g5.xlarge": 250, "g5.2xlarge": 450, "g5.4xlarge": 600, "g5.8xlarge": 900, "g5.12xlarge": 3800,
    "g5.16xlarge": 1900, "g5.24xlarge": 3800, "g5.48xlarge": 7600,
    "g6.xlarge": 250, "g6.2xlarge": 450, "g6.4xlarge": 600, "g6.8xlarge": 900, "g6.12xlarge": 3760,
    "g6.16xlarge": 1880, "g6.24xlarge": 3760, "g6.48xlarge": 7520,
    "g6e.xlarge": 250, "g6e.2xlarge": 450, "g6e.4xlarge": 600, "g6e.8xlarge": 900, "g6e.12xlarge": 3800,
    "g6e.16xlarge": 1900, "g6e.24xlarge": 3800, "g6e.48xlarge": 7600,
    "p4d.24xlarge": 8000, "p4de.24xlarge": 8000, "p5.48xlarge": 30400, "p5en.48xlarge": 30400,
}


def instance_store_gb(instance_type: str) -> int:
    """Local NVMe of a type, GB (0: none, or not in the catalog)."""
    return INSTANCE_STORE_GB.get(instance_type, 0)


class UnknownInstanceType(KeyError):
    pass


def lookup(instance_type: str) -> InstanceType:
    try:
        return CATALOG[instance_type]
    except KeyError:
        family = instance_type.split(".")[0]
        same_family = sorted(t for t in CATALOG if t.split(".")[0] == family)
        hint = f"known {family} sizes: {', '.join(same_family)}" if same_family else \
            f"known families: {', '.join(sorted({t.split('.')[0] for t in CATALOG}))}"
        raise UnknownInstanceType(f"{instance_type!r} is not in the GPU catalog ({hint})") from None


def class_gpu(instance_types: list[str]) -> GpuModel:
    """The one GPU model a class's instance types share. Raises ValueError if they differ."""
    models = {lookup(t).gpu for t in instance_types}
    if len(models) != 1:
        detail = ", ".join(f"{t}: {lookup(t).gpu.name}" for t in instance_types)
        raise ValueError(f"mixes GPU models ({detail}); a class must have one GPU model")
    return models.pop()


def max_gpus_per_node(instance_types: list[str]) -> int:
    return max(lookup(t).gpu_count for t in instance_types)
