"""The rollout's estimates (pure data): per step, what it typically takes and its slow end, each with the public
measurement it comes from (:class:`Figure`). ``llm_tiers.timing`` builds every step's time from them and states
the budgets beside them; rollout.md and plan.md show both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """A quantity a step's time is computed from: its typical value, its slow end and where both come from.
    For a rate (bytes per second) ``slow`` is the *lower* rate; for a duration it is the longer one."""

    typical: float
    slow: float
    source: str


# --------------------------------------------------------------------------------------- estimates
#: EKS control plane CREATING -> ACTIVE. Measured in 21 regions with identical configuration: 793 s (eu-west-2)
#: to 971 s (us-west-1) and a little beyond ("Unofficial EKS Cluster Creation Performance", easontechtalk.com).
EKS_CONTROL_PLANE = Figure(900, 1020, "easontechtalk.com 'Unofficial EKS Cluster Creation Performance': "
                                      "13m13s-16m11s across 21 regions")
#: Hub (and its CDN) download rate one weight-sync pod sustains (huggingface_hub ``snapshot_download`` with 8
#: workers, sync_weights.py). hf_xet / hf_transfer are built to exceed ~500 MB/s, but no public measurement of
#: one pod behind a NAT gateway exists and none was made here: the slow end is used for both.
HUB_DOWNLOAD_BYTES_PER_SECOND = Figure(50e6, 50e6, "not measured (no public figure for one pod behind a NAT "
                                                   "gateway): the slow end, 50 MB/s, for both")
#: Rate a replica reads its weights from the EFS cache. Elastic throughput allows up to 1,500 MiB/s of reads per
#: client (AWS EFS User Guide, "Amazon EFS performance specifications"); safetensors are read in large
#: sequential chunks, but first-byte latency and small files make 200 MB/s the safe floor.
EFS_READ_BYTES_PER_SECOND = Figure(400e6, 200e6, "AWS EFS User Guide 'performance specifications': elastic "
                                                 "throughput up to 1,500 MiB/s reads per client; 400 MB/s typical "
                                                 "and 200 MB/s floor assumed")
#: Rate a node pulls and unpacks an engine image: "Standard Docker image pulls of 15-20 GB can take 4-6 minutes
#: per instance" (AWS Machine Learning Blog, "Reducing container cold start times using SOCI index on DLAMI and
#: DLC"): 17.5 GB in 5 min typical, 15 GB in 6 min at the slow end.
IMAGE_PULL_BYTES_PER_SECOND = Figure(17.5e9 / 300, 15e9 / 360, "AWS ML Blog 'Reducing container cold start "
                                                               "times using SOCI index on DLAMI and DLC': "
                                                               "15-20 GB in 4-6 min")
#: The same pull with the SOCI snapshotter's parallel pull/unpack mode (``gpuClasses.<class>.imagePull:
#: soci-parallel``, gpu/karpenter.py), as a factor on the time above. Typical: a 10.76 GB vLLM Deep Learning
#: Container pulled in 2m18.049s by containerd and in 1m7.272s by SOCI parallel mode, on instances with more than
#: 8 Gbps of EBS and network bandwidth and a gp3 root volume at 16,000 IOPS and 1,000 MiB/s, from ECR in the same
#: region (aws-samples/karpenter-blueprints blueprints/soci-snapshotter/README.md, "Results", commit cc0bf71):
#: 67.272 / 138.049 = 0.49. Slow end: "parallel-pull (14-50% faster than Docker)", measured on AL2 and AL2023 with
#: nginx and 20 GB+ images (awslabs/soci-snapshotter commit f1fcd05, 2026-04-14, in v0.15.0): 14% less time, 0.86.
#: The engine images come from GitHub's and Docker Hub's registries over the NAT gateway, not from ECR in-region, so
#: the typical figure may not be reached; the slow end stands for that case.
SOCI_PARALLEL_PULL_TIME = Figure(0.49, 0.86, "aws-samples/karpenter-blueprints blueprints/soci-snapshotter "
                                             "(10.76 GB vLLM image: 2m18s containerd, 1m7s SOCI parallel); "
                                             "awslabs/soci-snapshotter f1fcd05: parallel pull 14-50% faster")
#: Engine image size per engine (compressed layers pulled and unpacked).
ENGINE_IMAGE_BYTES: dict[str, Figure] = {
    # vLLM images are 12-28.6 GB (vllm-project/vllm issues #27154 and #22377).
    "vllm": Figure(12e9, 28.6e9, "vllm-project/vllm#27154, #22377: vLLM images 12-28.6 GB"),
    # TGI 3.x: about 10 GB unpacked (the CUDA runtime, flash-attention and the kernels wheels); no public size
    # figure beyond the registry's, so 20% above it is the slow end.
    "tgi": Figure(10e9, 12e9, "text-generation-inference 3.x image: ~10 GB (registry listing); "
                              "+20% slow end assumed"),
}
#: Karpenter sees the pending pod, launches the instance, it boots the AL2023 NVIDIA AMI, joins the cluster
#: and the device plugin advertises its GPUs. 30-40 s launch -> Ready is typical for CPU instances
#: (aws/karpenter-provider-aws#6165); GPU AMIs load the NVIDIA driver first and no public figure exists for
#: p5 (8 GPUs, EFA): its slow end is the old 10-minute assumption.
GPU_NODE_LAUNCH: dict[str, Figure] = {
    "g": Figure(60, 180, "aws/karpenter-provider-aws#6165: 30-40 s launch->Ready (CPU AMIs); GPU AMI driver load "
                         "assumed on top"),
    "p": Figure(180, 600, "no public p4/p5 launch->Ready figure; aws/karpenter-provider-aws#6165 (30-40 s) plus "
                          "8-GPU driver and EFA setup assumed"),
}
#: The same for a CPU node of the weight-sync NodePool (gpu/karpenter.py sync_node_pool): the standard AL2023
#: AMI, no driver or device plugin to wait for: 30-40 s launch -> Ready (aws/karpenter-provider-aws#6165); the
#: slow end, 3 minutes, is assumed.
CPU_NODE_LAUNCH = Figure(40, 180, "aws/karpenter-provider-aws#6165: 30-40 s launch->Ready (CPU AMIs); "
                                  "3 min slow end assumed")
#: Scheduling, volume mount and container start of a pod on a node that is already there.
POD_START = Figure(5, 30, "not measured: scheduling, EFS CSI mount, container create")
#: The engine's warm-up once weights are in GPU memory (its port opens after it).
ENGINE_WARMUP: dict[str, Figure] = {
    # TGI logs "Warming up model" -> "Setting max batch total tokens": 3.6 s (Mistral-7B, A10G), 5.2 s
    # (Llama-3-70B nf4, 2x L4), as posted in huggingface/text-generation-inference issue threads.
    "tgi": Figure(5.2, 60, "TGI logs ('Warming up model' -> 'Setting max batch total tokens'): 3.6 s Mistral-7B "
                           "A10G, 5.2 s Llama-3-70B nf4 2xL4"),
    # vLLM's torch.compile + CUDA-graph capture: ~96 s cold for Llama-3.1-8B on L40S (tensorfuse blog).
    "vllm": Figure(96, 180, "tensorfuse blog (Llama-3.1-8B, L40S): ~96 s torch.compile + CUDA-graph capture cold"),
    # ... and ~20 s when the compile cache from an earlier start is on shared storage (same source).
    "vllm-cached": Figure(20, 60, "tensorfuse blog (Llama-3.1-8B, L40S): ~20 s with a persisted compile cache"),
}
