"""The ``cost`` section: the assumptions behind plan.md's cost per token (components/llm_tiers/cost/throughput.py)."""

from __future__ import annotations

from typing import Optional

from pydantic import Field, PositiveInt

from llm_tiers.config.base import _Model


class CostConfig(_Model):
    utilization_percent: float = Field(
        50, gt=0, le=100,
        description="Share of the month (%) a running replica spends decoding at its best batch. The rest of the "
        "time it is paid for and idle. $/1M output tokens is priced at this share.")
    decode_efficiency: float = Field(
        0.77, gt=0, le=1,
        description="Fraction of the GPU's HBM bandwidth one decode step achieves. The roofline estimate reads "
        "the weights and the batch's KV cache once per step at bandwidth x this factor. 0.77 is measured: "
        "Llama-3.1-8B-Instruct (BF16) on vLLM on one A100 40GB decodes one stream at about 75 tokens/s, 77 % of "
        "the memory-bandwidth ceiling (docs/components/cost.md, \"Calibration\"). Measure yours with the "
        "benchmark (docs/components/benchmark.md).")
    batch_efficiency: float = Field(
        0.88, gt=0, le=1,
        description="What batched decode achieves of the roofline's batch speed-up (the same source: 6.6x the "
        "single stream at concurrency 8, where the roofline at that context predicts 7.5x). Multiplies the "
        "best-batch tokens/s.")
    context_tokens: Optional[PositiveInt] = Field(
        None,
        description="Mean tokens a sequence holds in the KV cache while decoding (prompt plus output so far). "
        "Capped at each tier's maxTotalTokens. Default: 1088, a typical chat request (a 1024-token prompt and "
        "128 output tokens, half of them generated on average while decoding: the workload of the calibration "
        "measurement, docs/components/cost.md). Set a tier's real mean from its usage metrics; maxTotalTokens is "
        "the worst case (every sequence at full length, the fewest in the KV cache).")
    measurements_file: Optional[str] = Field(
        None,
        description="The stack's committed benchmark and eval summary (YAML, docs/components/cost.md "
        "\"Measured numbers\"): plan.md and the PR comment price a tier by its measured output tokens/s instead "
        "of the roofline, marked as measured, and show the promotion gate's last results. Default: "
        "`stacks/measurements/<stack>.yaml` when it exists.")
    managed_price_per_million_output_tokens: Optional[float] = Field(
        None, gt=0,
        description="USD per 1M output tokens on the managed endpoint you would use instead (your provider's price "
        "for a comparable model). plan.md shows the break-even utilization against it. Unset: no comparison.")
    managed_price_by_tier: dict[str, float] = Field(
        default_factory=dict,
        description="Per-tier managed prices, USD per 1M output tokens, keyed by tier name. They override "
        "managedPricePerMillionOutputTokens (a 70B tier compares against a 70B price).")
