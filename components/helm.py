"""Helm releases from the pinned charts in ``versions.CHARTS`` (thin helper shared by components)."""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from . import versions


def release(resource_name: str, chart_key: str, *, name: str, namespace: str, values: dict[str, Any],
            opts: pulumi.ResourceOptions, skip_crds: bool = False, create_namespace: bool = False,
            timeout_seconds: int = 600) -> k8s.helm.v3.Release:
    """A Helm release of a pinned chart; atomic, so a failed upgrade rolls back instead of half-applying."""
    chart = versions.CHARTS[chart_key]
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


def oci_split(chart: str, repository: Optional[str]) -> tuple[str, Optional[str]]:
    """(chart, repository) as the render reports them, for OCI charts given as one reference."""
    if repository is None and chart.startswith("oci://"):
        repo, _, name = chart.rpartition("/")
        return name, repo
    return chart, repository
