"""The evaluation domain's config rules: a tier's ``eval`` and ``gate``. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from llm_tiers.config.issues import ConfigIssue
from llm_tiers.config.tiers import TierConfig


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
