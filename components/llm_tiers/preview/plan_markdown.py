"""``build/<stack>/plan.md`` (pure): the stack's cost summary (``bill_markdown.bill_markdown``), then the per-tier
table from the ``tierPlan`` output (``llm_tiers.stack.plan``) or, for a program that exports none, from the rendered
Deployments, the time a scale-to-zero tier takes to wake, the inventory, the system node group and the preview's
warnings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from llm_tiers.cost.bill_markdown import bill_markdown
from llm_tiers.gateway import guard
from llm_tiers.cost.throughput import markdown as token_cost_markdown
from llm_tiers.evaluation.report import markdown as promotion_gate_markdown
from llm_tiers.tiers.engine_settings import flag_values
from llm_tiers.gpu.catalog import PRICE_SOURCE


# Column order of plan.md.
COLUMNS = ("tier", "serving", "model", "revision", "engine", "gpuClass", "instanceTypes", "gpusPerReplica",
           "maxInputTokens", "maxTotalTokens", "maxOutputTokens", "weightsGiB", "kvBytesPerToken", "kvTokenCapacity",
           "concurrentMaxSequences", "fits", "usdPerReplicaHour", "replicasMin", "replicasMax", "otherRelease")


def capacity_markdown(capacity: Optional[dict[str, Any]]) -> list[str]:
    """plan.md's system node group section, from ``system_capacity.report`` (the ``systemCapacity`` output)."""
    if not capacity:
        return []
    per, req, head = capacity["allocatablePerNode"], capacity["requested"], capacity["headroomPercent"]
    cpu = lambda m: f"{m / 1000:.2f}"  # noqa: E731
    gib = lambda mi: f"{mi / 1024:.1f}"  # noqa: E731
    lines = [
        "## System node group", "",
        f"{capacity['nodes']} x {capacity['instanceType']} (the tightest listed type): "
        + ("fits" if capacity["fits"] else "DOES NOT FIT")
        + f"; requested {cpu(req['cpuM'])} of {cpu(per['cpuM'] * capacity['nodes'])} vCPU, {gib(req['memoryMi'])} of "
        f"{gib(per['memoryMi'] * capacity['nodes'])} GiB, {req['pods']} pods; headroom {head['cpu']}% CPU, "
        f"{head['memory']}% memory. Allocatable per node after kube-reserved and the eviction threshold "
        "(components/llm_tiers/cluster/system_capacity.py); pods placed first-fit, largest first (a "
        "feasibility check: the "
        "scheduler spreads them more evenly).", "",
        "| node | CPU requested / allocatable (vCPU) | memory requested / allocatable (GiB) | pods / max |",
        "|---|---|---|---|",
    ]
    for n in capacity["perNode"]:
        lines.append(f"| {n['node']} | {cpu(n['cpuM'])} / {cpu(per['cpuM'])} | {gib(n['memoryMi'])} / "
                     f"{gib(per['memoryMi'])} | {n['pods']} / {per['pods']} |")
    if capacity.get("unplaced"):
        lines.append(f"\nNo room for: {', '.join(capacity['unplaced'])}")
    sync = capacity.get("weightSync") or {}
    if sync.get("jobs"):
        lines.append(f"\nThe {sync['jobs']} weight-sync Job(s) are not on these nodes: they run on the "
                     f"Karpenter NodePool "
                     f"`{sync['nodePool']}` (CPU nodes launched for them and removed once empty), requesting "
                     f"{cpu(sync['requested']['cpuM'])} vCPU and {gib(sync['requested']['memoryMi'])} GiB together; "
                     f"its limit, {sync['cpuLimit']} vCPU, lets all of them run at once.")
    return lines + [""]


def _minutes(seconds: int) -> str:
    return f"{seconds}s" if seconds < 120 else f"{round(seconds / 60)} min"


def plan_markdown(stack: str, rows: list[dict[str, Any]], warnings: Sequence[str] = (),
                  capacity: Optional[dict[str, Any]] = None,
                  scale_from_zero: Sequence[dict[str, Any]] = (),
                  bill: Optional[dict[str, Any]] = None,
                  inventory: Sequence[str] = (),
                  token_cost: Optional[dict[str, Any]] = None,
                  first_deploy: Optional[dict[str, int]] = None,
                  operator_access: Optional[dict[str, Any]] = None,
                  promotion_gate: Optional[list[dict[str, Any]]] = None) -> str:
    """plan.md: the cost summary (from the ``bill`` output), the tier table, the time a scale-to-zero tier takes
    to answer its first request (from the rollout plan), the system node group's capacity, the inventory
    (Markdown lines from ``llm_tiers.preview.inventory``), then the preview's warnings. The cost per output token (from
    the ``tokenCost`` output, ``throughput.markdown``) follows the tier table."""
    lines = [f"# Plan: {stack}", "", *bill_markdown(bill), "## Tiers", "",
             "Capacity per replica; `usdPerReplicaHour` is the on-demand price of the whole node a replica gets, "
             f"root volume included ({PRICE_SOURCE}): the cost summary's $/node-hour. `maxOutputTokens` is the "
             "largest `max_tokens` the gateway lets through (the tier's `maxOutputTokens`, else maxTotalTokens − "
             "maxInputTokens).", ""]
    tail: list[str] = list(token_cost_markdown(token_cost))
    if first_deploy:
        tail += ["## First `pulumi up`", "",
                 f"The longest chain of creates takes about {_minutes(first_deploy['typicalSeconds'])} with typical "
                 f"durations, at most {_minutes(first_deploy['upperSeconds'])} at every estimate's upper bound "
                 "(rollout.md: each step's estimate, budget and the source of its figures).", ""]
    tail += promotion_gate_markdown(promotion_gate)
    if scale_from_zero:
        tail += ["## Scale to zero: first token after idle", "",
                 "A request to a tier at zero replicas waits for Prometheus to scrape the gateway, KEDA to poll, "
                 "Karpenter to launch a GPU node (not on warm capacity: `gpuClasses.<class>.warmNodes`), the image "
                 "pull (not on warm capacity either), the weight load and the warm-up. Typical, and the upper bound "
                 "of the estimate; budgets and the source of every figure are in rollout.md:", ""]
        for z in scale_from_zero:
            cold, warm = z["coldNode"], z.get("warmNode")
            source = z.get("weightsFrom") or "efs"
            line = (f"- {z['deployment']} ({z['engine']} on {z['gpuClass']}, weights from {source}): fresh node about "
                    f"{_minutes(cold['typicalSeconds'])} (≤ {_minutes(cold['upperSeconds'])}; budget "
                    f"{_minutes(cold['budgetSeconds'])}"
                    f"{'; the image pulled by SOCI parallel pull' if z.get('imagePull') == 'soci-parallel' else ''})")
            if warm:
                line += (f"; onto warm capacity ({z['warmNodes']} node(s)) about {_minutes(warm['typicalSeconds'])} "
                         f"(≤ {_minutes(warm['upperSeconds'])}; budget {_minutes(warm['budgetSeconds'])})")
            if z.get("fallback"):
                from llm_tiers.preview.rollout_markdown import fallback_sentence  # noqa: PLC0415

                line += f"; {fallback_sentence(z['fallback'])}"
            tail.append(line)
        tail += [""]
    from llm_tiers.cluster.operator_access import markdown as access_markdown  # noqa: PLC0415

    tail += access_markdown(operator_access)
    tail += capacity_markdown(capacity)
    tail += list(inventory)
    if warnings:
        tail += ["## Warnings", "", *(f"- {w}" for w in warnings), ""]
    if rows and rows[0].get("source") == "recorded":
        lines.append("This program does not export `tierPlan`; the rows below are read from the Deployments it "
                     "rendered (labels `llm-tiers.io/tier`, `llm-tiers.io/release`, the engine's arguments and the "
                     "gateway guard's caps). Capacity columns need the stack program's planner.")
        lines.append("")
        rows = [{k: v for k, v in r.items() if k != "source"} for r in rows]
    if not rows:
        return "\n".join(lines + ["No tiers configured.", ""] + tail)
    columns = [c for c in COLUMNS if c in rows[0]] + [c for c in rows[0] if c not in COLUMNS]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in rows:
        cells = [", ".join(map(str, v)) if isinstance(v, list) else str(v) for v in (row[c] for c in columns)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines + tail)


def _flag(args: list[str], name: str) -> Optional[str]:
    """The first value of ``name`` on a rendered command line."""
    return next((v for _, v in flag_values(args, [name])), None)


def recorded_tier_rows(objects: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tier rows read from rendered Kubernetes objects, for a composed program that exports no ``tierPlan``:
    every Deployment labelled ``llm-tiers.io/tier`` (its release, engine, model, revision, GPUs, token limits
    from the engine's arguments, replicas from its ScaledObject) and the output cap the gateway's guard
    enforces (``caps`` in its OPA data, gateway/guard.py)."""
    import json

    caps: dict[str, int] = {}
    scaled: dict[tuple[str, str], tuple[Any, Any]] = {}
    for o in objects:
        meta = o.get("metadata") or {}
        if o.get("kind") == "ConfigMap" and meta.get("name") == guard.NAME and guard.DATA_KEY in (o.get("data") or {}):
            try:  # the request guard's OPA data (gateway/guard.py guard_data)
                caps.update((json.loads(o["data"][guard.DATA_KEY]).get(guard.DATA_ROOT) or {}).get("caps") or {})
            except (ValueError, AttributeError):
                pass
        if o.get("kind") == "ScaledObject":
            spec = o.get("spec") or {}
            scaled[(meta.get("namespace", ""), (spec.get("scaleTargetRef") or {}).get("name", ""))] = (
                spec.get("minReplicaCount", 1), spec.get("maxReplicaCount", "—"))
    rows = []
    for o in objects:
        meta = o.get("metadata") or {}
        labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
        if o.get("kind") != "Deployment" or "llm-tiers.io/tier" not in labels:
            continue
        pod = ((o.get("spec") or {}).get("template") or {}).get("spec") or {}
        c: dict[str, Any] = next(iter(pod.get("containers") or []), {})
        args = [str(a) for a in c.get("args") or []]
        total = (_flag(args, "--max-total-tokens") or _flag(args, "--max-model-len")
                 or notes.get("llm-tiers.io/max-context"))
        tier = labels["llm-tiers.io/tier"]
        lo, hi = scaled.get((meta.get("namespace", ""), meta.get("name", "")),
                            ((o.get("spec") or {}).get("replicas", 1),) * 2)
        rows.append({
            "source": "recorded", "tier": tier, "serving": labels.get("llm-tiers.io/release", "—"),
            "model": notes.get("llm-tiers.io/model", "—"), "revision": notes.get("llm-tiers.io/revision", "—"),
            "engine": labels.get("llm-tiers.io/engine", c.get("name", "—")),
            "gpuClass": (pod.get("nodeSelector") or {}).get("llm-tiers.io/gpu-class", "—"),
            "gpusPerReplica": ((c.get("resources") or {}).get("limits") or {}).get("nvidia.com/gpu", "—"),
            "maxInputTokens": _flag(args, "--max-input-tokens") or "—", "maxTotalTokens": total or "—",
            "maxOutputTokens": caps.get(tier, "—"), "replicasMin": lo, "replicasMax": hi,
        })
    return rows
