"""The benchmark domain's config rules. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from llm_tiers.config.benchmark import BenchmarkConfig
from llm_tiers.config.issues import ConfigIssue, duplicates
from llm_tiers.config.tiers import TierConfig


def benchmark_issues(b: BenchmarkConfig, tiers: Sequence[TierConfig]) -> list[ConfigIssue]:
    """The ``benchmark`` section against the tiers it names."""
    issues: list[ConfigIssue] = []
    by_name = {t.name: t for t in tiers}
    if b.tiers and not b.run_id:
        issues.append(ConfigIssue("benchmark.runId", "required when benchmark.tiers is set: name the run (e.g. "
                                  "`2026-12-01a`); a new runId runs the benchmark again"))
    for j, name in enumerate(b.tiers):
        t = by_name.get(name)
        if t is None:
            issues.append(ConfigIssue(f"benchmark.tiers[{j}]", f"unknown tier {name!r}; tiers are: "
                                      f"{', '.join(by_name) or 'none'}"))
            continue
        if b.prompt_tokens > t.max_input_tokens:
            issues.append(ConfigIssue("benchmark.promptTokens", f"{b.prompt_tokens} exceeds {name}'s maxInputTokens "
                                      f"({t.max_input_tokens}): every request would be refused; lower promptTokens"))
        if b.prompt_tokens + b.output_tokens > t.max_total_tokens:
            issues.append(ConfigIssue("benchmark.outputTokens", f"promptTokens + outputTokens = "
                                      f"{b.prompt_tokens + b.output_tokens} exceeds {name}'s maxTotalTokens "
                                      f"({t.max_total_tokens}); lower outputTokens"))
        if b.run_id:
            longest = f"{name}-candidate-bench-{b.run_id}"
            if len(longest) > 63:
                issues.append(ConfigIssue("benchmark.runId", f"the Job name {longest!r} would be {len(longest)} "
                                          "characters, over Kubernetes' 63; use a shorter runId"))
    for name, idx in duplicates(list(b.tiers)).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"benchmark.tiers[{i}]", f"lists {name!r} twice"))
    return issues
