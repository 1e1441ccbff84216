"""Helm releases from the pinned charts in ``versions.CHARTS`` (thin helper shared by components)."""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from llm_tiers import timing
from llm_tiers import versions


def release(resource_name: str, chart_key: str, *, name: str, namespace: str, values: dict[str, Any],
            opts: pulumi.ResourceOptions, skip_crds: bool = False, create_namespace: bool = False,
            timeout_seconds: Optional[int] = None) -> k8s.helm.v3.Release:
    """A Helm release of a pinned chart; atomic, so a failed upgrade rolls back instead of half-applying.

    ``timeout`` is Helm's own wait for the chart's workloads; pulumi-kubernetes ignores ``customTimeouts`` on a
    Release (provider/pkg/provider/helm_release.go), so this is the await budget. Default: ``timing.CHARTS``.
    """
    chart = versions.CHARTS[chart_key]
    if timeout_seconds is None:
        timeout_seconds = timing.CHARTS[chart_key].timeout_seconds
    oci = chart.repository.startswith("oci://")
    return k8s.helm.v3.Release(
        resource_name,
        name=name,
        namespace=namespace,
        chart=f"{chart.repository}/{chart.chart}" if oci else chart.chart,
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
        version=chart.version,
        values=values,
        skip_crds=skip_crds,
        create_namespace=create_namespace,
        atomic=True,
        cleanup_on_fail=True,
        timeout=timeout_seconds,
        max_history=10,
        opts=opts,
    )


def crd_chart(resource_name: str, chart_key: str, *, values: dict[str, Any],
              opts: pulumi.ResourceOptions) -> k8s.helm.v4.Chart:
    """A CRD-only chart, rendered by Pulumi and applied object by object (server-side apply).

    Not a Helm release: large CRD bundles in ``templates/`` overflow the 1 MiB Secret Helm keeps per release
    revision, which is why Envoy Gateway documents ``helm template | kubectl apply --server-side`` for its
    CRD chart (envoyproxy/gateway site/content/en/v1.9/install/install-helm.md, "Installing CRDs separately").
    Every CRD becomes a Pulumi resource, so a version bump updates them in place.
    """
    chart = versions.CHARTS[chart_key]
    oci = chart.repository.startswith("oci://")
    return k8s.helm.v4.Chart(
        resource_name,
        chart=f"{chart.repository}/{chart.chart}" if oci else chart.chart,
        repository_opts=None if oci else k8s.helm.v4.RepositoryOptsArgs(repo=chart.repository),
        version=chart.version,
        values=values,
        opts=opts,
    )


def oci_split(chart: str, repository: Optional[str]) -> tuple[str, Optional[str]]:
    """(chart, repository) as the render reports them, for OCI charts given as one reference."""
    if repository is None and chart.startswith("oci://"):
        repo, _, name = chart.rpartition("/")
        return name, repo
    return chart, repository
