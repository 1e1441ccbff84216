"""The evaluation domain's config rules: a tier's ``eval`` and ``gate``. Pure.

The Evaluation component's args: shape, the tier section, its release list, and the stack loader's eval
checks for the one tier, each problem at its ``args.`` path.

Pure. ``Evaluation`` runs :func:`args_issues` before it registers anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from llm_tiers import arguments
from llm_tiers import naming
from llm_tiers import versions
from llm_tiers.benchmark.rules import release_issues
from llm_tiers.config.benchmark import RUN_ID
from llm_tiers.config.issues import ConfigIssue
from llm_tiers.config.tiers import TierConfig
from llm_tiers.tiers.checks import args_path
from llm_tiers.arguments import namespace_issues


def eval_issues(tiers: Sequence[TierConfig], benchmark_tiers: Sequence[str]) -> list[ConfigIssue]:
    """A tier's ``eval`` and ``gate`` (components/llm_tiers/evaluation/): the eval runs per benchmark run, on
    the benchmark's results volume; its generation budgets fit the tier; its eval set is readable."""
    from pathlib import Path

    from llm_tiers.evaluation.scripts import eval_set as eval_set_script

    issues: list[ConfigIssue] = []
    for i, t in enumerate(tiers):
        p, ev = f"tiers[{i}]", t.eval
        if ev is None:
            if t.gate.override is not None:
                issues.append(ConfigIssue(f"{p}.gate.override", "the tier has no `eval`, so there is no gate to "
                                          "override; remove it"))
            continue
        if t.name not in benchmark_tiers:
            issues.append(ConfigIssue(f"{p}.eval", f"add {t.name!r} to benchmark.tiers: the eval runs per "
                                      "benchmark.runId and writes beside the benchmark's results, which the gate "
                                      "also reads"))
        if ev.lm_eval is None and ev.eval_set is None:
            issues.append(ConfigIssue(f"{p}.eval", "set `lmEval` (harness tasks) and/or `evalSet` (your eval set)"))
        budget = t.max_output_tokens or (t.max_total_tokens - t.max_input_tokens)
        if ev.lm_eval is not None and ev.lm_eval.max_gen_tokens > budget:
            issues.append(ConfigIssue(f"{p}.eval.lmEval.maxGenTokens", f"{ev.lm_eval.max_gen_tokens} exceeds the "
                                      f"tier's output budget ({budget}): the gateway and engine refuse such requests; "
                                      "lower it"))
        es = ev.eval_set
        if es is None:
            continue
        if es.max_tokens > budget:
            issues.append(ConfigIssue(f"{p}.eval.evalSet.maxTokens", f"{es.max_tokens} exceeds the tier's output "
                                      f"budget ({budget}); lower it"))
        if bool(es.file) == bool(es.config_map):
            issues.append(ConfigIssue(f"{p}.eval.evalSet", "set exactly one of `file` (JSONL in this repository) and "
                                      "`configMap` (an existing ConfigMap)"))
        elif es.file:
            try:
                text = Path(es.file).read_text()
            except OSError as exc:
                issues.append(ConfigIssue(f"{p}.eval.evalSet.file", f"cannot read {es.file!r} ({exc.strerror}); give "
                                          "a path relative to the project directory"))
                continue
            try:
                eval_set_script.read_eval_set(text, es.scoring)
            except ValueError as exc:
                issues.append(ConfigIssue(f"{p}.eval.evalSet.file", f"{es.file}: {exc}"))
            if len(text.encode()) > 900_000:
                issues.append(ConfigIssue(f"{p}.eval.evalSet.file", f"{es.file} is over 900 kB; a ConfigMap holds "
                                          "1 MiB: trim it or serve it from your own ConfigMap"))
    return issues


EVAL_SET_MAX_BYTES = 900_000


DEFAULTS: dict[str, Any] = {
    "eval_set": None,
    "namespace": naming.TIERS_NAMESPACE,
    "node_selector": {},
    "image": versions.IMAGES["python"],
    "benchmark_seconds": None,
}


def args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of an ``EvaluationArgs`` value, each at its ``args.`` path."""
    from llm_tiers.evaluation.component import EvaluationArgs
    from llm_tiers.evaluation.scripts import eval_set as eval_set_script

    issues = arguments.shape_issues(args, EvaluationArgs)
    if issues:
        return issues
    tier, issues = arguments.section(TierConfig, args["tier"], "args.tier")
    issues += namespace_issues(args, ("namespace",))
    if not re.match(RUN_ID, args["run_id"]):
        issues.append(
            ConfigIssue(
                "args.run_id",
                f"{args['run_id']!r} is not a run id: 1-16 lowercase letters, "
                "digits and '-' (the benchmark's ``run_id``, e.g. 2026-12-01a)",
            )
        )
    if args.get("benchmark_seconds") is not None and args["benchmark_seconds"] < 0:
        issues.append(ConfigIssue("args.benchmark_seconds", "must be 0 or more (the candidate benchmark's run)"))
    if tier is None:
        return issues
    issues += release_issues(args["releases"], tier)
    ev = tier.eval
    if ev is None:
        return issues + [
            ConfigIssue(
                "args.tier.eval",
                "required to create an Evaluation: set `lm_eval` (harness tasks) and/or `eval_set` (your eval set)",
            )
        ]
    # The stack's eval checks for this one tier (in benchmark.tiers by construction: the component runs with the
    # benchmark's run id). The stack reads eval_set.file itself; the component checks the text it is given instead.
    issues += [
        ConfigIssue(args_path(i.path), i.message)
        for i in eval_issues([tier], [tier.name])
        if not i.path.endswith(".evalSet.file")
    ]
    es = ev.eval_set
    if es is not None and es.file:
        text = args.get("eval_set")
        if text is None:
            issues.append(
                ConfigIssue(
                    "args.eval_set",
                    f"required: the tier's eval.eval_set.file ({es.file}) is set; "
                    "pass that file's text (or use eval_set.config_map)",
                )
            )
        else:
            try:
                eval_set_script.read_eval_set(text, es.scoring)
            except ValueError as exc:
                issues.append(ConfigIssue("args.eval_set", f"{es.file}: {exc}"))
            if len(text.encode()) > EVAL_SET_MAX_BYTES:
                issues.append(
                    ConfigIssue(
                        "args.eval_set",
                        f"{es.file} is over 900 kB; a ConfigMap holds 1 MiB: "
                        "trim it or serve it from your own ConfigMap (eval_set.config_map)",
                    )
                )
    return issues


def resolved(args: Mapping[str, Any]) -> dict[str, Any]:
    """The args with every default filled in (checked args only)."""
    return {**DEFAULTS, **{k: v for k, v in args.items() if v is not None}}
