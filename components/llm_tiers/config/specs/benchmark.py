"""The ``benchmark`` config section(s) as plain typed dicts (generated: see ``llm_tiers.config.specs``)."""

# No ``from __future__ import annotations``: Pulumi's component provider reads these annotations at runtime.
from typing import Optional, TypedDict


class BenchmarkSpec(TypedDict, total=False):
    """``BenchmarkConfig`` as plain data."""
    tiers: list[str]
    """Tiers to benchmark (opt-in). Each gets a GuideLLM Job per release: live, and the candidate when one is set, so both releases (say TGI and vLLM) run the same workload. Empty: no benchmark objects. Default: empty. (stack file key ``tiers``)"""
    run_id: Optional[str]
    """Names the run (1-16 lowercase letters, digits, `-`, e.g. `2026-12-01a`). The Jobs and the results folder carry it. A Job's spec is immutable, so a new runId replaces the Jobs and runs the benchmark again. The same runId leaves the finished Jobs alone: `pulumi up` never re-runs them. Required when `tiers` is set. Default: ``None``. (stack file key ``runId``)"""
    prompt_tokens: int
    """Synthetic prompt length in tokens, counted with the tier's own tokenizer from the weights cache. Must fit the tier's maxInputTokens. Default: ``512``. (stack file key ``promptTokens``)"""
    output_tokens: int
    """Output tokens requested per request. promptTokens + outputTokens must fit maxTotalTokens. Default: ``256``. (stack file key ``outputTokens``)"""
    sweep_size: int
    """GuideLLM sweep strategies: a synchronous run, a throughput run, then constant rates between them. Default: ``10``. (stack file key ``sweepSize``)"""
    seconds_per_strategy: int
    """How long each strategy of the sweep runs (GuideLLM `max_duration`). Default: ``60``. (stack file key ``secondsPerStrategy``)"""
    max_concurrency: Optional[int]
    """Most requests in flight at once. Default: the tier's maxConcurrentRequests, so the throughput run saturates the engine without tripping its own limit. (stack file key ``maxConcurrency``)"""
