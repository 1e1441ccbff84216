"""The ``benchmark`` config section(s) as plain typed dictionaries: the shape in which components take them.

GENERATED from the models in ``llm_tiers.config`` by ``python -m llm_tiers.cli.arg_specs --write``; a test fails
when it is stale. Do not edit by hand.

Keys are the Python (snake_case) names of the stack file's camelCase keys (``max_total_tokens`` is
``maxTotalTokens``); Pulumi's component provider publishes them in camelCase again, so a TypeScript, Go or YAML
program writes the stack file's keys (an acronym is camel-cased: ``storageGiB`` is ``storageGib`` there). A key
not marked ``Required`` may be left out: the component fills in the default its description names. Each component
validates the value against the section's model (ranges, patterns, cross-field rules) before it registers anything,
and names a bad key at its ``args.`` path.
"""

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
