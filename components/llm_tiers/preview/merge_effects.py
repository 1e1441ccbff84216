"""What merging a pull request does to a running stack: the "What happens when you merge" part of the PR comment.

Computed from the same captured graph as rollout.md (``build/<stack>/rollout.json``, written by
components/llm_tiers/preview/rollout.py from the render's recording) and the render diff's changes
(components/llm_tiers/preview/render_diff.py):

- **replacements**: what each loses and the gap (a Kubernetes object with a fixed name is deleted before its
  replacement is created: pulumi-kubernetes provider/pkg/provider/provider.go Diff sets DeleteBeforeReplace
  when ``metadata.name`` is given; an AWS resource is created first unless ``deleteBeforeReplace``); a
  protected resource is not replaced at all: the engine stops the ``pulumi up`` there until someone runs
  ``pulumi state unprotect``;
- **Deployments that roll** (a changed pod template), why, how many pods, the surge, the estimate and the
  await budget (pulumi-kubernetes awaits the whole rollout on update: provider/pkg/await/deployment.go);
  ConfigMaps and Secrets that changed under running pods without rolling them (no hash in the template);
- **Jobs that run again** (a Job's template cannot change: it is replaced; a new Job runs);
- the **awaits on this update's critical path**: the longest chain, through the captured dependencies, of
  the steps this update performs (untouched resources take no time), and its total;
- **manual steps**, with their runbook link.

Pure: reads build folders, no Pulumi runtime.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from llm_tiers import timing
from llm_tiers.preview.rollout import minutes

# Relative to the PR's page (github.com/<owner>/<repo>/pull/<n>): the runbook at the default branch.
RUNBOOK = "../blob/HEAD/docs/runbook.md"
UNPROTECT_ANCHOR = f"{RUNBOOK}#replacing-a-protected-resource"
ROTATION_ANCHOR = f"{RUNBOOK}#finishing-a-key-rotation"
RANDOM = "random:index/randomPassword:RandomPassword"


def _urn(urn: str) -> str:
    return urn.replace("pulumi:pulumi:Stack$", "")


@dataclass
class Step:
    urn: str
    label: str
    action: str  # create, update, replace, roll, run
    seconds: int
    budget: Optional[int]
    condition: str


@dataclass
class Effects:
    replacements: list[dict[str, Any]] = field(default_factory=list)
    rolls: list[dict[str, Any]] = field(default_factory=list)
    unrolled: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    helm: list[dict[str, Any]] = field(default_factory=list)
    path: list[Step] = field(default_factory=list)
    total_seconds: int = 0
    manual: list[str] = field(default_factory=list)
    stopped_at: list[str] = field(default_factory=list)
    """Protected resources the update would replace: `pulumi up` fails there."""
    held: list[str] = field(default_factory=list)
    """Steps that depend on a protected replacement: they do not run until it is unprotected."""

    @property
    def empty(self) -> bool:
        return not (self.replacements or self.rolls or self.unrolled or self.jobs or self.helm or self.path
                    or self.manual)


def _load(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _pod_refs(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """(kind, name) of every ConfigMap and Secret a pod spec mounts or reads into its environment."""
    out: set[tuple[str, str]] = set()
    for v in spec.get("volumes") or []:
        if (v.get("configMap") or {}).get("name"):
            out.add(("ConfigMap", v["configMap"]["name"]))
        if (v.get("secret") or {}).get("secretName"):
            out.add(("Secret", v["secret"]["secretName"]))
        for src in (v.get("projected") or {}).get("sources") or []:
            if (src.get("configMap") or {}).get("name"):
                out.add(("ConfigMap", src["configMap"]["name"]))
            if (src.get("secret") or {}).get("name"):
                out.add(("Secret", src["secret"]["name"]))
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for e in c.get("envFrom") or []:
            if (e.get("configMapRef") or {}).get("name"):
                out.add(("ConfigMap", e["configMapRef"]["name"]))
            if (e.get("secretRef") or {}).get("name"):
                out.add(("Secret", e["secretRef"]["name"]))
        for e in c.get("env") or []:
            ref = e.get("valueFrom") or {}
            if (ref.get("configMapKeyRef") or {}).get("name"):
                out.add(("ConfigMap", ref["configMapKeyRef"]["name"]))
            if (ref.get("secretKeyRef") or {}).get("name"):
                out.add(("Secret", ref["secretKeyRef"]["name"]))
    return out


def _surge(value: Any, replicas: int, round_up: bool) -> int:
    """A maxSurge/maxUnavailable value (an int or a percentage of replicas; Kubernetes rounds surge up and
    unavailable down)."""
    if isinstance(value, str) and value.endswith("%"):
        x = replicas * int(value[:-1]) / 100
        return math.ceil(x) if round_up else math.floor(x)
    return int(value)


def _duration(text: Any) -> Optional[int]:
    try:
        return timing.parse_duration(str(text)) if text else None
    except ValueError:
        return None


def effects(diff: Any, base: Path, head: Path) -> Effects:
    """What merging does to this stack: ``diff`` is render_diff.StackDiff of ``base`` and ``head``."""
    out = Effects()
    rollout = _load(head / "rollout.json") or {}
    steps = {_urn(r["urn"]): r for r in rollout.get("resources") or []}
    head_state = {e["urn"]: e for e in _load(head / "state.json") or []}
    base_state = {e["urn"]: e for e in _load(base / "state.json") or []}
    from llm_tiers.preview.render_diff import label  # noqa: PLC0415 (render_diff imports this module)

    urn_of = {label(e): urn for urn, e in head_state.items()}
    scaled: dict[tuple[str, str], tuple[int, int]] = {}
    for e in head_state.values():
        inputs = e.get("inputs") or {}
        if inputs.get("kind") == "ScaledObject":
            spec = inputs.get("spec") or {}
            ns = (inputs.get("metadata") or {}).get("namespace", "default")
            scaled[(ns, (spec.get("scaleTargetRef") or {}).get("name", ""))] = (
                int(spec.get("minReplicaCount", 1)), int(spec.get("maxReplicaCount", 1)))

    durations: dict[str, tuple] = {}  # urn -> (action, seconds[, budget]) of every step this update performs

    def await_of(urn: str) -> dict[str, Any]:
        return (steps.get(urn) or {}).get("await") or {}

    # -- replacements
    for c in diff.replacements:
        if c.type == RANDOM:
            continue
        urn = urn_of.get(c.label)
        old = base_state.get(urn or "", {})
        new = head_state.get(urn or "", {})
        protected = bool(old.get("protect") or new.get("protect"))
        k8s = c.type.startswith("kubernetes:")
        named = k8s and bool(((new.get("inputs") or {}).get("metadata") or {}).get("name"))
        delete_first = bool(new.get("deleteBeforeReplace")) or named
        est = int(await_of(urn or "").get("estimate_seconds") or 0)
        if protected:
            gap = "none yet: `pulumi up` stops at this resource (it is protected) until someone runs " \
                  f"`pulumi state unprotect` on it ([runbook]({UNPROTECT_ANCHOR}))"
            out.manual.append(f"unprotect `{c.label}` to let the replacement run, or revert the change "
                              f"([runbook]({UNPROTECT_ANCHOR}))")
        elif (new.get("inputs") or {}).get("kind") == "Job":
            gap = "none (a one-off: it runs again, see below)"
        elif delete_first:
            gap = f"~{minutes(est)} without it (deleted first, then created and awaited)" if est else \
                "a moment without it (deleted first, then created)"
        else:
            gap = "none: the new one is created before the old one is deleted"
        why = ", ".join(f"`{p}`" for p in dict.fromkeys(re.sub(r"\[[^\]]*\]$", "", p) for p in c.replaced_by))
        out.replacements.append({"label": c.label, "why": why, "loses": c.loses, "gap": gap,
                                 "protected": protected})
        if urn and not protected:
            durations[urn] = ("replace", est)

    # -- Deployments, Jobs, ConfigMaps/Secrets, Helm releases
    changed_config: dict[tuple[str, str, str], str] = {}
    for c in diff.changed:
        inputs = (head_state.get(urn_of.get(c.label, ""), {}) or {}).get("inputs") or {}
        kind = inputs.get("kind")
        if kind in ("ConfigMap", "Secret"):
            meta = inputs.get("metadata") or {}
            changed_config[(kind, meta.get("namespace", "default"), meta.get("name", ""))] = c.label
    for c in diff.changed:
        urn = urn_of.get(c.label)
        if not urn or c.type == RANDOM:
            continue
        entry = head_state[urn]
        inputs = entry.get("inputs") or {}
        kind = inputs.get("kind")
        a = await_of(urn)
        est = int(a.get("estimate_seconds") or 0)
        if kind == "Deployment":
            template = [p for p, _, _ in c.changes if p.startswith("spec.template")]
            spec = inputs.get("spec") or {}
            meta = inputs.get("metadata") or {}
            ns = meta.get("namespace", "default")
            pod = (spec.get("template") or {}).get("spec") or {}
            if template:
                hashes = [p for p in template if re.search(r"metadata\.annotations\..*(checksum|hash|sha)", p)]
                reasons = [f"ConfigMap/Secret hash `{p.split('annotations.', 1)[1]}`" for p in hashes]
                fields = [re.sub(r"^spec\.template\.(spec\.)?", "", p) for p in template if p not in hashes]
                if fields:
                    shown = ", ".join(f"`{f}`" for f in fields[:4]) + (f" and {len(fields) - 4} more"
                                                                        if len(fields) > 4 else "")
                    reasons.insert(0, f"pod spec: {shown}")
                lo, hi = scaled.get((ns, meta.get("name", "")), (int(spec.get("replicas", 1)),) * 2)
                rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
                strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
                surge_v, unavail_v = rolling.get("maxSurge", "25%"), rolling.get("maxUnavailable", "25%")
                per_step = max(_surge(surge_v, hi, True) + _surge(unavail_v, hi, False), 1)
                steps_lo, steps_hi = math.ceil(lo / per_step), math.ceil(max(hi, 1) / per_step)
                if strategy == "Recreate":
                    steps_lo = steps_hi = 1
                budget = _duration((steps.get(urn) or {}).get("customTimeouts", {}).get("update")) or \
                    a.get("budget_seconds")
                est_lo, est_hi = steps_lo * est, steps_hi * est
                pods = f"{lo}" if lo == hi else f"{lo}–{hi} (KEDA)"
                out.rolls.append({
                    "label": c.label, "why": "; ".join(reasons), "pods": pods,
                    "surge": "Recreate: every pod at once" if strategy == "Recreate"
                    else f"maxSurge {surge_v}, maxUnavailable {unavail_v}",
                    "estimate": minutes(est_lo) if est_lo == est_hi else f"{minutes(est_lo)}–{minutes(est_hi)}",
                    "budget": minutes(budget), "over": bool(budget and est_hi > budget),
                    "refs": sorted(f"{k} {ns}/{n}" for k, n in _pod_refs(pod))})
                durations[urn] = ("roll", est_hi, budget)
            else:
                durations.setdefault(urn, ("update", 0))
        elif kind == "Job" and not c.replaced_by:
            durations.setdefault(urn, ("update", 0))
        elif c.type == "kubernetes:helm.sh/v3:Release":
            what = ", ".join(f"`{p}`" for p, _, _ in c.changes[:3]) + (
                f" and {len(c.changes) - 3} more" if len(c.changes) > 3 else "")
            out.helm.append({"label": c.label, "what": what, "estimate": minutes(est),
                             "budget": minutes(a.get("budget_seconds"))})
            durations[urn] = ("upgrade", est)
        elif not c.replaced_by:
            budget = a.get("budget_seconds")
            durations.setdefault(urn, ("update", est if budget is not None else 0))
    # ConfigMaps and Secrets that changed under Deployments that do not roll.
    rolled = {r["label"] for r in out.rolls}
    for e in head_state.values():
        inputs = e.get("inputs") or {}
        if inputs.get("kind") != "Deployment":
            continue
        name = label(e)
        meta = inputs.get("metadata") or {}
        ns = meta.get("namespace", "default")
        pod = ((inputs.get("spec") or {}).get("template") or {}).get("spec") or {}
        hits = [changed_config[(k, ns, n)] for k, n in sorted(_pod_refs(pod)) if (k, ns, n) in changed_config]
        if hits and name not in rolled:
            out.unrolled.append({"label": name, "config": hits})
    # -- Jobs that run again
    for c in diff.replacements:
        urn = urn_of.get(c.label)
        if urn and (head_state[urn].get("inputs") or {}).get("kind") == "Job":
            out.jobs.append({"label": c.label, "why": "replaced: a Job's template cannot change",
                             "estimate": minutes(await_of(urn).get("estimate_seconds")),
                             "budget": minutes(await_of(urn).get("budget_seconds"))})
    for e in diff.added:
        urn = e["urn"]
        inputs = e.get("inputs") or {}
        a = await_of(urn)
        if inputs.get("kind") == "Job":
            out.jobs.append({"label": label(e), "why": "new", "estimate": minutes(a.get("estimate_seconds")),
                             "budget": minutes(a.get("budget_seconds"))})
        durations[urn] = ("create", int(a.get("estimate_seconds") or 0))
    # -- rotations
    if any(r.startswith("rotates") for r in diff.rotations):
        out.manual.append(f"after every client uses the new key, set the tenant's `dropPreviousKey: true` "
                          f"([runbook]({ROTATION_ANCHOR}))")
    # -- a protected replacement stops the update there: nothing that depends on it runs
    stops = [urn_of[r["label"]] for r in out.replacements if r["protected"] and r["label"] in urn_of]
    if stops:
        by_label = {r["label"]: u for u, r in steps.items()}
        dependents: dict[str, set[str]] = {}
        for u, r in steps.items():
            for d in r.get("dependsOn") or []:
                if d in by_label:
                    dependents.setdefault(by_label[d], set()).add(u)
        blocked: set[str] = set()
        todo = list(stops)
        while todo:
            for u in dependents.get(todo.pop(), ()):
                if u not in blocked:
                    blocked.add(u)
                    todo.append(u)
        held = sorted(u for u in durations if u in blocked)
        for u in held:
            durations.pop(u)
        out.stopped_at = [steps[u]["label"] for u in stops if u in steps]
        out.held = [steps[u]["label"] for u in held]
    # -- the critical path of this update
    out.path, out.total_seconds = critical_path(steps, durations)
    return out


def critical_path(steps: dict[str, dict[str, Any]], durations: dict[str, tuple]) -> tuple[list[Step], int]:
    """The longest chain of this update's steps through the captured dependencies (rollout.json
    ``dependsOn``): a step starts when everything it depends on that this update touches is done."""
    by_label = {r["label"]: u for u, r in steps.items()}
    finish: dict[str, int] = {}
    prev: dict[str, Optional[str]] = {}

    def visit(urn: str, trail: frozenset = frozenset()) -> int:
        if urn in finish:
            return finish[urn]
        if urn in trail:
            return 0
        deps = [by_label[d] for d in (steps.get(urn) or {}).get("dependsOn") or [] if d in by_label]
        best, best_dep = 0, None
        for d in sorted(deps):
            f = visit(d, trail | {urn})
            if f > best:
                best, best_dep = f, d
        own = durations[urn][1] if urn in durations else 0
        finish[urn] = best + own
        prev[urn] = best_dep
        return finish[urn]

    for u in sorted(steps):
        visit(u)
    touched = [u for u in sorted(durations) if u in steps]
    if not touched:
        return [], 0
    end = max(touched, key=lambda u: finish[u])
    chain: list[str] = []
    cursor: Optional[str] = end
    while cursor:
        if cursor in durations:
            chain.append(cursor)
        cursor = prev.get(cursor)
    path = []
    for u in reversed(chain):
        r = steps[u]
        a = r.get("await") or {}
        budget = durations[u][2] if len(durations[u]) > 2 else a.get("budget_seconds")
        condition = "the whole rollout: every new pod ready" if durations[u][0] == "roll" else a.get("condition", "")
        path.append(Step(u, r["label"], durations[u][0], durations[u][1], budget, condition))
    return path, finish[end]
