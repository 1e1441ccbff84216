"""Capacity planner (pure): does a tier's model fit its GPU class, and how many full-length sequences
can one replica hold at once?

Memory model per GPU (stated, so reviewers can argue with numbers rather than guesses):

* usable memory = nominal GPU memory x (1 - ``OVERHEAD_FRACTION``) - ``RESERVED_BYTES_PER_GPU``
  (CUDA context, CUDA graphs, activations and allocator fragmentation);
* weights are split evenly across the replica's shards (tensor parallel, ``--num-shard``);
* the KV cache takes what is left: per token it costs 2 (K and V) x layers x KV heads x head dim x
  bytes per element, and each shard holds its share of the KV heads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from llm_tiers.gpu.catalog import GpuModel, InstanceType

GIB = 2**30
OVERHEAD_FRACTION = 0.10
RESERVED_BYTES_PER_GPU = 1 * GIB

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "fp8": 1}


@dataclass(frozen=True)
class ModelShape:
    """The numbers the planner needs, from the models lock."""

    num_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    weights_bytes: int
    kv_dtype_bytes: int = 2


def kv_bytes_per_token(shape: ModelShape) -> int:
    """Bytes of KV cache one token costs across the whole replica (all shards together)."""
    return 2 * shape.num_layers * shape.num_key_value_heads * shape.head_dim * shape.kv_dtype_bytes


@dataclass(frozen=True)
class TierPlan:
    gpu: str
    gpus: int
    weights_bytes_per_gpu: int
    usable_bytes_per_gpu: int
    kv_bytes_per_token: int
    kv_bytes_per_token_per_gpu: float
    kv_free_bytes_per_gpu: int
    kv_token_capacity: int
    max_total_tokens: int
    concurrent_max_sequences: int
    replica_hourly_usd: Optional[float]
    problems: tuple[str, ...]

    @property
    def fits(self) -> bool:
        return not self.problems


def usable_bytes(gpu: GpuModel) -> int:
    return int(gpu.memory_gib * GIB * (1 - OVERHEAD_FRACTION)) - RESERVED_BYTES_PER_GPU


# Karpenter's estimate of the memory a node's hypervisor and OS keep before the node exists
# (``settings.vmMemoryOverheadPercent``, default 0.075, aws/karpenter-provider-aws charts/karpenter/values.yaml
# at v1.14.1; the same figure system_capacity.py uses).
VM_MEMORY_OVERHEAD = 0.075


def replica_requests(instance_types: list[InstanceType], gpus: int) -> tuple[int, int]:
    """(vCPUs, memory GiB) a replica of ``gpus`` GPUs requests: its GPU share of the instance type with the
    fewest vCPUs per GPU (among those with enough GPUs), less a vCPU for the kubelet and daemon sets, and 75%
    of that share's memory. ``tier_manifests.pod_resources`` writes these into the Deployment."""
    types = [it for it in instance_types if it.gpu_count >= gpus]
    if not types:
        raise ValueError(f"no instance type holds {gpus} GPU(s)")
    smallest = min(types, key=lambda it: it.vcpus / it.gpu_count)
    share = gpus / smallest.gpu_count
    return max(1, int(smallest.vcpus * share) - 1), max(4, int(smallest.memory_gib * share * 0.75))


def holds(it: InstanceType, gpus: int, cpu: float, memory_gib: float) -> bool:
    """Whether one node of ``it`` can run a pod with these requests (GPUs, vCPUs, memory after the VM overhead)."""
    return it.gpu_count >= gpus and it.vcpus > cpu and it.memory_gib * (1 - VM_MEMORY_OVERHEAD) >= memory_gib


def replica_node(instance_types: list[InstanceType], gpus: int, cpu: Optional[float] = None,
                 memory_gib: Optional[float] = None) -> Optional[InstanceType]:
    """The node Karpenter launches for one replica: the cheapest instance type of the class that holds the
    replica's requests (default: ``replica_requests``). None when no type holds it.

    Packing (what the manifests produce): a tier's pods spread over hostnames with ``ScheduleAnyway``, and
    Karpenter's scheduler treats such preferences as required until a pod cannot be placed otherwise
    (``preferencePolicy: Respect``, kubernetes-sigs/karpenter v1.14.1
    pkg/controllers/provisioning/scheduling/scheduler.go and preferences.go), so replicas pending together get
    a node each; the NodePools consolidate only empty nodes (``WhenEmpty``), so nothing repacks them later.
    A replica is therefore priced as the whole node it gets."""
    if not any(it.gpu_count >= gpus for it in instance_types):
        return None
    if cpu is None or memory_gib is None:
        cpu, memory_gib = replica_requests(instance_types, gpus)
    options = [it for it in instance_types if holds(it, gpus, cpu, memory_gib)]
    return min(options, key=lambda it: (it.hourly_usd, it.name)) if options else None


def replica_hourly_usd(instance_types: list[InstanceType], gpus: int) -> Optional[float]:
    """On-demand cost of one replica per hour: the whole node it gets (``replica_node``)."""
    node = replica_node(instance_types, gpus)
    return round(node.hourly_usd, 4) if node else None


def plan(shape: ModelShape, gpu: GpuModel, gpus: int, max_total_tokens: int,
         instance_types: Optional[list[InstanceType]] = None) -> TierPlan:
    """Plan one replica of ``gpus`` GPUs. ``problems`` says, with numbers and a way out, why it cannot run."""
    usable = usable_bytes(gpu)
    weights_per_gpu = math.ceil(shape.weights_bytes / gpus)
    per_token = kv_bytes_per_token(shape)
    per_token_per_gpu = per_token / gpus
    free = max(usable - weights_per_gpu, 0)
    tokens = int(free // per_token_per_gpu) if per_token_per_gpu else 0
    problems = []
    if weights_per_gpu > usable:
        problems.append(
            f"weights need {weights_per_gpu / GIB:.1f} GiB per GPU across {gpus} {gpu.name} GPU(s) but only "
            f"{usable / GIB:.1f} GiB is usable per GPU; use more GPUs per replica, a quantized model, "
            f"or a GPU class with more memory")
    elif tokens < max_total_tokens:
        problems.append(
            f"KV cache holds {tokens} tokens per replica after weights, fewer than one maxTotalTokens sequence "
            f"({max_total_tokens}); lower maxTotalTokens, add GPUs per replica, quantize, or use a larger GPU")
    if shape.num_key_value_heads % gpus and gpus % shape.num_key_value_heads:
        problems.append(f"{gpus} shards do not divide the model's {shape.num_key_value_heads} KV heads; "
                        "use a GPU count that divides them")
    if shape.num_attention_heads % gpus:
        problems.append(f"{gpus} shards do not divide the model's {shape.num_attention_heads} attention heads; "
                        "use a GPU count that divides them")
    return TierPlan(
        gpu=gpu.name, gpus=gpus, weights_bytes_per_gpu=weights_per_gpu, usable_bytes_per_gpu=usable,
        kv_bytes_per_token=per_token, kv_bytes_per_token_per_gpu=per_token_per_gpu, kv_free_bytes_per_gpu=free,
        kv_token_capacity=tokens, max_total_tokens=max_total_tokens,
        concurrent_max_sequences=tokens // max_total_tokens if max_total_tokens else 0,
        replica_hourly_usd=replica_hourly_usd(instance_types or [], gpus), problems=tuple(problems))
