"""Evaluation: a quality eval Job per release of one tier and ``benchmark.runId`` (lm-evaluation-harness tasks
and/or the team's eval set), and the promotion gate Job the tier's Service switch waits for. See
docs/components/eval.md.

A thin ComponentResource over ``evaluation.manifests`` (pure). Pass the cluster's Kubernetes provider in
``opts.providers``. It uses the tier's Benchmark objects (results PVC, ServiceAccount, release Services, the
benchmark NetworkPolicy): create both for the tier, in ModelTier's ``before_switch`` (after the Deployments,
before the Service), and return ``switch_after`` from it. The gate polls for the results the eval and benchmark
Jobs write (neither is awaited), so the Service waits for measured results, not for the Jobs' creation.
"""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any, Optional, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from llm_tiers import arguments
from llm_tiers import naming, timing
from llm_tiers.config.schema import TierConfig
from llm_tiers.config.specs import TierSpec
from llm_tiers.evaluation import manifests as em
from llm_tiers.evaluation import rules


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def scripts() -> dict[str, str]:
    """The scripts the Jobs run, as shipped in the package."""
    pkg = resources.files("llm_tiers.evaluation.scripts")
    return {key: pkg.joinpath(key).read_text() for key in (em.EVAL_SCRIPT_KEY, em.GATE_SCRIPT_KEY)}


class EvalReleaseSpec(TypedDict, total=False):
    """One release of the tier, as its results record it (``evaluation.manifests.release_specs`` builds them
    from the lock)."""

    name: Required[str]
    """``live`` or ``candidate``. Required."""
    model_id: Required[str]
    """The release's model (the tier's ``model_id``, or its candidate's). Required."""
    revision: Required[str]
    """The model's locked revision (40 hex digits, from models.lock.json). Required."""
    engine: Required[str]
    """The release's engine (``tgi`` or ``vllm``). Required."""
    quantization: str
    """The tier's ``quantize`` as the results record it. Default: ``none``."""
    flags: list[str]
    """The release's extra engine flags (the tier's ``extra_args``, or its candidate's). Default: none."""


class EvaluationArgs(TypedDict, total=False):
    """Inputs of :class:`Evaluation`."""

    tier: Required[TierSpec]
    """The tier (one entry of the ``tiers`` config section), with ``eval``. Required."""
    releases: Required[list[EvalReleaseSpec]]
    """Its releases: live, and the candidate when the tier has one. Required."""
    run_id: Required[str]
    """``benchmark.runId``: names the Jobs and the results folder. Required."""
    eval_set: Optional[str]
    """The eval set's JSONL text, required when ``eval.eval_set.file`` is set (put in a ConfigMap). Default: none
    (``eval.eval_set.config_map`` names an existing ConfigMap, or no eval set)."""
    namespace: str
    """The tier's namespace (the Benchmark's objects are there). Default: ``llm-tiers``."""
    node_selector: dict[str, str]
    """Where the (CPU-only) Jobs run, e.g. the system node group. Default: any node."""
    image: str
    """Python image of every container; the harness is pip-installed into it. Default: the pinned one
    (``versions.IMAGES['python']``)."""
    benchmark_seconds: Optional[int]
    """The candidate benchmark's configured run (``benchmark_manifests.run_seconds``): when the gate's inputs are
    expected, annotated on the gate Job for rollout.md's estimate. Default: not annotated."""


class Evaluation(pulumi.ComponentResource):
    """Eval Jobs and the promotion gate of one tier. See docs/components/eval.md.

    Python callers may also pass these keyword arguments (other languages: the resource option ``dependsOn``, as
    for ``depends_on``):

    - ``deployments``: the tier's Deployment per release: a release's eval Job is created after it (Pulumi
      awaits it).
    - ``depends_on``: create after these: the namespace and the tier's Benchmark objects (``Benchmark.ready``:
      its results PVC, ServiceAccount, NetworkPolicy and release Services).
    """

    results: dict[str, str]
    """Where each release's eval summary of this run lands on the benchmark's results PVC."""

    def __init__(self, resource_name: str, args: EvaluationArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 deployments: Optional[Mapping[str, pulumi.Resource]] = None,
                 depends_on: Sequence[pulumi.Resource] = ()):
        # Every problem at its args path, before anything (this component included) is registered.
        arguments.refuse("Evaluation", resource_name, rules.args_issues(args))
        super().__init__(naming.type_token("Evaluation"), resource_name, None, opts)
        a = rules.resolved(args)
        t, _ = arguments.section(TierConfig, a["tier"], "args.tier")
        assert t is not None and t.eval is not None  # checked above
        ns, run_id = a["namespace"], a["run_id"]
        releases = [em.EvalRelease(r["name"], r["model_id"], r["revision"], r["engine"],
                                   r.get("quantization") or "none", tuple(r.get("flags") or ()))
                    for r in a["releases"]]
        deployments = deployments or {}
        after = [*depends_on, *arguments.resources(opts.depends_on if opts else None)]

        def create(kind_cls: Any, res: str, manifest: dict, depends_on: Sequence[pulumi.Resource] = (),
                   **more: Any) -> Any:
            body = {_snake(k): v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
            return kind_cls(f"{resource_name}-{res}", **body,
                            opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, *depends_on],
                                                        **more))

        deps: list[pulumi.Resource] = [create(k8s.core.v1.ConfigMap, "scripts",
                                              em.scripts_config_map(t, ns, scripts()))]
        if t.eval.eval_set is not None and t.eval.eval_set.file:
            deps.append(create(k8s.core.v1.ConfigMap, "eval-set", em.eval_set_config_map(t, ns, a["eval_set"])))
        if t.eval.lm_eval is not None:
            deps.append(create(k8s.networking.v1.NetworkPolicy, "install-policy", em.install_network_policy(t, ns)))
        self._jobs: dict[str, k8s.batch.v1.Job] = {}
        for rel in releases:
            body = em.eval_job(t, rel, ns, run_id, a["node_selector"], a["image"])
            # Named by the run id, like the benchmark's: a new runId replaces (re-runs) it.
            self._jobs[rel.name] = create(k8s.batch.v1.Job, rel.name, body,
                                          depends_on=[*deps, *([deployments[rel.name]]
                                                               if rel.name in deployments else [])],
                                          delete_before_replace=True)
        self._gate: Optional[k8s.batch.v1.Job] = None
        if em.gated(t):
            policy = create(k8s.networking.v1.NetworkPolicy, "gate-policy", em.gate_network_policy(t, ns))
            wait = timing.duration(em.gate_await_seconds(t))
            self._gate = create(k8s.batch.v1.Job, "gate", em.gate_job(t, ns, run_id, a["node_selector"], a["image"],
                                                                   a["benchmark_seconds"]),
                                depends_on=[deps[0], policy], delete_before_replace=True,
                                custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait))
        self._switch_after: list[pulumi.Resource] = [self._gate] if self._gate is not None else []
        self.results = {r.name: em.summary_path(t, r.name, run_id) for r in releases}
        self.register_outputs({
            "jobs": {r.name: em.eval_job_name(t, r.name, run_id) for r in releases},
            "results": self.results,
            "gate": em.gate_job_name(t, run_id) if self._gate is not None else None})

    @property
    def jobs(self) -> dict[str, k8s.batch.v1.Job]:
        """The eval Job per release."""
        return self._jobs

    @property
    def gate(self) -> Optional[k8s.batch.v1.Job]:
        """The gate Job, when the tier's ``serve`` is ``candidate``."""
        return self._gate

    @property
    def switch_after(self) -> list[pulumi.Resource]:
        """What the tier's Service must wait for (return it from ModelTier's ``before_switch``): the gate, when
        there is one."""
        return self._switch_after
