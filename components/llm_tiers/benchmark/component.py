"""Benchmark: a GuideLLM Job per release of one tier, straight at the engine pods (not through the gateway), offline
(synthetic prompts, the tier's tokenizer from its weights cache), results as JSON on a PVC. See
docs/components/benchmark.md.

A thin ComponentResource over ``benchmark_manifests`` (pure). Pass the cluster's Kubernetes provider in
``opts.providers``. Create it only for tiers a team asked to benchmark, and give the tier ``admit_benchmark=True``
so its NetworkPolicy lets these pods in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from llm_tiers import naming
from llm_tiers import versions
from llm_tiers.benchmark import manifests as bm
from llm_tiers.config.benchmark import BenchmarkConfig
from llm_tiers.config.schema import ConfigError, ConfigIssue, TierConfig


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


@dataclass(frozen=True)
class BenchmarkArgs:
    """Inputs of :class:`Benchmark`."""

    tier: TierConfig
    """The tier to benchmark."""
    releases: Sequence[bm.BenchRelease]
    """Its releases (live, and the candidate when set): model, locked revision, engine, whether it serves."""
    settings: BenchmarkConfig
    """The ``benchmark`` config section (run id, workload, sweep)."""
    namespace: str = naming.TIERS_NAMESPACE
    """The tier's namespace (the Jobs mount its weights caches, so they run beside them)."""
    storage_class: str = "efs-weights"
    """ReadWriteMany StorageClass of the results PVC (``cluster.weights_storage_class``)."""
    node_selector: dict[str, str] = field(default_factory=dict)
    """Where the (CPU-only) Jobs run, e.g. the system node group."""
    image: str = versions.IMAGES["guidellm"]
    """GuideLLM image (default: the pinned one)."""
    deployments: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    """The tier's Deployment per release (``ModelTier.deployments``): a release's Job starts after it is
    available."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Create after these (the tier's Service, the namespace)."""


class Benchmark(pulumi.ComponentResource):
    """GuideLLM Jobs of one tier. See docs/components/benchmark.md."""

    jobs: dict[str, k8s.batch.v1.Job]
    """The Job per release of this run."""
    results_claim: str
    """Name of the PVC that holds every run's JSON."""
    ready: list[pulumi.Resource]
    """The ServiceAccount, NetworkPolicy, results PVC and release Services other Jobs of the tier may use (the
    Evaluation component's)."""

    def __init__(self, resource_name: str, args: BenchmarkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        if not args.settings.run_id:
            raise pulumi.RunError(str(ConfigError([ConfigIssue("benchmark.runId", "required to create a benchmark; "
                                                               "name the run, e.g. 2026-12-01a")])))
        super().__init__(naming.type_token("Benchmark"), resource_name, None, opts)
        t, ns, s = args.tier, args.namespace, args.settings

        def create(kind_cls: Any, res: str, manifest: dict, depends_on: Sequence[pulumi.Resource] = ()) -> Any:
            body = {_snake(k): v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
            return kind_cls(f"{resource_name}-{res}", **body,
                            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, *depends_on]))

        sa = create(k8s.core.v1.ServiceAccount, "sa", bm.service_account(t, ns))
        policy = create(k8s.networking.v1.NetworkPolicy, "network-policy", bm.network_policy(t, ns))
        pvc = create(k8s.core.v1.PersistentVolumeClaim, "results", bm.results_pvc(t, ns, args.storage_class))
        self.jobs = {}
        self.ready = [sa, policy, pvc]
        for rel in args.releases:
            deps: list[pulumi.Resource] = [sa, policy, pvc, *([args.deployments[rel.name]]
                                                              if rel.name in args.deployments else [])]
            if not rel.serving or rel.own_service:
                deps.append(create(k8s.core.v1.Service, f"{rel.name}-service", bm.release_service(t, rel.name, ns),
                                   depends_on=deps[-1:]))
                self.ready.append(deps[-1])
            # The resource name has no run id: a new run id changes metadata.name, so Pulumi replaces the Job
            # (a new run) and deletes the old one; the results PVC keeps its output.
            # Same run id, changed workload: the immutable Job is deleted first and runs again under its name.
            body = bm.job(t, rel, ns, s, args.node_selector, args.image)
            self.jobs[rel.name] = k8s.batch.v1.Job(
                f"{resource_name}-{rel.name}", metadata=body["metadata"], spec=body["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, *deps],
                                            delete_before_replace=True))
        self.results_claim = bm.results_claim_name(t)
        self.register_outputs({"jobs": {r: bm.job_name(t, r, s.run_id) for r in self.jobs},
                               "resultsClaim": self.results_claim,
                               "results": {r.name: bm.results_path(t, r, s.run_id) for r in args.releases}})
