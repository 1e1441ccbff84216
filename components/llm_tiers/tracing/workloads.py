"""Tracing's system pod (pure): the OpenTelemetry Collector, as the system capacity check counts it."""

from __future__ import annotations

from llm_tiers.cluster.system_capacity import OTEL_COLLECTOR, Workload


def workloads() -> list[Workload]:
    # One replica (tracing/manifests.py values replicaCount).
    return [Workload("otel-collector", "helm:opentelemetry-collector", (OTEL_COLLECTOR,))]
