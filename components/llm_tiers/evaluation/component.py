"""Evaluation: a quality eval Job per release of one tier and ``benchmark.runId`` (lm-evaluation-harness tasks
and/or the team's eval set), and the promotion gate Job the tier's Service switch waits for. See
docs/components/eval.md.

A thin ComponentResource over ``evaluation.manifests`` (pure). Pass the cluster's Kubernetes provider in
``opts.providers``. It uses the tier's Benchmark objects (results PVC, ServiceAccount, release Services, the
benchmark NetworkPolicy): create both for the tier, in ``ModelTierArgs.before_switch`` (after the Deployments,
before the Service), and return ``switch_after`` from it. The gate polls for the results the eval and benchmark
Jobs write (neither is awaited), so the Service waits for measured results, not for the Jobs' creation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from llm_tiers import naming, timing
from llm_tiers import versions
from llm_tiers.config.schema import ConfigError, ConfigIssue, TierConfig
from llm_tiers.evaluation import manifests as em


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def scripts() -> dict[str, str]:
    """The scripts the Jobs run, as shipped in the package."""
    pkg = resources.files("llm_tiers.evaluation.scripts")
    return {key: pkg.joinpath(key).read_text() for key in (em.EVAL_SCRIPT_KEY, em.GATE_SCRIPT_KEY)}


@dataclass(frozen=True)
class EvaluationArgs:
    """Inputs of :class:`Evaluation`."""

    tier: TierConfig
    """The tier (with ``eval``)."""
    releases: Sequence[em.EvalRelease]
    """Its releases (``evaluation.manifests.releases_of``)."""
    run_id: str
    """``benchmark.runId``: names the Jobs and the results folder."""
    eval_set: Optional[str] = None
    """The eval set's JSONL when ``eval.evalSet.file`` is set (put in a ConfigMap); None with ``configMap``."""
    namespace: str = naming.TIERS_NAMESPACE
    """The tier's namespace (the Benchmark's objects are there)."""
    node_selector: dict[str, str] = field(default_factory=dict)
    """Where the (CPU-only) Jobs run, e.g. the system node group."""
    image: str = versions.IMAGES["python"]
    """Python image of every container (default: the pinned one); the harness is pip-installed into it."""
    benchmark_seconds: Optional[int] = None
    """The candidate benchmark's configured run (``benchmark_manifests.run_seconds``): when the gate's inputs are
    expected, annotated on the gate Job for rollout.md's estimate."""
    deployments: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    """The tier's Deployment per release: a release's eval Job is created after it (Pulumi awaits it)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Create after these: the namespace and the tier's Benchmark objects (``Benchmark.ready``: its results PVC,
    ServiceAccount, NetworkPolicy and release Services)."""


class Evaluation(pulumi.ComponentResource):
    """Eval Jobs and the promotion gate of one tier. See docs/components/eval.md."""

    jobs: dict[str, k8s.batch.v1.Job]
    """The eval Job per release."""
    gate: Optional[k8s.batch.v1.Job]
    """The gate Job, when the tier's ``serve`` is ``candidate``."""
    switch_after: list[pulumi.Resource]
    """What the tier's Service must wait for (``ModelTierArgs.switch_after``): the gate, when there is one."""

    def __init__(self, resource_name: str, args: EvaluationArgs, opts: Optional[pulumi.ResourceOptions] = None):
        t = args.tier
        if t.eval is None:
            raise pulumi.RunError(str(ConfigError([ConfigIssue(f"tier {t.name}.eval", "required to create an "
                                                               "Evaluation")])))
        super().__init__(naming.type_token("Evaluation"), resource_name, None, opts)
        ns = args.namespace

        def create(kind_cls: Any, res: str, manifest: dict, depends_on: Sequence[pulumi.Resource] = (),
                   **more: Any) -> Any:
            body = {_snake(k): v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
            return kind_cls(f"{resource_name}-{res}", **body,
                            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, *depends_on],
                                                        **more))

        deps: list[pulumi.Resource] = [create(k8s.core.v1.ConfigMap, "scripts",
                                              em.scripts_config_map(t, ns, scripts()))]
        if t.eval.eval_set is not None and t.eval.eval_set.file:
            assert args.eval_set is not None, "the eval set's text is read by the stack (eval.evalSet.file)"
            deps.append(create(k8s.core.v1.ConfigMap, "eval-set", em.eval_set_config_map(t, ns, args.eval_set)))
        if t.eval.lm_eval is not None:
            deps.append(create(k8s.networking.v1.NetworkPolicy, "install-policy", em.install_network_policy(t, ns)))
        self.jobs = {}
        for rel in args.releases:
            body = em.eval_job(t, rel, ns, args.run_id, args.node_selector, args.image)
            # Named by the run id, like the benchmark's: a new runId replaces (re-runs) it.
            self.jobs[rel.name] = create(k8s.batch.v1.Job, rel.name, body,
                                         depends_on=[*deps, *([args.deployments[rel.name]]
                                                              if rel.name in args.deployments else [])],
                                         delete_before_replace=True)
        self.gate = None
        if em.gated(t):
            policy = create(k8s.networking.v1.NetworkPolicy, "gate-policy", em.gate_network_policy(t, ns))
            wait = timing.duration(em.gate_await_seconds(t))
            self.gate = create(k8s.batch.v1.Job, "gate", em.gate_job(t, ns, args.run_id, args.node_selector, args.image,
                                                                  args.benchmark_seconds),
                               depends_on=[deps[0], policy], delete_before_replace=True,
                               custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait))
        self.switch_after = [self.gate] if self.gate is not None else []
        self.register_outputs({
            "jobs": {r.name: em.eval_job_name(t, r.name, args.run_id) for r in args.releases},
            "results": {r.name: em.summary_path(t, r.name, args.run_id) for r in args.releases},
            "gate": em.gate_job_name(t, args.run_id) if self.gate is not None else None})
