"""The promotion gate: may a tier's Service move to its candidate release?

Runs in the gate Job (components/llm_tiers/evaluation/manifests.py), standard library only, with the results volume
mounted read-only. It waits (``--wait-seconds``) for three files of the same ``benchmark.runId``:

* the candidate's and the live release's eval summaries (scripts/eval_set.py): every score the live release has,
  the candidate must have too, and it must be >= live - ``--tolerance``;
* the candidate's GuideLLM report (vllm-project/guidellm v0.7.3, src/guidellm/benchmark/schemas/report.py
  ``GenerativeBenchmarksReport``: ``benchmarks[]``, each with ``metrics.time_to_first_token_ms`` and
  ``metrics.output_tokens_per_second``, status distributions whose ``successful`` side carries ``mean`` and
  ``percentiles.p95``: src/guidellm/benchmark/schemas/metrics.py ``GenerativeMetrics``,
  src/guidellm/schemas/statistics.py): at least one strategy of the sweep must have its successful requests'
  TTFT P95 within ``--ttft-p95-seconds``, and, with ``--min-output-tokens-per-second``, the best of those must
  reach the floor.

Missing, unreadable or partial results fail (closed). Exit 0 passes, 1 fails; every check is printed, and the
failure reason also goes to the container's termination message (``kubectl describe pod`` shows it).
``--override REASON`` prints the same checks and passes: a deliberate, logged promotion (docs/runbook.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional


@dataclass
class Decision:
    passed: bool = True
    checks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, text: str) -> None:
        self.checks.append(f"{'ok  ' if ok else 'FAIL'} {text}")
        if not ok:
            self.passed = False
            self.failures.append(text)


def _load(path: Path) -> Optional[Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _successful(metric: Any) -> Optional[dict]:
    if isinstance(metric, dict) and isinstance(metric.get("successful"), dict):
        return metric["successful"]
    return None


def strategies(report: Any) -> list[dict[str, Any]]:
    """(name, successful requests, TTFT P95 s, mean output tokens/s) per benchmark of a GuideLLM report; raises
    ValueError when the report has none or a benchmark lacks the numbers."""
    if not isinstance(report, dict) or not isinstance(report.get("benchmarks"), list) or not report["benchmarks"]:
        raise ValueError("the report has no benchmarks (partial or failed run)")
    out = []
    for i, b in enumerate(report["benchmarks"]):
        m = b.get("metrics") if isinstance(b, dict) else None
        ttft = _successful((m or {}).get("time_to_first_token_ms"))
        tps = _successful((m or {}).get("output_tokens_per_second"))
        totals = (m or {}).get("request_totals") or {}
        strategy = (((b.get("config") or {}).get("strategy") or {}) if isinstance(b, dict) else {})
        name = f"{i}:{strategy.get('type_') or strategy.get('type') or 'strategy'}"
        try:
            p95 = float(ttft["percentiles"]["p95"]) / 1000.0  # type: ignore[index]
            mean_tps = float(tps["mean"])  # type: ignore[index]
        except (TypeError, KeyError, ValueError):
            raise ValueError(f"benchmark {name} lacks successful TTFT P95 or output tokens/s") from None
        out.append({"name": name, "successful": int(totals.get("successful", ttft.get("count", 0)) or 0),
                    "ttftP95Seconds": p95, "outputTokensPerSecond": mean_tps})
    return out


def decide(candidate_eval: Any, live_eval: Any, report: Any, tolerance: float, ttft_p95_seconds: float,
           min_output_tps: Optional[float]) -> Decision:
    """The gate's decision on loaded result files (None for a missing or unreadable one)."""
    d = Decision()
    for name, summary in (("candidate", candidate_eval), ("live", live_eval)):
        if not isinstance(summary, dict):
            d.check(False, f"{name} eval summary missing or unreadable")
        elif not summary.get("complete"):
            d.check(False, f"{name} eval is partial: {'; '.join(summary.get('missing') or ['not complete'])}")
    if isinstance(candidate_eval, dict) and isinstance(live_eval, dict):
        live_scores = live_eval.get("scores") or {}
        cand_scores = candidate_eval.get("scores") or {}
        if not live_scores:
            d.check(False, "live release has no scores to compare with")
        for key in sorted(live_scores):
            live = float(live_scores[key])
            if key not in cand_scores:
                d.check(False, f"quality {key}: candidate has no score (live {live:.4f})")
                continue
            cand = float(cand_scores[key])
            d.check(cand >= live - tolerance - 1e-12,
                    f"quality {key}: candidate {cand:.4f} vs live {live:.4f} (must be >= {live - tolerance:.4f}, "
                    f"tolerance {tolerance})")
    if report is None:
        d.check(False, "candidate benchmark report missing or unreadable")
        return d
    try:
        rows = strategies(report)
    except ValueError as exc:
        d.check(False, f"candidate benchmark: {exc}")
        return d
    rows = [r for r in rows if r["successful"] > 0]
    if not rows:
        d.check(False, "candidate benchmark: no strategy has a successful request")
        return d
    within = [r for r in rows if r["ttftP95Seconds"] <= ttft_p95_seconds]
    lightest = min(rows, key=lambda r: r["ttftP95Seconds"])
    d.check(bool(within), f"TTFT P95: {lightest['ttftP95Seconds']:.3f} s at best ({lightest['name']}) vs "
                          f"slo.ttftP95Seconds {ttft_p95_seconds}" if not within else
            f"TTFT P95 within slo.ttftP95Seconds {ttft_p95_seconds} in {len(within)} of {len(rows)} strategies")
    if within and min_output_tps is not None:
        best = max(within, key=lambda r: r["outputTokensPerSecond"])
        d.check(best["outputTokensPerSecond"] >= min_output_tps,
                f"output tokens/s within the TTFT objective: {best['outputTokensPerSecond']:.1f} at best "
                f"({best['name']}) vs gate.minOutputTokensPerSecond {min_output_tps}")
    return d


def wait_for(paths: list[Path], seconds: float, interval: float = 15.0) -> list[Path]:
    """Wait until every path exists; the ones still missing at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        missing = [p for p in paths if not p.is_file()]
        if not missing or time.monotonic() >= deadline:
            return missing
        time.sleep(interval)


def _termination_message(text: str) -> None:
    try:
        Path("/dev/termination-log").write_text(text[:4000])
    except OSError:
        pass


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tier", required=True)
    p.add_argument("--candidate-eval", required=True, type=Path)
    p.add_argument("--live-eval", required=True, type=Path)
    p.add_argument("--candidate-benchmark", required=True, type=Path)
    p.add_argument("--tolerance", required=True, type=float)
    p.add_argument("--ttft-p95-seconds", required=True, type=float)
    p.add_argument("--min-output-tokens-per-second", type=float)
    p.add_argument("--wait-seconds", type=float, default=0)
    p.add_argument("--poll-seconds", type=float, default=15)
    p.add_argument("--override")
    a = p.parse_args(argv)

    paths = [a.candidate_eval, a.live_eval, a.candidate_benchmark]
    missing = wait_for(paths, a.wait_seconds, a.poll_seconds)
    for path in missing:
        print(f"gate {a.tier}: still missing after {a.wait_seconds:.0f} s: {path}")
    d = decide(_load(a.candidate_eval), _load(a.live_eval), _load(a.candidate_benchmark), a.tolerance,
               a.ttft_p95_seconds, a.min_output_tokens_per_second)
    print(f"promotion gate for tier {a.tier} (candidate):")
    for line in d.checks:
        print(f"  {line}")
    if d.passed:
        print(f"GATE PASS: {a.tier} may serve its candidate")
        return 0
    reason = "; ".join(d.failures)
    if a.override:
        print(f"GATE OVERRIDDEN ({a.override}): would have failed: {reason}")
        return 0
    print(f"GATE FAIL: {a.tier} stays on its live release: {reason}")
    _termination_message(f"GATE FAIL: {reason}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
