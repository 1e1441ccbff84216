"""The ``benchmark`` section: GuideLLM Jobs a platform team starts per tier (components/llm_tiers/benchmark/)."""

from __future__ import annotations

from typing import Annotated, Optional

from pydantic import Field, PositiveInt, StringConstraints

from llm_tiers.config.base import TierName, _Model

RUN_ID = r"^[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?$"


class BenchmarkConfig(_Model):
    tiers: list[TierName] = Field(
        default_factory=list,
        description="Tiers to benchmark (opt-in). Each gets a GuideLLM Job per release: live, and the candidate "
        "when one is set, so both releases (say TGI and vLLM) run the same workload. Empty: no benchmark objects.")
    run_id: Optional[Annotated[str, StringConstraints(pattern=RUN_ID)]] = Field(
        None,
        description="Names the run (1-16 lowercase letters, digits, `-`, e.g. `2026-12-01a`). The Jobs and the "
        "results folder carry it. A Job's spec is immutable, so a new runId replaces the Jobs and runs the "
        "benchmark again. The same runId leaves the finished Jobs alone: `pulumi up` never re-runs them. "
        "Required when `tiers` is set.")
    prompt_tokens: PositiveInt = Field(
        512, description="Synthetic prompt length in tokens, counted with the tier's own tokenizer from the weights "
        "cache. Must fit the tier's maxInputTokens.")
    output_tokens: PositiveInt = Field(
        256, description="Output tokens requested per request. promptTokens + outputTokens must fit maxTotalTokens.")
    sweep_size: int = Field(
        10, ge=2, le=20,
        description="GuideLLM sweep strategies: a synchronous run, a throughput run, then constant rates between "
        "them.")
    seconds_per_strategy: int = Field(
        60, ge=10, le=900, description="How long each strategy of the sweep runs (GuideLLM `max_duration`).")
    max_concurrency: Optional[PositiveInt] = Field(
        None, description="Most requests in flight at once. Default: the tier's maxConcurrentRequests, so the "
        "throughput run saturates the engine without tripping its own limit.")
