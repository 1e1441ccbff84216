"""Cost per output token (pure): decode throughput of a replica from the memory roofline, what a million output
tokens costs at a stated utilization, and the break-even against a managed endpoint's per-token price.

Model (stated so a reviewer can argue with numbers):

* **Decode is memory-bound.** Each decode step makes one token for every sequence in the batch, and every GPU of
  the replica reads its whole weight shard and the KV cache of every sequence in the batch once. So:

      bytes per step per GPU  = weights per GPU + batch x context x KV bytes per token per GPU
      seconds per step        = bytes per step per GPU / (HBM bandwidth x efficiency)
      output tokens/s         = batch / seconds per step

  Shards (tensor parallel) work in parallel on their own shares, so the per-GPU bytes and one GPU's bandwidth
  give the step time. All-reduce traffic, prefill, sampling and scheduling are not modelled: the ``efficiency``
  factor (``cost.decodeEfficiency``) stands for them. Bandwidths come from NVIDIA's datasheets
  (``gpu_catalog.GpuModel.bandwidth_gbps``, decimal GB/s). Weights and KV bytes per token come from the capacity
  planner (``capacity.TierPlan``: ``weights_bytes_per_gpu``, ``kv_bytes_per_token_per_gpu``).
* **Single stream**: batch 1. **Best batch**: as many sequences of ``context`` tokens as the replica's KV cache
  holds (``kv_token_capacity // context``), capped by the tier's ``maxConcurrentRequests``. Tokens/s rises with
  the batch (batch / (W + batch x c) grows with batch), so the largest batch that fits is the best.
* **$/1M output tokens** = replica $/hour / (best-batch tokens/s x 3600 x utilization) x 10^6. The replica's
  price is the whole node it gets, root volume included (``bill.TierLine.node_hourly``). Utilization
  (``cost.utilizationPercent``) is the share of the hours it runs that a replica decodes at its best batch.
* **Break-even utilization** against a managed price P (USD per 1M output tokens) is the utilization at which
  both cost the same: replica $/hour x 10^6 / (tokens/s x 3600 x P). Above it self-hosting is cheaper; above
  100% it never is. The saving at utilization u is 1 - break-even / u (negative: the managed endpoint is
  cheaper).

These are estimates from a roofline, not measurements: the benchmark Job (docs/components/benchmark.md) measures
the real output tokens/s of a tier, and a measured figure replaces the estimate in the same formulas
(``apply_measurements``: a stack's committed ``stacks/measurements/<stack>.yaml``).

**Calibration** (the defaults of ``cost.decodeEfficiency``, ``cost.batchEfficiency``, ``cost.contextTokens``):
J. Musgrave, "vLLM throughput-latency sweep on NVIDIA A100" (johnmusgrave.com/p/vllm-throughput-latency-sweep-on):
meta-llama/Llama-3.1-8B-Instruct, BF16, vLLM 0.23.0, one A100 40GB, default scheduling, every request a fixed
1024-token prompt and 128 output tokens. Single stream: about 75 tokens/s, "roughly 77% of the GPU's
memory-bandwidth ceiling" (16.06 GB of weights x 75 / 1555 GB/s = 0.77). Concurrency 8: 6.6x the single
stream. The roofline at that workload (mean context 1024 + 128/2 = 1088 tokens, 128 KiB of KV per token) predicts
8 x 16.06 / (16.06 + 8 x 1088 x 131072 / 1e9) = 7.47x, so batched decode achieves 6.6 / 7.47 = 0.88 of it.
``CALIBRATION`` holds these numbers and tests/test_token_cost.py recomputes the defaults from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from llm_tiers.cost import bill
from llm_tiers.cost.prices import HOURS_PER_MONTH
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.config.schema import StackConfig
from llm_tiers.tiers.capacity import TierPlan

SECONDS_PER_HOUR = 3600
MILLION = 1_000_000

# The measurement the defaults are calibrated to (module docstring, "Calibration").
CALIBRATION: dict[str, Any] = {
    "source": "johnmusgrave.com/p/vllm-throughput-latency-sweep-on (vLLM 0.23.0, A100 40GB, "
              "Llama-3.1-8B-Instruct BF16)",
    "weights_bytes": 16_060_556_376,     # meta-llama/Llama-3.1-8B-Instruct weightsBytes in models.lock.json
    "kv_bytes_per_token": 131_072,       # 2 (K, V) x 32 layers x 8 KV heads x 128 dims x 2 bytes
    "bandwidth_gbps": 1555,              # A100 40GB (NVIDIA datasheet)
    "prompt_tokens": 1024, "output_tokens": 128,
    "single_stream_tps": 75.0, "concurrency": 8, "speedup_at_concurrency": 6.6,
}
# A typical request's mean context while decoding: the prompt plus half the output (the calibration's workload).
TYPICAL_CONTEXT_TOKENS = CALIBRATION["prompt_tokens"] + CALIBRATION["output_tokens"] // 2


# ---------------------------------------------------------------------------------------------- the formulas


def step_seconds(bytes_per_gpu: float, bandwidth_gbps: float, efficiency: float) -> float:
    """Time of one decode step: the bytes each GPU reads over its effective bandwidth (GB/s are 10^9 bytes)."""
    return bytes_per_gpu / (bandwidth_gbps * 1e9 * efficiency)


def decode_tokens_per_second(weights_bytes_per_gpu: float, kv_bytes_per_token_per_gpu: float, context_tokens: int,
                             batch: int, bandwidth_gbps: float, efficiency: float) -> float:
    """Output tokens per second of one replica decoding ``batch`` sequences of ``context`` tokens each."""
    if batch <= 0:
        return 0.0
    step_bytes = weights_bytes_per_gpu + batch * context_tokens * kv_bytes_per_token_per_gpu
    return batch / step_seconds(step_bytes, bandwidth_gbps, efficiency)


def best_batch(kv_token_capacity: int, context_tokens: int, max_concurrent: int) -> int:
    """The largest batch whose KV cache fits the replica, capped by the requests the engine admits at once."""
    if context_tokens <= 0:
        return 0
    return max(0, min(kv_token_capacity // context_tokens, max_concurrent))


def usd_per_million_tokens(replica_hourly_usd: float, tokens_per_second: float, utilization: float) -> Optional[float]:
    """What 10^6 output tokens cost when a replica decodes at ``tokens_per_second`` for ``utilization`` of its hours."""
    if tokens_per_second <= 0 or utilization <= 0:
        return None
    return replica_hourly_usd / (tokens_per_second * SECONDS_PER_HOUR * utilization) * MILLION


def break_even_utilization(replica_hourly_usd: float, tokens_per_second: float,
                           managed_usd_per_million: float) -> Optional[float]:
    """The utilization at which a replica's tokens cost what the managed endpoint charges (may exceed 1)."""
    if tokens_per_second <= 0 or managed_usd_per_million <= 0:
        return None
    return replica_hourly_usd * MILLION / (tokens_per_second * SECONDS_PER_HOUR * managed_usd_per_million)


def saving(self_usd_per_million: Optional[float], managed_usd_per_million: Optional[float]) -> Optional[float]:
    """Share saved by self-hosting (1 - self / managed); negative when the managed endpoint is cheaper."""
    if self_usd_per_million is None or not managed_usd_per_million:
        return None
    return 1 - self_usd_per_million / managed_usd_per_million


# ---------------------------------------------------------------------------------------------- per tier


@dataclass(frozen=True)
class TierTokenCost:
    tier: str
    release: str
    serving: bool
    gpu: str
    gpus: int
    bandwidth_gbps: int
    weights_bytes_per_gpu: int
    kv_bytes_per_token_per_gpu: float
    kv_token_capacity: int
    context_tokens: int
    batch: int
    single_stream_tps: float
    best_batch_tps: float
    replica_hourly_usd: float
    replicas_min: int
    replicas_max: int
    usd_per_month_min: float
    usd_per_month_max: float
    usd_per_million: Optional[float]
    """At the stated utilization."""
    usd_per_million_full: Optional[float]
    """At 100% utilization (the floor)."""
    managed_usd_per_million: Optional[float]
    break_even: Optional[float]
    saving: Optional[float]
    saving_full: Optional[float]
    source: str = "roofline"
    """Where the tokens/s come from: ``roofline``, or ``measured (run <id>, <date>)``."""

    @property
    def managed_cheaper(self) -> Optional[bool]:
        return None if self.saving is None else self.saving < 0


def managed_price(cfg: StackConfig, tier: str) -> Optional[float]:
    return cfg.cost.managed_price_by_tier.get(tier, cfg.cost.managed_price_per_million_output_tokens)


def tier_token_costs(cfg: StackConfig, plans: Mapping[tuple[int, str], TierPlan],
                     lines: Optional[list[bill.TierLine]] = None) -> list[TierTokenCost]:
    """One entry per tier release that the capacity planner could plan (its model is locked with its numbers)."""
    util = cfg.cost.utilization_percent / 100
    eff = cfg.cost.decode_efficiency
    index = {t.name: i for i, t in enumerate(cfg.tiers)}
    out = []
    for line in lines if lines is not None else bill.tier_lines(cfg):
        i = index[line.tier]
        t = cfg.tiers[i]
        p = plans.get((i, line.release))
        if p is None:
            continue
        bw = gpu_catalog.lookup(line.instance_type).gpu.bandwidth_gbps
        context = min(cfg.cost.context_tokens or TYPICAL_CONTEXT_TOKENS, t.max_total_tokens)
        batch = best_batch(p.kv_token_capacity, context, t.max_concurrent_requests)
        single = decode_tokens_per_second(p.weights_bytes_per_gpu, p.kv_bytes_per_token_per_gpu, context, 1, bw, eff)
        best = decode_tokens_per_second(p.weights_bytes_per_gpu, p.kv_bytes_per_token_per_gpu, context, batch, bw, eff)
        best = best * cfg.cost.batch_efficiency if batch > 1 else best
        hourly = line.node_hourly
        cost = usd_per_million_tokens(hourly, best, util)
        full = usd_per_million_tokens(hourly, best, 1.0)
        price = managed_price(cfg, t.name)
        out.append(TierTokenCost(
            tier=t.name, release=line.release, serving=line.release == t.serve, gpu=p.gpu, gpus=p.gpus,
            bandwidth_gbps=bw, weights_bytes_per_gpu=p.weights_bytes_per_gpu,
            kv_bytes_per_token_per_gpu=p.kv_bytes_per_token_per_gpu, kv_token_capacity=p.kv_token_capacity,
            context_tokens=context, batch=batch, single_stream_tps=single, best_batch_tps=best,
            replica_hourly_usd=hourly, replicas_min=line.replicas_min, replicas_max=line.replicas_max,
            usd_per_month_min=line.hourly("min") * HOURS_PER_MONTH,
            usd_per_month_max=line.hourly("max") * HOURS_PER_MONTH,
            usd_per_million=cost, usd_per_million_full=full, managed_usd_per_million=price,
            break_even=break_even_utilization(hourly, best, price) if price else None,
            saving=saving(cost, price), saving_full=saving(full, price)))
    return out


def apply_measurements(cfg: StackConfig, costs: list[TierTokenCost], measured: Any) -> list[TierTokenCost]:
    """The same entries, priced by a release's measured output tokens/s where the stack's committed measurements
    (``cost.measurements.Measurements``) have one; the rest keep the roofline."""
    import dataclasses

    from llm_tiers.cost import measurements

    util = cfg.cost.utilization_percent / 100
    out = []
    for c in costs:
        m = measurements.release(measured, c.tier, c.release)
        if m is None or m.output_tokens_per_second is None:
            out.append(c)
            continue
        best = m.output_tokens_per_second
        cost = usd_per_million_tokens(c.replica_hourly_usd, best, util)
        full = usd_per_million_tokens(c.replica_hourly_usd, best, 1.0)
        price = c.managed_usd_per_million
        out.append(dataclasses.replace(
            c, best_batch_tps=best, single_stream_tps=m.single_stream_tokens_per_second or c.single_stream_tps,
            usd_per_million=cost, usd_per_million_full=full,
            break_even=break_even_utilization(c.replica_hourly_usd, best, price) if price else None,
            saving=saving(cost, price), saving_full=saving(full, price), source=f"measured ({measured.label})"))
    return out


def stack_tokens(cfg: StackConfig, costs: list[TierTokenCost], stack_bill: bill.Bill) -> dict[str, Any]:
    """The whole stack at replicas.min and replicas.max: output tokens a month at the stated utilization (serving
    releases only: the Service sends traffic to one release), the all-in monthly cost (every release's nodes
    and the fixed platform), all-in $/1M, and what the managed endpoint would charge for the same tokens
    (when every serving tier has a price)."""
    util = cfg.cost.utilization_percent / 100
    out: dict[str, Any] = {}
    for at in ("min", "max"):
        serving = [c for c in costs if c.serving]
        tokens = sum(c.best_batch_tps * SECONDS_PER_HOUR * HOURS_PER_MONTH * util *
                     (c.replicas_min if at == "min" else c.replicas_max) for c in serving)
        monthly = stack_bill.total_hourly(at) * HOURS_PER_MONTH
        priced = all(c.managed_usd_per_million for c in serving) and len(serving) == len(cfg.tiers)
        managed = (sum(c.best_batch_tps * SECONDS_PER_HOUR * HOURS_PER_MONTH * util *
                       (c.replicas_min if at == "min" else c.replicas_max) * (c.managed_usd_per_million or 0.0)
                       / MILLION for c in serving) if priced else None)
        out[at] = {"outputTokensPerMonth": round(tokens), "usdPerMonth": round(monthly, 2),
                   "usdPerMillionTokens": round(monthly / tokens * MILLION, 4) if tokens else None,
                   "managedUsdPerMonth": round(managed, 2) if managed is not None else None}
    return out


def to_output(cfg: StackConfig, costs: list[TierTokenCost], stack_bill: bill.Bill) -> dict[str, Any]:
    """The ``tokenCost`` stack output (plan.md's "Cost per output token" section reads it)."""
    r = lambda x, n=4: None if x is None else round(x, n)  # noqa: E731
    return {
        "assumptions": {"utilizationPercent": cfg.cost.utilization_percent,
                        "decodeEfficiency": cfg.cost.decode_efficiency,
                        "batchEfficiency": cfg.cost.batch_efficiency,
                        "contextTokens": cfg.cost.context_tokens or TYPICAL_CONTEXT_TOKENS,
                        "calibration": CALIBRATION["source"],
                        "hoursPerMonth": HOURS_PER_MONTH},
        "tiers": [{
            "tier": c.tier, "release": c.release, "serving": c.serving, "gpu": c.gpu, "gpus": c.gpus,
            "bandwidthGBps": c.bandwidth_gbps, "weightsBytesPerGpu": c.weights_bytes_per_gpu,
            "kvBytesPerTokenPerGpu": r(c.kv_bytes_per_token_per_gpu, 1), "kvTokenCapacity": c.kv_token_capacity,
            "contextTokens": c.context_tokens, "batch": c.batch,
            "singleStreamTokensPerSecond": r(c.single_stream_tps, 1),
            "bestBatchTokensPerSecond": r(c.best_batch_tps, 1),
            "replicaUsdPerHour": r(c.replica_hourly_usd), "replicasMin": c.replicas_min, "replicasMax": c.replicas_max,
            "usdPerMonthMin": r(c.usd_per_month_min, 2), "usdPerMonthMax": r(c.usd_per_month_max, 2),
            "usdPerMillionTokens": r(c.usd_per_million), "usdPerMillionTokensAtFullUse": r(c.usd_per_million_full),
            "managedUsdPerMillionTokens": c.managed_usd_per_million, "breakEvenUtilization": r(c.break_even),
            "saving": r(c.saving), "savingAtFullUse": r(c.saving_full), "managedCheaper": c.managed_cheaper,
            "source": c.source,
        } for c in costs],
        "stack": stack_tokens(cfg, costs, stack_bill),
    }


# ---------------------------------------------------------------------------------------------- plan.md


def _pct(x: Optional[float]) -> str:
    return "—" if x is None else f"{x * 100:.0f}%"


def _usd(x: Optional[float]) -> str:
    return "—" if x is None else f"${x:,.2f}" if x >= 0.1 else f"${x:.3f}"


def _versus(saving: Optional[float]) -> str:
    """Self-hosted against managed, readable: "40% cheaper", or "3.2× managed" (never "-220%")."""
    if saving is None:
        return "—"
    return f"{saving * 100:.0f}% cheaper" if saving >= 0 else f"{1 - saving:.1f}× managed"


def _break_even(x: Optional[float]) -> str:
    """The break-even column: a utilization, or "never" when even 100% does not reach it."""
    return "—" if x is None else "never" if x > 1 else _pct(x)


def verdict(t: Mapping[str, Any], utilization_percent: float) -> str:
    """One sentence a person reads at a glance: where self-hosting this tier is cheaper than the managed
    endpoint, by utilization."""
    be = t["breakEvenUtilization"]
    sporadic = (" It scales to zero, so idle hours cost nothing, but each wake-up pays for a node's start."
                if t["replicasMin"] == 0 else "")
    if be is None:
        return "holds no full sequence: no throughput to compare." + sporadic
    if be > 1:
        return (f"**cheaper on the managed endpoint at any utilization**: even decoding all the time a replica "
                f"costs {_usd(t['usdPerMillionTokensAtFullUse'])}/1M output tokens, the managed endpoint "
                f"{_usd(t['managedUsdPerMillionTokens'])}." + sporadic)
    at = f"{utilization_percent:g}%"
    now = ("so at the assumed " + at + " the managed endpoint is cheaper" if be > utilization_percent / 100
           else "so at the assumed " + at + " self-hosting is cheaper")
    return f"**self-hosting is cheaper above {_pct(be)} utilization**, {now}." + sporadic


def _calibration_lines(token_cost: Mapping[str, Any]) -> list[str]:
    """Where the defaults come from, and which rows are measured instead."""
    a = token_cost["assumptions"]
    out = []
    if a.get("calibration"):
        out += [f"Calibrated to a measurement ({a['calibration']}): single-stream decode at 77% of HBM bandwidth, "
                f"batched decode at {a.get('batchEfficiency')} of the roofline's speed-up (`cost.batchEfficiency`).",
                ""]
    measured = [t for t in token_cost["tiers"] if t.get("source", "roofline") != "roofline"]
    if measured:
        out += ["Rows marked **measured** use the output tokens/s of the stack's committed measurements "
                "(`cost.measurementsFile`, docs/components/cost.md) instead of the roofline.", ""]
    return out


def markdown(token_cost: Optional[Mapping[str, Any]]) -> list[str]:
    """plan.md's "Cost per output token" section, from the ``tokenCost`` output."""
    if not token_cost:
        return []
    a = token_cost["assumptions"]
    ctx = (f"{a['contextTokens']} tokens (capped at maxTotalTokens)" if a["contextTokens"]
           else "each tier's maxTotalTokens")
    lines = [
        "## Cost per output token", "",
        f"Decode throughput from the memory roofline (components/llm_tiers/cost/throughput.py): each step reads every "
        f"GPU's weight shard and the batch's KV cache once, at the GPU's HBM bandwidth (NVIDIA datasheet) x "
        f"{a['decodeEfficiency']} efficiency (`cost.decodeEfficiency`). Context per sequence: {ctx} "
        f"(`cost.contextTokens`). Best batch: the sequences of that length the KV cache holds, at most "
        f"maxConcurrentRequests. $/1M output tokens at {a['utilizationPercent']:g}% utilization "
        f"(`cost.utilizationPercent`: the share of its hours a replica decodes at its best batch) and at 100%. "
        "Estimates, not measurements: the benchmark Job measures the real figures (docs/components/benchmark.md).", "",
        *_calibration_lines(token_cost),
        "| tier (release) | GPUs | GB/s per GPU | weights GiB/GPU | KV bytes/token/GPU | context | batch | "
        "tok/s single stream | tok/s best batch | $/replica-hour | $/1M at util. | $/1M at 100% | $/month min | "
        "$/month max | managed $/1M | break-even util. | self-hosted vs managed at util. | at 100% |",
        "|" + "---|" * 18,
    ]
    for t in token_cost["tiers"]:
        measured = "" if t.get("source", "roofline") == "roofline" else f", **{t['source']}**"
        lines.append(
            f"| {t['tier']} ({t['release']}{'' if t['serving'] else ', not serving'}{measured}) | {t['gpus']} x "
            f"{t['gpu']} | "
            f"{t['bandwidthGBps']} | {t['weightsBytesPerGpu'] / 2**30:.1f} | {t['kvBytesPerTokenPerGpu']:,.0f} | "
            f"{t['contextTokens']} | {t['batch']} | {t['singleStreamTokensPerSecond']:.1f} | "
            f"{t['bestBatchTokensPerSecond']:.1f} | {t['replicaUsdPerHour']:.4f} | {_usd(t['usdPerMillionTokens'])} | "
            f"{_usd(t['usdPerMillionTokensAtFullUse'])} | {t['usdPerMonthMin']:,.2f} | {t['usdPerMonthMax']:,.2f} | "
            f"{_usd(t['managedUsdPerMillionTokens'])} | {_break_even(t['breakEvenUtilization'])} | "
            f"{_versus(t['saving'])} | "
            f"{_versus(t['savingAtFullUse'])} |")
    lines.append("")
    priced = [t for t in token_cost["tiers"] if t["managedUsdPerMillionTokens"] and t["serving"]]
    if not priced:
        lines += ["No managed price set: set `cost.managedPricePerMillionOutputTokens` (or `cost.managedPriceByTier`) "
                  "to the per-1M-output-token price of the endpoint you would use instead, and plan.md shows the "
                  "break-even.", ""]
    for t in priced:
        lines.append(f"- {t['tier']}: {verdict(t, a['utilizationPercent'])}")
    if priced:
        lines.append("")
    s = token_cost["stack"]
    lines += ["Whole stack (GPU nodes of every release plus the fixed platform), output tokens of the serving "
              f"releases at {a['utilizationPercent']:g}% utilization:", "",
              "| replicas | output tokens/month | $/month | all-in $/1M | managed $/month for the same tokens |",
              "|---|---|---|---|---|"]
    for at in ("min", "max"):
        x = s[at]
        lines.append(f"| {at} | {x['outputTokensPerMonth']:,} | {x['usdPerMonth']:,.2f} | "
                     f"{_usd(x['usdPerMillionTokens'])} | "
                     f"{'—' if x['managedUsdPerMonth'] is None else format(x['managedUsdPerMonth'], ',.2f')} |")
    return lines + [""]
