"""A tier's metrics and autoscaling: the engine PodMonitor, the gateway's wake-up query and the KEDA ScaledObject."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from llm_tiers.config.schema import TierConfig
from llm_tiers.tiers.manifests import COMPONENT_LABEL, TIER_LABEL, Release, labels, object_name


# Engine of a scrape target when its pod has no llm-tiers.io/engine label (pods created before the label
# existed): from the server container's image repository, whose last path segment names the engine
# (versions.IMAGES). Prometheus relabel regexes are anchored at both ends.
ENGINE_IMAGE_PATTERNS = {"tgi": "(.*/)?text-generation-inference[:@].*", "vllm": "(.*/)?vllm-openai[:@].*"}


def pod_monitor(tier: TierConfig, namespace: str) -> dict[str, Any]:
    """Scrape the engine's /metrics on its HTTP port and attribute every series to tier, release, model and
    engine. The engine comes from each pod, so a tier whose live and candidate releases run different engines
    is attributed per release: the pod label ``llm-tiers.io/engine`` wins, the container image is the fallback
    for pods without it (``__meta_kubernetes_pod_label_*`` and ``__meta_kubernetes_pod_container_image`` are
    Prometheus kubernetes_sd pod-role meta labels). vLLM labels its own series ``engine`` (its engine-core
    index, "0": vllm 0.33.0 ``vllm/v1/metrics/loggers.py``); with ``honorLabels`` false (the default kept
    here) Prometheus keeps the target's ``engine`` and renames vLLM's to ``exported_engine``, which
    ``metricRelabelings`` (applied after that merge) renames to ``engine_index``. Renamed, not dropped: a pod
    with several engine cores (data parallel) would otherwise expose duplicate series."""
    meta = "__meta_kubernetes_pod_"
    by_image = [{"action": "replace", "sourceLabels": [f"{meta}container_image"], "regex": pattern,
                 "targetLabel": "engine", "replacement": engine}
                for engine, pattern in ENGINE_IMAGE_PATTERNS.items()]
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
        "metadata": {"name": tier.name, "namespace": namespace, "labels": labels(tier, None, "server")},
        "spec": {
            "selector": {"matchLabels": {TIER_LABEL: tier.name, COMPONENT_LABEL: "server"}},
            "podMetricsEndpoints": [{
                "port": "http", "path": "/metrics", "interval": "15s",
                "relabelings": [
                    {"action": "replace", "targetLabel": "tier", "replacement": tier.name},
                    {"action": "replace", "sourceLabels": [f"{meta}label_llm_tiers_io_release"],
                     "targetLabel": "release"},
                    {"action": "replace", "sourceLabels": [f"{meta}annotation_llm_tiers_io_model"],
                     "targetLabel": "model_id"},
                    *by_image,
                    # The pod's own engine label, where it has one, overrides the image's guess.
                    {"action": "replace", "sourceLabels": [f"{meta}label_llm_tiers_io_engine"], "regex": "(.+)",
                     "targetLabel": "engine", "replacement": "$1"},
                ],
                "metricRelabelings": [
                    {"action": "replace", "sourceLabels": ["exported_engine"], "regex": "(.+)",
                     "targetLabel": "engine_index", "replacement": "$1"},
                    {"action": "labeldrop", "regex": "exported_engine"},
                ],
            }],
        },
    }


# Envoy cluster counters the wake-up query reads. Envoy creates every counter of a cluster when the cluster is
# created (values 0), so the series exist before the first request; a cluster exists for an FQDN Backend
# whether or not the Service has endpoints (envoyproxy/gateway internal/gatewayapi/route.go at v1.9.0 turns
# only a *Service* backend without ready endpoints into a direct 503 without a cluster). At zero pods the
# ClusterIP refuses the connection: the attempt counts in upstream_cx_connect_fail; with pods, requests count
# in upstream_rq_total.
WAKE_COUNTERS = ("envoy_cluster_upstream_rq_total", "envoy_cluster_upstream_cx_connect_fail")


def gateway_wake_query(tier: TierConfig, gateway_namespace: str, clusters: Sequence[str] = ()) -> str:
    """Requests reaching the gateway for this tier, counted even while the tier has no pod: the signal that
    wakes a scaled-to-zero tier. ``clusters``: the Envoy clusters carrying the tier's traffic (the single
    route's rule, ``aigw.tier_cluster``, and the per-tier route's while it is served); default: the per-tier
    route's. Each term falls back to 0, so one missing series does not blank the sum."""
    names = list(clusters) or [f"httproute/{gateway_namespace}/{tier.name}/rule/0"]
    # Regex metacharacters escaped ("-" needs none), each backslash doubled inside the PromQL string.
    match = "|".join(re.escape(n).replace("\\-", "-").replace("\\", "\\\\") for n in names)
    sel = f'envoy_cluster_name=~"{match}"'
    return " + ".join(f"(sum(rate({c}{{{sel}}}[2m])) or vector(0))" for c in WAKE_COUNTERS)


def scaled_object(tier: TierConfig, release: Release, namespace: str, prometheus_url: str,
                  gateway_namespace: str, gateway_clusters: Sequence[str] = ()) -> dict[str, Any]:
    """KEDA ScaledObject (it owns the release's HPA): queue depth per replica and GPU utilization from the
    recorded signals, explicit HPA behaviour (fast up, slow stabilized down so streams are not cut),
    fallback replicas if Prometheus is unreachable, and for sporadic tiers scale to zero with a wake-up
    trigger on gateway traffic."""
    sel = f'tier="{tier.name}",release="{release.name}"'
    a = tier.autoscaling
    prom = lambda name, query, threshold, metric_type: {  # noqa: E731
        "type": "prometheus", "name": name, "metricType": metric_type,
        "metadata": {"serverAddress": prometheus_url, "query": query, "threshold": str(threshold)}}
    triggers = [
        prom("queue-depth", f"sum(llm:tier_queue_depth{{{sel}}})", a.queue_depth_per_replica, "AverageValue"),
        prom("gpu-utilization", f"avg(llm:tier_gpu_utilization_percent{{{sel}}})", a.gpu_utilization_percent, "Value"),
    ]
    if tier.sporadic:
        wake = prom("gateway-requests", gateway_wake_query(tier, gateway_namespace, gateway_clusters), 1,
                    "AverageValue")
        wake["metadata"]["activationThreshold"] = "0.01"
        triggers.append(wake)
    name = object_name(tier.name, release.name)
    return {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(tier, release.name, "server")},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicaCount": tier.replicas.min,
            "maxReplicaCount": tier.replicas.max,
            "pollingInterval": 15,
            "cooldownPeriod": a.idle_minutes_before_zero * 60,
            "fallback": {"failureThreshold": 3, "replicas": max(tier.replicas.min, 1)},
            "advanced": {"horizontalPodAutoscalerConfig": {"name": f"keda-hpa-{name}", "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                            "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60},
                                         {"type": "Percent", "value": 100, "periodSeconds": 60}]},
                "scaleDown": {"stabilizationWindowSeconds": a.scale_down_stabilization_seconds, "selectPolicy": "Min",
                              "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}]},
            }}},
            "triggers": triggers,
        },
    }
