"""The merge-effects section of the PR comment (merge_effects.py's Effects as Markdown, with the Mermaid Gantt chart of
the update's critical path)."""

from __future__ import annotations

from llm_tiers.preview.rollout import minutes
from llm_tiers.preview.merge_effects import Effects, Step


def gantt(title: str, path: list[Step]) -> str:
    """A Mermaid Gantt chart of a critical path (each step starts when the one before it is done)."""
    from llm_tiers.preview import diagrams  # noqa: PLC0415

    return diagrams.gantt(title, [(f"{s.action} {s.label}", s.seconds) for s in path])


def markdown(stack: str, e: Effects) -> list[str]:
    if e.empty:
        return [f"#### {stack}: nothing to roll, replace or await", ""]
    lines = [f"#### {stack}", ""]
    if e.replacements:
        lines += ["**Replaced** (deleted and created anew):", ""]
        for r in e.replacements:
            lines.append(f"- {'🔒 ' if r['protected'] else ''}`{r['label']}` — by {r['why']}; loses {r['loses']}; "
                         f"gap: {r['gap']}")
        lines.append("")
    if e.rolls:
        lines += ["**Deployments that roll** (pulumi-kubernetes waits for the whole rollout):", "",
                  "| Deployment | why | pods | surge | estimate | budget |", "|---|---|---|---|---|---|"]
        for r in e.rolls:
            est = r["estimate"] + (" ⚠ over budget: the update fails" if r["over"] else "")
            lines.append(f"| {r['label']} | {r['why']} | {r['pods']} | {r['surge']} | {est} | {r['budget']} |")
        lines.append("")
    if e.unrolled:
        lines += ["**Changed under running pods, no rollout** (no hash of it in the pod template):", ""]
        for u in e.unrolled:
            lines.append(f"- `{u['label']}` reads {', '.join(f'`{c}`' for c in u['config'])}: mounted files "
                         "follow within the kubelet's sync period; values read only at start (arguments, "
                         "environment) stay old until its pods restart")
        lines.append("")
    if e.jobs:
        lines += ["**Jobs that run again**:", ""]
        for j in e.jobs:
            lines.append(f"- `{j['label']}` ({j['why']}): ~{j['estimate']}, budget {j['budget']}")
        lines.append("")
    if e.helm:
        lines += ["**Helm releases upgraded** (`helm upgrade --wait`: the chart's own workloads roll as it "
                  "decides):", ""]
        for h in e.helm:
            lines.append(f"- `{h['label']}` ({h['what']}): ~{h['estimate']}, budget {h['budget']}")
        lines.append("")
    if e.stopped_at:
        lines += [f"**`pulumi up` stops at {', '.join(f'`{x}`' for x in e.stopped_at)}** (protected: the engine "
                  f"refuses to replace it). The {len(e.held)} step(s) that depend on it do not run until it is "
                  "unprotected" + (": " + ", ".join(f"`{x}`" for x in e.held[:8]) +
                                   (f" and {len(e.held) - 8} more" if len(e.held) > 8 else "") if e.held else "") +
                  ". The path below is what runs before it stops.", ""]
    if e.path and not e.total_seconds:
        lines += [f"**No awaits**: {len(e.path)} change(s), each applied as soon as the API accepts it "
                  "(nothing on this update's path is waited for).", ""]
    elif e.path:
        lines += [f"**Awaits on this update's critical path: {minutes(e.total_seconds)}** (estimates from "
                  "components/llm_tiers/timing.py via rollout.json)", "",
                  "| # | step | waits for | estimate | budget |", "|---|---|---|---|---|"]
        for i, s in enumerate(e.path, 1):
            lines.append(f"| {i} | {s.action} {s.label} | {s.condition or '—'} | {minutes(s.seconds)} | "
                         f"{minutes(s.budget)} |")
        lines.append("")
        if e.total_seconds:
            lines += ["```mermaid", gantt(f"{stack}: this update's critical path", e.path).rstrip(), "```", ""]
    if e.manual:
        lines += ["**Manual steps**:", ""] + [f"- {m}" for m in e.manual] + [""]
    return lines
