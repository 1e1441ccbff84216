"""Benchmark: a GuideLLM Job per release of one tier, straight at the engine pods (not through the gateway), offline
(synthetic prompts, the tier's tokenizer from its weights cache), results as JSON on a PVC. See
docs/components/benchmark.md.

A thin ComponentResource over ``benchmark_manifests`` (pure). Pass the cluster's Kubernetes provider in
``opts.providers``. Create it only for tiers a team asked to benchmark, and give the tier ``admit_benchmark=True``
so its NetworkPolicy lets these pods in.
"""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from llm_tiers import arguments
from llm_tiers import naming
from llm_tiers.benchmark import manifests as bm
from llm_tiers.benchmark import rules
from llm_tiers.config.benchmark import BenchmarkConfig
from llm_tiers.config.schema import TierConfig
from llm_tiers.config.specs import BenchmarkSpec, TierSpec


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


class BenchReleaseSpec(TypedDict, total=False):
    """One release of the tier to benchmark (``benchmark.manifests.release_specs`` builds them from the lock)."""

    name: Required[str]
    """``live`` or ``candidate``. Required."""
    model_id: Required[str]
    """The release's model (the tier's ``model_id``, or its candidate's). Required."""
    revision: Required[str]
    """The model's locked revision (40 hex digits, from models.lock.json): names the weights cache the Job reads
    the tokenizer from. Required."""
    engine: Required[str]
    """The release's engine (``tgi`` or ``vllm``). Required."""
    serving: Required[bool]
    """The tier's Service sends traffic to this release (the tier's ``serve``). Required."""
    own_service: bool
    """Benchmark it through its own Service even when it serves (the stack sets it for a tier with ``eval``, so
    switching ``serve`` changes no Job). Default: false."""


class BenchmarkArgs(TypedDict, total=False):
    """Inputs of :class:`Benchmark`."""

    tier: Required[TierSpec]
    """The tier to benchmark (one entry of the ``tiers`` config section). Required."""
    releases: Required[list[BenchReleaseSpec]]
    """Its releases: live, and the candidate when the tier has one. Required."""
    settings: Required[BenchmarkSpec]
    """The ``benchmark`` config section (run id, workload, sweep); ``run_id`` is required here. Required."""
    namespace: str
    """The tier's namespace (the Jobs mount its weights caches, so they run beside them). Default: ``llm-tiers``."""
    storage_class: str
    """ReadWriteMany StorageClass of the results PVC (``cluster.weights_storage_class``). Default: ``efs-weights``."""
    node_selector: dict[str, str]
    """Where the (CPU-only) Jobs run, e.g. the system node group. Default: any node."""
    image: str
    """GuideLLM image. Default: the pinned one (``versions.IMAGES['guidellm']``)."""


class Benchmark(pulumi.ComponentResource):
    """GuideLLM Jobs of one tier. See docs/components/benchmark.md.

    Python callers may also pass these keyword arguments (other languages: the resource option ``dependsOn``, as
    for ``depends_on``; a Job then waits for it instead of for its release's Deployment alone):

    - ``deployments``: the tier's Deployment per release (``ModelTier.deployments``): a release's Job starts
      after it is available.
    - ``depends_on``: create after these (the tier's Service, the namespace).
    """

    results_claim: str
    """Name of the PVC that holds every run's JSON."""
    results: dict[str, str]
    """Where each release's results of this run land on the results PVC."""

    def __init__(self, resource_name: str, args: BenchmarkArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 deployments: Optional[Mapping[str, pulumi.Resource]] = None,
                 depends_on: Sequence[pulumi.Resource] = ()):
        # Every problem at its args path, before anything (this component included) is registered.
        arguments.refuse("Benchmark", resource_name, rules.args_issues(args))
        super().__init__(naming.type_token("Benchmark"), resource_name, None, opts)
        a = rules.resolved(args)
        t, _ = arguments.section(TierConfig, a["tier"], "args.tier")
        s, _ = arguments.section(BenchmarkConfig, a["settings"], "args.settings")
        assert t is not None and s is not None and s.run_id  # checked above
        ns = a["namespace"]
        releases = [bm.BenchRelease(r["name"], r["model_id"], r["revision"], r["engine"], r["serving"],
                                    bool(r.get("own_service"))) for r in a["releases"]]
        deployments = deployments or {}
        after = [*depends_on, *arguments.resources(opts.depends_on if opts else None)]

        def create(kind_cls: Any, res: str, manifest: dict, depends_on: Sequence[pulumi.Resource] = ()) -> Any:
            body = {_snake(k): v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
            return kind_cls(f"{resource_name}-{res}", **body,
                            opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, *depends_on]))

        sa = create(k8s.core.v1.ServiceAccount, "sa", bm.service_account(t, ns))
        policy = create(k8s.networking.v1.NetworkPolicy, "network-policy", bm.network_policy(t, ns))
        pvc = create(k8s.core.v1.PersistentVolumeClaim, "results", bm.results_pvc(t, ns, a["storage_class"]))
        self._jobs: dict[str, k8s.batch.v1.Job] = {}
        self._ready: list[pulumi.Resource] = [sa, policy, pvc]
        for rel in releases:
            deps: list[pulumi.Resource] = [sa, policy, pvc, *([deployments[rel.name]]
                                                              if rel.name in deployments else [])]
            if not rel.serving or rel.own_service:
                deps.append(create(k8s.core.v1.Service, f"{rel.name}-service", bm.release_service(t, rel.name, ns),
                                   depends_on=deps[-1:]))
                self._ready.append(deps[-1])
            # The resource name has no run id: a new run id changes metadata.name, so Pulumi replaces the Job
            # (a new run) and deletes the old one; the results PVC keeps its output.
            # Same run id, changed workload: the immutable Job is deleted first and runs again under its name.
            body = bm.job(t, rel, ns, s, a["node_selector"], a["image"])
            self._jobs[rel.name] = k8s.batch.v1.Job(
                f"{resource_name}-{rel.name}", metadata=body["metadata"], spec=body["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, *deps],
                                            delete_before_replace=True))
        self.results_claim = bm.results_claim_name(t)
        self.results = {r.name: bm.results_path(t, r, s.run_id) for r in releases}
        self.register_outputs({"jobs": {r: bm.job_name(t, r, s.run_id) for r in self._jobs},
                               "resultsClaim": self.results_claim,
                               "results": self.results})

    @property
    def jobs(self) -> dict[str, k8s.batch.v1.Job]:
        """The Job per release of this run."""
        return self._jobs

    @property
    def ready(self) -> list[pulumi.Resource]:
        """The ServiceAccount, NetworkPolicy, results PVC and release Services other Jobs of the tier may use (the
        Evaluation component's)."""
        return self._ready
