"""The per-tier plan that ``build/<stack>/plan.md`` shows (pure).

Until the capacity planner lands (model tiers issue) it carries what the config fixes: model, GPU class,
GPUs per replica, token limits and replica bounds.
"""

from __future__ import annotations

from typing import Any

from .config import StackConfig


# Column order of plan.md.
COLUMNS = ("tier", "model", "revision", "gpuClass", "instanceTypes", "gpusPerReplica", "maxInputTokens",
           "maxTotalTokens", "maxOutputTokens", "replicasMin", "replicasMax", "serving")


def tier_plan(cfg: StackConfig) -> list[dict[str, Any]]:
    rows = []
    for t in cfg.tiers:
        rows.append({
            "tier": t.name,
            "model": t.model_id,
            "revision": t.revision or "(from models lock)",
            "gpuClass": t.gpu_class,
            "instanceTypes": list(cfg.gpu_classes[t.gpu_class].instance_types),
            "gpusPerReplica": t.gpus_per_replica,
            "maxInputTokens": t.max_input_tokens,
            "maxTotalTokens": t.max_total_tokens,
            "maxOutputTokens": t.max_total_tokens - t.max_input_tokens,
            "replicasMin": t.replicas.min,
            "replicasMax": t.replicas.max,
            "serving": t.serve,
        })
    return rows


def plan_markdown(stack: str, rows: list[dict[str, Any]]) -> str:
    """Render plan rows as the Markdown table of plan.md."""
    lines = [f"# Plan: {stack}", ""]
    if not rows:
        return "\n".join(lines + ["No tiers configured.", ""])
    columns = [c for c in COLUMNS if c in rows[0]] + [c for c in rows[0] if c not in COLUMNS]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in rows:
        cells = [", ".join(map(str, v)) if isinstance(v, list) else str(v) for v in (row[c] for c in columns)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)
