"""rollout.md: the rollout plan (rollout.py) as Markdown, with its Mermaid Gantt chart and component graph."""

from __future__ import annotations

from typing import Any


from llm_tiers.preview.rollout import Plan, assumptions, minutes


def _estimate(typical: int, upper: int) -> str:
    return minutes(upper) if typical == upper else f"{minutes(typical)} (≤ {minutes(upper)})"


def fallback_sentence(fb: dict[str, Any]) -> str:
    """What a client of a tier with a fallback sees while the tier is at zero."""
    return (f"with its fallback ({fb['host']}, model `{fb['model']}`) the client sees no cold start: while the tier "
            "is at zero, waking or down, its requests are answered by the fallback (a refused connection to the tier "
            "costs milliseconds before the retry), billed per token at the provider's price "
            "(`llm:tenant_hourly_usd{via=\"fallback\"}`). The times below are how long until the tier itself answers "
            "again.")


def _steps_table(title: str, b: dict[str, Any]) -> list[str]:
    lines = ["", title, "", "| step | typical | upper bound | budget | source of the estimate |",
             "|---|---|---|---|---|"]
    lines += [f"| {s['step']} | {minutes(s['typical_seconds'])} | {minutes(s['upper_seconds'])} | "
              f"{minutes(s['budget_seconds'])} | {s['source']} |" for s in b["steps"]]
    lines.append(f"| **total** | **{minutes(b['typicalSeconds'])}** | **{minutes(b['upperSeconds'])}** | "
                 f"{minutes(b['budgetSeconds'])} | |")
    return lines


def scale_out_markdown(scale_out: list[dict[str, Any]]) -> list[str]:
    """Per always-on tier: one more replica (a scale-out, or a rollout's surge) on a fresh node and on warm capacity,
    the latter marked when the class keeps no warm node (then it is what `warmNodes: 1` would give)."""
    if not scale_out:
        return []
    lines = ["", "## One more replica: a scale-out or a rollout's surge", "",
             "From the autoscaler's decision to a ready replica (no trigger delay: the tier is up). Warm capacity is "
             "a node of the class held by a placeholder with the engine image on it (`gpuClasses.<class>.warmNodes`; "
             "its cost is in plan.md's bill); where a class keeps none, the column says what one would give.", "",
             "| deployment | engine | weights from | onto a fresh node | onto warm capacity |", "|---|---|---|---|---|"]
    for z in scale_out:
        c, w = z["coldNode"], z["warmNode"]
        held = (f"{z['warmNodes']} warm node(s)" if z["warmNodes"]
                else f"not configured: with `gpuClasses.{z['gpuClass']}.warmNodes: 1`")
        lines.append(f"| {z['deployment']} | {z['engine']} | {z['weightsFrom']} | {minutes(c['typicalSeconds'])} "
                     f"typical, ≤ {minutes(c['upperSeconds'])} | {minutes(w['typicalSeconds'])} typical, ≤ "
                     f"{minutes(w['upperSeconds'])} ({held}) |")
    for z in scale_out:
        lines += _steps_table(f"### {z['deployment']} ({z['engine']}, weights from {z['weightsFrom']}, class "
                              f"{z['gpuClass']}: {', '.join(z['instanceTypes'])}) onto warm capacity: "
                              f"{minutes(z['warmNode']['typicalSeconds'])} typical, ≤ "
                              f"{minutes(z['warmNode']['upperSeconds'])}", z["warmNode"])
    return lines


def scale_from_zero_markdown(scale_from_zero: list[dict[str, Any]]) -> list[str]:
    """Per scale-to-zero tier: each step's estimate (typical, upper bound), its budget and the estimate's source,
    on a fresh node and, where the class keeps warm nodes, on warm capacity."""
    lines: list[str] = []
    for z in scale_from_zero:
        if z.get("fallback"):
            lines += ["", f"{z['deployment']}: {fallback_sentence(z['fallback'])}"]
        for where, b in (("a fresh GPU node", z["coldNode"]), (f"warm capacity ({z['warmNodes']} node(s))",
                                                               z.get("warmNode"))):
            if not b:
                continue
            lines += _steps_table(f"### {z['deployment']} ({z['engine']}, weights from {z.get('weightsFrom', 'efs')}, "
                                  f"class {z['gpuClass']}: {', '.join(z['instanceTypes'])}) onto {where}: "
                                  f"{minutes(b['typicalSeconds'])} typical, ≤ {minutes(b['upperSeconds'])}", b)
    return lines
def first_deploy_gantt(p: Plan) -> str:
    """The first ``pulumi up``'s critical path as a Mermaid Gantt chart."""
    from llm_tiers.preview import diagrams

    return diagrams.gantt(f"{p.stack} first pulumi up, critical path {minutes(p.critical_path_seconds)}",
                          [(p.steps[u].label, p.steps[u].awaits.estimate_seconds) for u in p.critical_path])


def component_graph(p: Plan) -> str:
    """The stack's components and their edges as a Mermaid flowchart."""
    from llm_tiers.preview import diagrams

    return diagrams.graph(p.components, p.component_edges, direction="TD")


def to_markdown(p: Plan) -> str:
    a = assumptions()
    lines = [
        f"# Rollout plan: {p.stack}",
        "",
        "What the real Pulumi engine does with this program (the render's mock engine answers at once). Created in "
        "waves: a resource starts when everything it depends on is done (its `dependencies`, "
        "`propertyDependencies` and provider, as the SDK sends them); the engine then waits for it as its provider's "
        "await rule says, up to the budget, and fails the update past it. Deleted in reverse.",
        "",
        "Estimates (components/llm_tiers/timing.py; typical, and the upper bound every budget is checked against): "
        f"Hub download {a['hubDownloadBytesPerSecond']['typical'] / 1e6:.0f} MB/s "
        f"(≥ {a['hubDownloadBytesPerSecond']['slow'] / 1e6:.0f}) per sync Job, S3 mirror to a node "
        + ", ".join(f"{k}-family {v['typical'] / 1e9:.2f} GB/s (≥ {v['slow'] / 1e9:.2f})"
                    for k, v in a["s3ReadBytesPerSecond"].items())
        + f", NVMe read {a['nvmeReadBytesPerSecond']['typical'] / 1e9:.1f} GB/s, safetensors loader "
        f"{a['safetensorsLoaderBytesPerSecond']['typical'] / 1e9:.2f} GB/s per GPU, EFS read "
        f"{a['efsReadBytesPerSecond']['typical'] / 1e6:.0f} MB/s (≥ {a['efsReadBytesPerSecond']['slow'] / 1e6:.0f}) "
        f"per replica, image pull {a['imagePullBytesPerSecond']['typical'] / 1e6:.0f} MB/s "
        f"(≥ {a['imagePullBytesPerSecond']['slow'] / 1e6:.0f}), GPU node launch "
        + ", ".join(f"{k}-family {minutes(int(v['typical']))} (≤ {minutes(int(v['slow']))})"
                    for k, v in a["gpuNodeLaunchSeconds"].items())
        + ", engine warm-up " + ", ".join(f"{k} {minutes(int(v['typical']))} (≤ {minutes(int(v['slow']))})"
                                        for k, v in a["engineWarmupSeconds"].items())
        + ". rollout.json's `assumptions` carries the source of each.",
        "",
        f"## First `pulumi up`: critical path {minutes(p.critical_path_seconds)}",
        "",
        f"Upper bound {minutes(p.critical_path_seconds)}; with typical durations the longest chain takes "
        f"{minutes(p.critical_path_typical_seconds)}.",
        "",
        "| # | resource | waits for | estimate (typical, ≤ upper) | budget | done at (upper) |",
        "|---|---|---|---|---|---|",
    ]
    for i, urn in enumerate(p.critical_path, 1):
        s = p.steps[urn]
        lines.append(f"| {i} | {s.label} | {s.awaits.condition} | "
                     f"{_estimate(s.awaits.typical, s.awaits.estimate_seconds)} | "
                     f"{minutes(s.awaits.budget_seconds)} | {minutes(s.finish_seconds)} |")
    lines += ["", "```mermaid", first_deploy_gantt(p).rstrip(), "```"]
    if p.scale_from_zero:
        lines += ["", "## Scale from zero: a request at zero replicas until its first token"]
        lines += scale_from_zero_markdown(p.scale_from_zero)
    lines += scale_out_markdown(p.scale_out)
    awaited = [s for s in p.steps.values() if s.awaits.budget_seconds is not None]
    lines += ["", f"## Awaits ({len(awaited)} of {len(p.steps)} resources are waited for)", "",
              "| resource | waits for | estimate | budget | rule |", "|---|---|---|---|---|"]
    for s in sorted(awaited, key=lambda s: (-s.awaits.estimate_seconds, s.label)):
        lines.append(f"| {s.label} | {s.awaits.condition} | {minutes(s.awaits.estimate_seconds)} | "
                     f"{minutes(s.awaits.budget_seconds)} | {s.awaits.source} |")
    lines += ["", "## Create waves", ""]
    for i, wave in enumerate(p.waves()):
        lines.append(f"{i}. " + ", ".join(s.label for s in wave))
    if p.components:
        lines += ["", "## Components and their edges", "",
                  "The program's components and which waits for which (an arrow: the one it points to starts "
                  "after; implied arrows left out), from the same captured dependencies as the waves.", "",
                  "```mermaid", component_graph(p).rstrip(), "```"]
    protected = sorted(s.label for s in p.steps.values() if s.protect or s.retain_on_delete)
    lines += ["", "## Delete order (`pulumi destroy`)", "",
              "Each wave starts when the one before it is gone; Kubernetes objects are deleted with Foreground "
              "propagation and awaited until gone (finalizers included)." +
              (f" Protected (destroy stops until `pulumi state unprotect`): {', '.join(protected)}."
               if protected else " Nothing is protected in this stack."), ""]
    for i, wave in enumerate(p.delete_waves()):
        lines.append(f"{i}. " + ", ".join(s.label for s in wave))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- references
