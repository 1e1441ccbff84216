"""The benchmark domain's config rules. Pure.

The Benchmark component's args (and the release list it shares with Evaluation): shape, the tier and
``benchmark`` sections, and the stack loader's benchmark checks, each problem at its ``args.`` path.

Pure. ``Benchmark`` runs :func:`args_issues` before it registers anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from llm_tiers import arguments
from llm_tiers import naming
from llm_tiers import versions
from llm_tiers.config.benchmark import BenchmarkConfig
from llm_tiers.config.issues import ConfigIssue, duplicates
from llm_tiers.config.tiers import TierConfig, release_engine
from llm_tiers.tiers.checks import args_path
from llm_tiers.arguments import namespace_issues


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


REVISION = re.compile(r"^[0-9a-f]{40}$")


DEFAULTS: dict[str, Any] = {
    "namespace": naming.TIERS_NAMESPACE,
    "storage_class": "efs-weights",
    "node_selector": {},
    "image": versions.IMAGES["guidellm"],
}


def release_issues(releases: Sequence[Mapping[str, Any]], tier: TierConfig, path: str = "args.releases"
                   ) -> list[ConfigIssue]:
    """A release list (``live``, and ``candidate`` when the tier has one) that matches the tier: each release's
    model and engine are the tier's, its revision a locked commit."""
    issues: list[ConfigIssue] = []
    models = {"live": tier.model_id}
    if tier.candidate is not None:
        models["candidate"] = tier.candidate.model_id or tier.model_id
    seen: dict[str, int] = {}
    for i, r in enumerate(releases):
        p, name = f"{path}[{i}]", r["name"]
        if name not in ("live", "candidate"):
            issues.append(ConfigIssue(f"{p}.name", f"{name!r} is not a release: use live, or candidate"))
            continue
        if name in seen:
            issues.append(ConfigIssue(f"{p}.name", f"{name!r} is listed twice (first at {path}[{seen[name]}])"))
            continue
        seen[name] = i
        if name not in models:
            issues.append(ConfigIssue(f"{p}.name", f"the tier {tier.name!r} has no candidate: remove this release "
                                      "or give the tier a `candidate`"))
            continue
        if r["model_id"] != models[name]:
            issues.append(ConfigIssue(f"{p}.model_id", f"{r['model_id']!r} is not the model of the tier's {name} "
                                      f"release ({models[name]!r})"))
        engine = release_engine(tier, name)
        if r["engine"] != engine:
            issues.append(ConfigIssue(f"{p}.engine", f"{r['engine']!r} is not the engine of the tier's {name} "
                                      f"release ({engine!r})"))
        if not REVISION.match(r["revision"]):
            issues.append(ConfigIssue(f"{p}.revision", f"{r['revision']!r} is not a commit: pass the model's locked "
                                      "revision (40 hex digits, models.lock.json)"))
    if not releases:
        issues.append(ConfigIssue(path, "empty: pass the tier's live release (and its candidate, when it has one)"))
    return issues


def args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of a ``BenchmarkArgs`` value, each at its ``args.`` path."""
    from llm_tiers.benchmark.component import BenchmarkArgs

    issues = arguments.shape_issues(args, BenchmarkArgs)
    if issues:
        return issues
    tier, issues = arguments.section(TierConfig, args["tier"], "args.tier")
    settings, found = arguments.section(BenchmarkConfig, args["settings"], "args.settings")
    issues += found
    issues += namespace_issues(args, ("namespace",))
    if tier is None or settings is None:
        return issues
    issues += release_issues(args["releases"], tier)
    if not settings.run_id:
        issues.append(ConfigIssue("args.settings.run_id", "required to create a benchmark; name the run, e.g. "
                                  "2026-12-01a (a new run id runs the benchmark again)"))
    # The stack's benchmark checks for this one tier (its workload fits the tier, the Job names fit).
    own = settings.model_copy(update={"tiers": [tier.name]})
    issues += [ConfigIssue(args_path(i.path.replace("benchmark.", "settings.", 1)), i.message)
               for i in benchmark_issues(own, [tier]) if settings.run_id or i.path != "benchmark.runId"]
    return issues


def resolved(args: Mapping[str, Any]) -> dict[str, Any]:
    """The args with every default filled in (checked args only)."""
    return {**DEFAULTS, **{k: v for k, v in args.items() if v is not None}}
