"""Benchmark's Jobs on the system nodes (pure), as the system capacity check counts them."""

from __future__ import annotations

from collections.abc import Sequence

from llm_tiers.cluster.system_capacity import BENCHMARK, Workload
from llm_tiers.config.tiers import TierConfig


def workloads(benchmarked: Sequence[TierConfig]) -> list[Workload]:
    """One GuideLLM Job per release of every benchmarked tier."""
    if not benchmarked:
        return []
    jobs = sum(2 if t.candidate is not None else 1 for t in benchmarked)
    return [Workload("benchmark", "manifest", (BENCHMARK,), jobs, kind="Job")]
