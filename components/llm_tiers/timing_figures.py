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
#: workers, sync_weights.py), on a 4-16 vCPU node of the weight-sync NodePool behind a NAT gateway. Measured
#: elsewhere: a 5 GB file from the Hub's Xet CDN, cold, in 7.51 s (682 MB/s) and a 1 GB one at 261 MB/s on an
#: m5dn.24xlarge in us-east-1 (huggingface_hub 1.7.1, hf-xet 1.4.2: Hugging Face's "HF Buckets benchmark" space);
#: Qwen2.5-72B-Instruct, 135.44 GiB, in 119.7-130.8 s with hf_xet and 343.5 MiB/s with eight plain HTTPS file
#: workers (tinfoilsh/modelwrap writeup.md at 09abe06 and bench/results/naive.tsv at a665498, not a cloud host). EC2
#: caps traffic to the internet at 5 Gbps (625 MB/s) on instances under 32 vCPUs, which the sync nodes are. Typical
#: 300 MB/s (between the single-file and the 8-worker figures, under that cap); slow end 100 MB/s (no figure for one
#: pod behind NAT; about half of a 2-vCPU-per-Gbps node's baseline). Not measured here (no network).
HUB_DOWNLOAD_BYTES_PER_SECOND = Figure(300e6, 100e6, "HF Buckets benchmark space (m5dn.24xlarge us-east-1, hf-xet "
                                                     "1.4.2): 261-682 MB/s per file from the Xet CDN; "
                                                     "tinfoilsh/modelwrap 09abe06: 135 GiB at 343 MiB/s (8 "
                                                     "workers) to 1.1 GiB/s (hf_xet); EC2 caps internet traffic at "
                                                     "5 Gbps under 32 vCPUs; 300 MB/s typical, 100 MB/s slow end "
                                                     "assumed for one pod behind NAT")
#: SHA-256 of the downloaded files (sync_weights.py verifies every LFS file against the Hub's listing at the
#: commit): Python's hashlib, 4 threads in a container limited to 2 vCPUs. Measured by benchmarks/sha256_rate.py on
#: this project's CI machine (2 cores, 2.15 GB in 4 files, best of 2): 1.39 GB/s on 1 thread, 2.85 GB/s on 2 and
#: 2.83 GB/s on 4. A sync node's core is at least as fast; the slow end is one core's rate.
SHA256_BYTES_PER_SECOND = Figure(2.8e9, 1.39e9, "benchmarks/sha256_rate.py on the CI machine: hashlib SHA-256 "
                                                "2.85 GB/s on 2 cores (typical), 1.39 GB/s on 1 (slow end)")
#: Same-region S3 -> a node, many connections (the AWS CLI's CRT transfer client, which targets the NIC's speed;
#: the Run:ai Model Streamer at concurrency 32). Measured: Llama-3-8B, 15 GB, streamed from same-region S3 into an
#: A10G of a g5.12xlarge in 4.88 s at concurrency 32, 28.24 s at 4 (run-ai/runai-model-streamer
#: docs/src/benchmarks.md at f73a19a, "Run:ai Model Streamer: Performance Benchmarks", 2024-10-29): 3.1 GB/s, more
#: than a small node's network carries. Per family: g nodes are bound by their network (the CLI's CRT client
#: falls back to a 10 Gb/s target, awscli/topics/s3-config.rst at 2.36.7; g6.xlarge's baseline is 2.5 Gbps), p
#: nodes (3,200 Gbps) by S3 itself (the 3.1 GB/s measurement typical, 10 Gb/s slow end).
S3_READ_BYTES_PER_SECOND: dict[str, Figure] = {
    "g": Figure(1.25e9, 0.31e9, "Run:ai Model Streamer benchmarks (f73a19a): 15 GB from same-region S3 in 4.88 s "
                                "(3.1 GB/s); capped by a g node's network: 10 Gb/s typical (AWS CLI CRT default "
                                "target), g6.xlarge's 2.5 Gbps baseline slow end"),
    "p": Figure(3.07e9, 1.25e9, "Run:ai Model Streamer benchmarks (f73a19a): 15 GB from same-region S3 in 4.88 s at "
                                "concurrency 32 (3.1 GB/s); 10 Gb/s slow end"),
}
#: Upload of a verified revision to the mirror (``aws s3 sync`` from the sync node's disk, in-region through the S3
#: gateway endpoint): the same per-connection limits as the reads, on a CPU node capped at 5 Gbps per flow; the AWS CLI
#: classic transfer (10 parallel parts). No public figure: 600 MB/s typical, 200 MB/s slow end assumed.
S3_UPLOAD_BYTES_PER_SECOND = Figure(600e6, 200e6, "not measured: aws s3 sync, 10 parallel parts, in-region "
                                                  "through the gateway endpoint; 600 MB/s typical, 200 MB/s slow "
                                                  "end assumed")
#: Reading weights from the node's own NVMe instance store (RAID0 of its disks). The Run:ai benchmarks read 15 GB
#: in 7.53 s from io2 (4,000 MiB/s provisioned) and 14.34 s from gp3 (1,000 MiB/s): an instance-store array is at
#: least the gp3 volume, typically the io2 one.
NVME_READ_BYTES_PER_SECOND = Figure(2.0e9, 1.05e9, "Run:ai Model Streamer benchmarks (f73a19a): 15 GB in 7.53 s "
                                                   "from io2, 14.34 s from gp3 (the instance store is at least "
                                                   "as fast)")
#: How fast an engine's default safetensors loader moves weights into one GPU, whatever the storage: vLLM's
#: Hugging Face safetensors loader read Llama-3-8B (15 GB) in 47.99 s from gp3 and 47 s from io2 (Run:ai
#: benchmarks, f73a19a): 0.31-0.32 GB/s, so the loader, not the disk, sets the pace. TGI's loader
#: (text_generation_server/utils/weights.py, safetensors ``safe_open`` per file) is the same kind; no separate
#: figure exists. Each of a replica's GPUs (TGI shards, vLLM tensor-parallel ranks) loads its part at this rate.
#: The Run:ai Model Streamer (vLLM ``--load-format runai_streamer``) has no such cap: it reads at the storage's rate.
SAFETENSORS_LOADER_BYTES_PER_SECOND = Figure(0.32e9, 0.31e9, "Run:ai Model Streamer benchmarks (f73a19a): vLLM's "
                                                             "safetensors loader, 15 GB in 47-48 s from gp3 and "
                                                             "io2 alike (loader-bound), per GPU")
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
POD_START = Figure(5, 30, "not measured: scheduling, volume mounts (EFS CSI, local NVMe), container create")
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
