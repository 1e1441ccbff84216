"""Observability's system pods (pure): KEDA and kube-prometheus-stack, as the system capacity check counts them."""

from __future__ import annotations

from llm_tiers.cluster.system_capacity import (ADMISSION_JOB, ALERTMANAGER, ALERTMANAGER_REPLICAS, CONFIG_RELOADER,
                                               GRAFANA, GRAFANA_REPLICAS, GRAFANA_SIDECAR, KEDA_METRICS_SERVER,
                                               KEDA_OPERATOR, KEDA_REPLICAS, KEDA_WEBHOOKS, KUBE_STATE_METRICS,
                                               KUBE_STATE_METRICS_REPLICAS, NODE_EXPORTER, PROMETHEUS,
                                               PROMETHEUS_OPERATOR, Workload)
from llm_tiers.config.observability import ObservabilityConfig


def node_agents() -> list[Workload]:
    """Per node: the node exporter."""
    return [Workload("node-exporter", "helm:kube-prometheus-stack", (NODE_EXPORTER,), kind="DaemonSet",
                     placement="daemonset")]


def workloads(obs: ObservabilityConfig) -> list[Workload]:
    w = [
        Workload("keda-operator", "helm:keda", (KEDA_OPERATOR,), KEDA_REPLICAS),
        Workload("keda-metrics-apiserver", "helm:keda", (KEDA_METRICS_SERVER,), KEDA_REPLICAS),
        Workload("keda-admission-webhooks", "helm:keda", (KEDA_WEBHOOKS,), KEDA_REPLICAS),
        # The operator runs each Prometheus/Alertmanager pod with a config-reloader sidecar; the chart's
        # podAntiAffinity "soft" spreads replicas over hostnames when it can.
        Workload("prometheus", "helm:kube-prometheus-stack", (PROMETHEUS, CONFIG_RELOADER), obs.prometheus.replicas,
                 "preferred", "StatefulSet"),
        Workload("alertmanager", "helm:kube-prometheus-stack", (ALERTMANAGER, CONFIG_RELOADER), ALERTMANAGER_REPLICAS,
                 "preferred", "StatefulSet"),
        Workload("prometheus-operator", "helm:kube-prometheus-stack", (PROMETHEUS_OPERATOR,)),
        # Helm hooks: the admission webhook's certificate Job and its patch Job.
        Workload("prometheus-admission-jobs", "helm:kube-prometheus-stack", (ADMISSION_JOB,), 2, kind="Job"),
        Workload("kube-state-metrics", "helm:kube-prometheus-stack", (KUBE_STATE_METRICS,),
                 KUBE_STATE_METRICS_REPLICAS),
    ]
    if obs.grafana_enabled:
        # Grafana runs its dashboards and datasources sidecars as containers (kube-prometheus-stack enables both).
        w.append(Workload("grafana", "helm:kube-prometheus-stack", (GRAFANA, GRAFANA_SIDECAR, GRAFANA_SIDECAR),
                          GRAFANA_REPLICAS))
    return w
