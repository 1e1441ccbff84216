"""The stack's tier plan (pure): per tier, the serving release, its capacity and its price per replica-hour, as the
``tierPlan`` output and the Observability component's prices carry them. plan.md renders it
(``llm_tiers.preview.plan_markdown``).
"""

from __future__ import annotations

from typing import Any, Optional

from llm_tiers.cost import bill
from llm_tiers.gateway import guard
from llm_tiers.tiers.capacity import GIB, TierPlan
from llm_tiers.config.schema import StackConfig, release_engine


def _release(t, name: str, revisions: dict[str, str]) -> tuple[str, str]:
    """(model, revision) of a tier's release: its pin, else the locked revision."""
    if name == "candidate" and t.candidate is not None:
        model = t.candidate.model_id or t.model_id
        pin = t.candidate.revision or (t.revision if model == t.model_id else None)
    else:
        model, pin = t.model_id, t.revision
    return model, pin or revisions.get(model, "(not locked yet)")


def tier_plan(cfg: StackConfig, plans: Optional[dict[tuple[int, str], TierPlan]] = None,
              revisions: Optional[dict[str, str]] = None) -> list[dict[str, Any]]:
    """One row per tier, describing the release that serves (``serve``): its model, revision, engine (the
    serving release's: a candidate may run the other engine) and capacity, planned with that engine's memory
    math; ``otherRelease`` names the release beside it during a blue/green swap, with its engine."""
    plans, revisions = plans or {}, revisions or {}
    node_prices = {(line.tier, line.release): line.node_hourly for line in bill.tier_lines(cfg)}
    rows = []
    for i, t in enumerate(cfg.tiers):
        p = plans.get((i, t.serve))
        model, revision = _release(t, t.serve, revisions)
        other = None
        if t.candidate is not None:
            other_name = "live" if t.serve == "candidate" else "candidate"
            o_model, o_rev = _release(t, other_name, revisions)
            o_plan = plans.get((i, other_name))
            fits = ("fits" if o_plan.fits else "DOES NOT FIT") if o_plan else "not planned"
            kv = f", {o_plan.kv_token_capacity} KV tokens" if o_plan else ""
            other = (f"{other_name}: {o_model}@{o_rev[:10]} on {release_engine(t, other_name)} "
                     f"({fits}{kv}, not serving)")
        rows.append({
            "tier": t.name,
            "serving": t.serve,
            "model": model,
            "revision": revision,
            "engine": release_engine(t, t.serve),
            "gpuClass": t.gpu_class,
            "instanceTypes": list(cfg.gpu_classes[t.gpu_class].instance_types),
            "gpusPerReplica": t.gpus_per_replica,
            "maxInputTokens": t.max_input_tokens,
            "maxTotalTokens": t.max_total_tokens,
            "maxOutputTokens": guard.output_cap(t),  # what the gateway enforces (maxOutputTokens when set)
            "weightsGiB": round(p.weights_bytes_per_gpu * p.gpus / GIB, 1) if p else "—",
            "kvBytesPerToken": p.kv_bytes_per_token if p else "—",
            "kvTokenCapacity": p.kv_token_capacity if p else "—",
            "concurrentMaxSequences": p.concurrent_max_sequences if p else "—",
            "fits": ("yes" if p.fits else "NO") if p else "—",
            # The bill's price of the node a replica gets (instance + root volume): one price per replica,
            # the same in the cost summary, the cost per token and the tier_hourly_usd recording rule.
            "usdPerReplicaHour": (round(node_prices[(t.name, t.serve)], 4) if (t.name, t.serve) in node_prices
                                  else "—"),
            "replicasMin": t.replicas.min,
            "replicasMax": t.replicas.max,
            "otherRelease": other or "—",
        })
    return rows


def replica_prices(cfg: StackConfig) -> dict[str, float]:
    """Tier -> on-demand USD per replica-hour of its serving release: the bill's price of the whole node a
    replica gets, root volume included (``bill.tier_lines``; needs no models lock). The same figure as the
    cost summary's $/node-hour and plan.md's ``usdPerReplicaHour``."""
    lines = {(line.tier, line.release): line.node_hourly for line in bill.tier_lines(cfg)}
    return {t.name: round(lines[(t.name, t.serve)], 4) for t in cfg.tiers if (t.name, t.serve) in lines}
