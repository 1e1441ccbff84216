"""Evaluation's Jobs on the system nodes (pure), as the system capacity check counts them."""

from __future__ import annotations

from collections.abc import Sequence

from llm_tiers.cluster.system_capacity import EVAL, EVAL_GATE, Workload
from llm_tiers.config.tiers import TierConfig


def workloads(evaluated: Sequence[TierConfig]) -> list[Workload]:
    """An eval Job per release of every tier with ``eval`` (and benchmarked), and a gate Job per tier whose Service
    is switching to its candidate."""
    w = []
    if evaluated:
        jobs = sum(2 if t.candidate is not None else 1 for t in evaluated)
        w.append(Workload("eval", "manifest", (EVAL,), jobs, kind="Job"))
    gates = [t for t in evaluated if t.candidate is not None and t.serve == "candidate"]
    if gates:
        w.append(Workload("eval-gate", "manifest", (EVAL_GATE,), len(gates), kind="Job"))
    return w
