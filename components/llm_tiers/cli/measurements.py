"""Write a stack's measurements file (``stacks/measurements/<stack>.yaml``, docs/components/cost.md "Measured
numbers") from a benchmark and eval run's result files, so the committed numbers are read from the files, not
copied by hand.

    kubectl -n llm-tiers cp <reader pod>:/results/2026-12-01a ./results-2026-12-01a   # benchmark.md shows how
    python -m llm_tiers.cli.measurements --stack staging --results ./results-2026-12-01a \\
        --run-id 2026-12-01a --date 2026-12-02 > stacks/measurements/staging.yaml

Per tier and release it reads ``<tier>-<release>.json`` (GuideLLM) and ``<tier>-<release>-eval.json`` (the eval
summary) when present. ``outputTokensPerSecond`` is the best mean output tokens/s among the sweep's strategies
whose TTFT P95 is within the tier's ``slo.ttftP95Seconds`` (the number the promotion gate checks, read the same
way: evaluation/scripts/gate.py ``strategies``), ``ttftP95Seconds`` that strategy's, and
``singleStreamTokensPerSecond`` the first (synchronous) strategy's.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any, Optional

import yaml

from llm_tiers.config.schema import StackConfig, release_engine
from llm_tiers.stack.parse import parse
from llm_tiers.evaluation.scripts import gate


def release_numbers(t: Any, release: str, results: Path) -> Optional[dict[str, Any]]:
    """One release's entry, or None when the run has no file for it."""
    bench, summary = results / f"{t.name}-{release}.json", results / f"{t.name}-{release}-eval.json"
    out: dict[str, Any] = {"engine": release_engine(t, release)}
    found = False
    if bench.is_file():
        rows = [r for r in gate.strategies(json.loads(bench.read_text())) if r["successful"] > 0]
        within = [r for r in rows if r["ttftP95Seconds"] <= t.slo.ttft_p95_seconds]
        if rows:
            found = True
            out["singleStreamTokensPerSecond"] = round(rows[0]["outputTokensPerSecond"], 1)
        if within:
            best = max(within, key=lambda r: r["outputTokensPerSecond"])
            out["outputTokensPerSecond"] = round(best["outputTokensPerSecond"], 1)
            out["ttftP95Seconds"] = round(best["ttftP95Seconds"], 3)
    if summary.is_file():
        s = json.loads(summary.read_text())
        if s.get("engine") and s["engine"] != out["engine"]:
            raise ValueError(f"{summary}: ran {s['engine']}, but the stack's {release} release runs {out['engine']}")
        if s.get("complete"):
            found = True
            out["scores"] = {k: round(float(v), 4) for k, v in sorted((s.get("scores") or {}).items())}
    return out if found else None


def document(cfg: StackConfig, results: Path, run_id: str, date: datetime.date) -> dict[str, Any]:
    tiers: dict[str, Any] = {}
    for t in cfg.tiers:
        for release in ("live", *(["candidate"] if t.candidate is not None else [])):
            numbers = release_numbers(t, release, results)
            if numbers is not None:
                tiers.setdefault(t.name, {})[release] = numbers
    return {"runId": run_id, "date": date.isoformat(), "tiers": tiers}


def main(argv: Optional[list[str]] = None) -> int:
    from llm_tiers.preview import stack_file

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", required=True)
    p.add_argument("--results", required=True, type=Path, help="a copy of the results volume's <runId> folder")
    p.add_argument("--run-id", required=True)
    p.add_argument("--date", type=datetime.date.fromisoformat,
                   default=datetime.datetime.now(datetime.timezone.utc).date())
    a = p.parse_args(argv)
    project = stack_file.project_name()
    raw = stack_file.read_stack_file(stack_file.stack_dir(stack_file.PROJECT_DIR) / f"Pulumi.{a.stack}.yaml")
    cfg = parse({k.split(":", 1)[1]: v for k, v in raw.items()
                 if k.startswith(f"{project}:") and not (isinstance(v, dict) and set(v) == {"secure"})})
    doc = document(cfg, a.results, a.run_id, a.date)
    if not doc["tiers"]:
        print(f"no result files for any tier of {a.stack} in {a.results}", file=sys.stderr)
        return 1
    sys.stdout.write(yaml.safe_dump(doc, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
