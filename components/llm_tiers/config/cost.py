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
        0.5, gt=0, le=1,
        description="Fraction of the GPU's HBM bandwidth one decode step achieves. The roofline estimate reads "
        "the weights and the batch's KV cache once per step at bandwidth x this factor. 0.5 is a deliberately low "
        "figure: it covers kernel, attention and scheduler overhead. Measure yours with the benchmark "
        "(docs/components/benchmark.md).")
    context_tokens: Optional[PositiveInt] = Field(
        None,
        description="Mean tokens a sequence holds in the KV cache while decoding (prompt plus output so far). "
        "Capped at each tier's maxTotalTokens. Default: each tier's maxTotalTokens. That is the worst case: every "
        "sequence at full length, the fewest sequences in the KV cache, the most bytes read per step.")
    managed_price_per_million_output_tokens: Optional[float] = Field(
        None, gt=0,
        description="USD per 1M output tokens on the managed endpoint you would use instead (your provider's price "
        "for a comparable model). plan.md shows the break-even utilization against it. Unset: no comparison.")
    managed_price_by_tier: dict[str, float] = Field(
        default_factory=dict,
        description="Per-tier managed prices, USD per 1M output tokens, keyed by tier name. They override "
        "managedPricePerMillionOutputTokens (a 70B tier compares against a 70B price).")
