"""Capacity planner (pure): does a tier's model fit its GPU class with its engine, and how many full-length
sequences can one replica hold at once?

Each engine sizes its KV cache itself at start-up, from CUDA-visible memory (``GpuModel.cuda_total_gib``: an L4
shows 22.03 GiB, not 24); the planner follows each engine's own math at the pinned version, with every quantity
the engine measures at run time replaced by an estimate at or above what it measures (the constants below), so
its KV capacity is at or below the engine's and "fits" is never said where warm-up would fail.

**TGI 3.3.6** (huggingface/text-generation-inference v3.3.6,
``server/text_generation_server/models/flash_causal_lm.py`` ``warmup``): after loading the weights it runs a
prefill of the whole prefill budget (``--max-batch-prefill-tokens``; the router's warm-up batch,
``backends/v3/src/client/grpc_client.rs`` ``warmup``), then sizes the cache from what
``torch.cuda.mem_get_info`` still reports free (the allocator keeps the prefill's activations reserved) less
``(1 - MEMORY_FRACTION * TGI_WIGGLE_ROOM) x total`` (``utils/import_utils.py`` ``get_cuda_free_memory``;
``CUDA_MEMORY_FRACTION`` 1.0 and ``TGI_WIGGLE_ROOM`` 0.90 by default, ``utils/dist.py`` and
``models/globals.py``; CUDA graphs are captured afterwards, inside that 10%)::

    kv = total - cuda_context - weights - prefill_activations(prefill budget) - (1 - 1.0 x 0.90) x total

**vLLM 0.33.0** (vllm-project/vllm v0.33.0, ``vllm/v1/worker/gpu_worker.py`` ``determine_available_memory``):
the budget is ``--gpu-memory-utilization`` (0.92) x total (``vllm/v1/worker/utils.py`` ``request_memory``); a
profile run of ``--max-num-batched-tokens`` tokens and a sampler run over ``--max-num-seqs`` rows
(``gpu_model_runner.py`` ``profile_run`` / ``_dummy_sampler_run``, top-k/top-p over the whole vocabulary)
gives the non-KV memory (``vllm/utils/mem_utils.py`` ``memory_profiling``: weights + torch peak increase +
non-torch memory), and the CUDA graph estimate is subtracted too (``VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS``,
default on)::

    kv = 0.92 x total - weights - max(forward(batched tokens), sampler(seqs x vocab)) - non_torch - cuda_graphs

Weights are split evenly across the replica's shards (tensor parallel); per token the KV cache costs 2 (K and
V) x layers x KV heads x head dim x bytes per element, and each shard holds its share of the KV heads. The
tests pin published data points of both engines and check the planner against them
(tests/test_capacity_and_tgi.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from llm_tiers.gpu.catalog import GpuModel, InstanceType

GIB = 2**30

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "fp8": 1}

# --- the engines' own constants, at the pinned versions
TGI_MEMORY_FRACTION = 1.0  # launcher --cuda-memory-fraction default (guarded: extraArgs cannot change it)
TGI_WIGGLE_ROOM = 0.90     # server models/globals.py TGI_WIGGLE_ROOM default
VLLM_GPU_MEMORY_UTILIZATION = 0.92  # vllm/config/cache.py (guarded)

# --- estimates of what the engines measure at run time, each at or above the measured figures
#: CUDA context, cuBLAS workspaces: memory gone from mem_get_info's free before TGI loads anything (0.3-0.6 GiB
#: in public logs, engines.md section 6).
CUDA_CONTEXT_BYTES = int(0.6 * GIB)
#: NCCL buffers per GPU when a replica has more than one (vLLM's "non-torch memory": 0.13 GiB at TP=1, 0.55 GiB
#: at TP=2 on H100 in a published profile, tests/test_capacity_and_tgi.py).
NON_TORCH_BYTES = int(0.25 * GIB)
NON_TORCH_BYTES_SHARDED = int(0.75 * GIB)
#: vLLM's CUDA graph estimate (-0.9 to +1.0 GiB measured across models; the positive end for dense models).
VLLM_CUDA_GRAPH_BYTES = int(0.75 * GIB)
#: Peak activation bytes per prefill token, in units of hidden_size x 2 bytes (bf16), summed over the tensors
#: alive at once in a decoder layer (the MLP's gate/up and activation outputs are ~10.5 hidden widths at
#: Llama's 3.5x intermediate ratio, attention and residuals ~5): 24 covers both with margin.
ACTIVATION_HIDDEN_WIDTHS = 24
#: vLLM's sampler profile: bytes per (sequence x vocabulary entry) at its peak (fp32 logits, softmax, the sort's
#: values and int64 indices of top-k/top-p): 40 is above the ~38 the published profiles imply.
SAMPLER_BYTES_PER_LOGIT = 40
#: Vocabulary assumed when the models lock has none (entries written before it recorded vocabSize): the
#: largest common one (Gemma 3), so the sampler term is not underestimated.
ASSUMED_VOCAB_SIZE = 262_144
#: Weights in GPU memory exceed the checkpoint's tensor bytes slightly (vLLM's "Model loading took 14.99 GiB"
#: for Llama-3.1-8B's 14.96 GiB of safetensors): 1% covers buffers and padding.
WEIGHTS_IN_MEMORY_FACTOR = 1.01


@dataclass(frozen=True)
class ModelShape:
    """The numbers the planner needs, from the models lock."""

    num_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    weights_bytes: int
    kv_dtype_bytes: int = 2
    hidden_size: Optional[int] = None
    vocab_size: Optional[int] = None

    @property
    def hidden(self) -> int:
        return self.hidden_size or self.num_attention_heads * self.head_dim

    @property
    def vocab(self) -> int:
        return self.vocab_size or ASSUMED_VOCAB_SIZE


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
    engine: str = "tgi"

    @property
    def fits(self) -> bool:
        return not self.problems


def prefill_activation_bytes(shape: ModelShape, tokens: int, gpus: int) -> int:
    """Peak activations of a forward pass over ``tokens`` tokens, per GPU (the MLP and attention widths are
    split across shards; the residual stream is not, so the estimate is divided by at most 2)."""
    return int(tokens * shape.hidden * 2 * ACTIVATION_HIDDEN_WIDTHS / min(gpus, 2))


def sampler_activation_bytes(shape: ModelShape, seqs: int) -> int:
    """vLLM's dummy sampler run over ``seqs`` rows of the whole vocabulary (not sharded: the logits are gathered)."""
    return seqs * shape.vocab * SAMPLER_BYTES_PER_LOGIT


def non_kv_bytes(engine: str, shape: ModelShape, gpu: GpuModel, gpus: int, prefill_tokens: int,
                 max_num_seqs: int) -> tuple[int, int]:
    """(budget, non-KV bytes other than weights) per GPU for ``engine``: KV bytes = budget - weights - non-KV."""
    total = gpu.cuda_total_gib * GIB
    if engine == "vllm":
        budget = math.ceil(total * VLLM_GPU_MEMORY_UTILIZATION)  # request_memory: ceil(total x utilization)
        hidden_states = prefill_tokens * shape.hidden * 2
        peak = max(prefill_activation_bytes(shape, prefill_tokens, gpus),
                   sampler_activation_bytes(shape, min(max_num_seqs, prefill_tokens)) + hidden_states)
        non_torch = NON_TORCH_BYTES if gpus == 1 else NON_TORCH_BYTES_SHARDED
        return budget, peak + non_torch + VLLM_CUDA_GRAPH_BYTES
    reserve = int((1 - TGI_MEMORY_FRACTION * TGI_WIGGLE_ROOM) * total)
    nccl = 0 if gpus == 1 else NON_TORCH_BYTES_SHARDED
    return int(total) - reserve, CUDA_CONTEXT_BYTES + nccl + prefill_activation_bytes(shape, prefill_tokens, gpus)


def usable_bytes(gpu: GpuModel, engine: str = "tgi", shape: Optional[ModelShape] = None, gpus: int = 1,
                 prefill_tokens: int = 4096, max_num_seqs: int = 128) -> int:
    """Bytes per GPU the engine leaves for weights and KV cache together."""
    shape = shape or ModelShape(num_layers=1, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                                weights_bytes=0)
    budget, other = non_kv_bytes(engine, shape, gpu, gpus, prefill_tokens, max_num_seqs)
    return budget - other


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
         instance_types: Optional[list[InstanceType]] = None, engine: str = "tgi",
         prefill_tokens: Optional[int] = None, max_num_seqs: int = 128) -> TierPlan:
    """Plan one replica of ``gpus`` GPUs on ``engine``, warmed up with a prefill of ``prefill_tokens`` (the
    tier's prefill budget; default ``max_total_tokens``) and, on vLLM, ``max_num_seqs`` sequences. ``problems``
    says, with numbers and a way out, why it cannot run."""
    prefill = prefill_tokens if prefill_tokens is not None else max_total_tokens
    usable = usable_bytes(gpu, engine, shape, gpus, prefill, max_num_seqs)
    weights_per_gpu = math.ceil(shape.weights_bytes / gpus)
    resident = math.ceil(weights_per_gpu * WEIGHTS_IN_MEMORY_FACTOR)
    per_token = kv_bytes_per_token(shape)
    per_token_per_gpu = per_token / gpus
    free = max(usable - resident, 0)
    tokens = int(free // per_token_per_gpu) if per_token_per_gpu else 0
    how = ("TGI: what CUDA shows free after a warm-up prefill of the prefill budget, less TGI's 10% reserve"
           if engine == "tgi" else
           f"vLLM: {VLLM_GPU_MEMORY_UTILIZATION:.0%} of the GPU, less the profile run's activations, "
           "non-torch memory and CUDA graphs")
    problems = []
    if resident > usable:
        problems.append(
            f"weights need {weights_per_gpu / GIB:.1f} GiB per GPU across {gpus} {gpu.name} GPU(s) but only "
            f"{usable / GIB:.1f} GiB is usable per GPU ({how}); use more GPUs per replica, a quantized model, "
            f"or a GPU class with more memory")
    elif tokens < max_total_tokens:
        problems.append(
            f"KV cache holds {tokens} tokens per replica after weights ({how}), fewer than one maxTotalTokens "
            f"sequence ({max_total_tokens}); lower maxTotalTokens or maxBatchPrefillTokens, add GPUs per replica, "
            "quantize, or use a larger GPU")
    elif engine == "tgi" and tokens < prefill:
        # The router refuses to start when the prefill budget exceeds the batch total tokens (backends/v3/src/main.rs
        # at v3.3.6: "`max_batch_prefill_tokens` must be <= `max_batch_total_tokens`").
        problems.append(
            f"KV cache holds {tokens} tokens per replica, fewer than the prefill budget ({prefill}); TGI refuses "
            "to start: lower maxBatchPrefillTokens")
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
        replica_hourly_usd=replica_hourly_usd(instance_types or [], gpus), problems=tuple(problems), engine=engine)
