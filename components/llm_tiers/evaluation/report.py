"""What the promotion gate checks per tier, and the last committed results (pure): the ``promotionGate`` stack
output and plan.md's "Promotion gate" section. The gate Job itself decides on the run's result files
(scripts/gate.py); this shows the same rule on a stack's committed measurements (cost/measurements.py), so a
reviewer sees before ``pulumi up`` whether the switch would pass on the last numbers."""

from __future__ import annotations

from typing import Any, Optional

from llm_tiers.config.schema import StackConfig, release_engine
from llm_tiers.cost import measurements as ms
from llm_tiers.evaluation import manifests as em


def _verdict(t: Any, live: Optional[ms.ReleaseMeasurement], cand: Optional[ms.ReleaseMeasurement]) -> list[str]:
    """The failing checks on committed numbers (empty: would pass); ``['unknown: ...']`` when a number is missing."""
    if live is None or cand is None:
        return ["unknown: no committed results for both releases"]
    fails = []
    if not live.scores:
        fails.append("unknown: the live release has no committed scores")
    for key, value in sorted(live.scores.items()):
        c = cand.scores.get(key)
        if c is None:
            fails.append(f"quality {key}: candidate has no score")
        elif c < value - t.gate.tolerance - 1e-12:
            fails.append(f"quality {key}: candidate {c:.4f} < live {value:.4f} - {t.gate.tolerance}")
    if cand.ttft_p95_seconds is None:
        fails.append("unknown: no candidate TTFT P95")
    elif cand.ttft_p95_seconds > t.slo.ttft_p95_seconds:
        fails.append(f"TTFT P95 {cand.ttft_p95_seconds} s > slo.ttftP95Seconds {t.slo.ttft_p95_seconds}")
    floor = t.gate.min_output_tokens_per_second
    if floor is not None:
        if cand.output_tokens_per_second is None:
            fails.append("unknown: no candidate output tokens/s")
        elif cand.output_tokens_per_second < floor:
            fails.append(f"output tokens/s {cand.output_tokens_per_second:g} < gate.minOutputTokensPerSecond {floor:g}")
    return fails


def gate_plan(cfg: StackConfig, measured: Optional[ms.Measurements]) -> list[dict[str, Any]]:
    """Per tier with a candidate and ``eval``: whether the switch is gated now, what the gate checks, the last
    committed results and what the gate would say on them."""
    out = []
    for t in cfg.tiers:
        if t.candidate is None or t.eval is None:
            continue
        live, cand = ms.release(measured, t.name, "live"), ms.release(measured, t.name, "candidate")
        fails = _verdict(t, live, cand)
        unknown = any(f.startswith("unknown") for f in fails)
        out.append({
            "tier": t.name, "gated": em.gated(t), "runId": cfg.benchmark.run_id,
            "engines": {"live": release_engine(t, "live"), "candidate": release_engine(t, "candidate")},
            "checks": {"tolerance": t.gate.tolerance, "ttftP95Seconds": t.slo.ttft_p95_seconds,
                       "minOutputTokensPerSecond": t.gate.min_output_tokens_per_second,
                       "scores": "every score the live release has"},
            "override": t.gate.override,
            "lastResults": None if measured is None or (live is None and cand is None) else {
                "run": measured.label,
                **{rel: m.model_dump(by_alias=True, exclude_none=True) for rel, m in (("live", live),
                                                                                      ("candidate", cand))
                   if m is not None}},
            "wouldPass": None if unknown else not fails,
            "failing": fails,
        })
    return out


def markdown(rows: Optional[list[dict[str, Any]]]) -> list[str]:
    if not rows:
        return []
    lines = ["## Promotion gate", "",
             "Per tier with a candidate and `eval` (docs/components/eval.md): what the gate Job checks before the "
             "Service moves to the candidate, and the last committed results (`cost.measurementsFile`).", ""]
    for r in rows:
        c = r["checks"]
        checks = (f"every live score within {c['tolerance']} (candidate >= live - {c['tolerance']}); TTFT P95 <= "
                  f"{c['ttftP95Seconds']} s" + (f"; output tokens/s >= {c['minOutputTokensPerSecond']:g}"
                                               if c["minOutputTokensPerSecond"] is not None else ""))
        state = ("**gated now** (`serve: candidate`: the Service waits for Job "
                 f"`{r['tier']}-gate-{r['runId']}`)" if r["gated"] else "not switching (`serve: live`)")
        lines.append(f"- {r['tier']} ({r['engines']['live']} live, {r['engines']['candidate']} candidate): {state}. "
                     f"Checks: {checks}." + (f" **Override set**: {r['override']}." if r["override"] else ""))
        res = r["lastResults"]
        if res is None:
            lines.append("  Last results: none committed (docs/components/cost.md, \"Measured numbers\").")
            continue
        for rel in ("live", "candidate"):
            m = res.get(rel)
            if m is None:
                lines.append(f"  - {rel}: no results")
                continue
            scores = ", ".join(f"{k} {v:.3f}" for k, v in sorted(m.get("scores", {}).items())) or "no scores"
            lines.append(f"  - {rel} ({res['run']}, measured): {scores}; TTFT P95 "
                         f"{m.get('ttftP95Seconds', '—')} s; {m.get('outputTokensPerSecond', '—')} output tokens/s")
        verdict = ("would pass" if r["wouldPass"] else "would fail: " + "; ".join(r["failing"])
                   if r["wouldPass"] is False else "cannot tell: " + "; ".join(r["failing"]))
        lines.append(f"  On these numbers the gate {verdict}.")
    return lines + [""]
