"""Recording and alert rules (pure): engine-neutral signals per tier, and the alerts built on them.

Every series is attributed by ``tier`` and ``release`` labels (the tier's PodMonitor adds ``tier``,
``release``, ``model_id`` and ``engine``). Recording rules map one engine's metrics to the names below; HPAs, alerts and dashboards
use only these names, so another engine (vLLM, SGLang) needs only its own mapping group.

| recorded name | meaning |
|---|---|
| ``llm:tier_queue_depth`` | requests waiting, summed over the tier's pods |
| ``llm:tier_running_requests`` | requests in the running batch |
| ``llm:tier_ready_replicas`` | pods of the tier that report metrics |
| ``llm:tier_queue_depth_per_replica`` | queue depth / replicas |
| ``llm:tier_request_rate`` | requests per second |
| ``llm:tier_error_ratio`` | failed / all requests |
| ``llm:tier_overloaded_ratio`` | requests refused because the replica was at max concurrency (HTTP 429) |
| ``llm:tier_request_latency_seconds:p95`` | P95 end-to-end request latency |
| ``llm:tier_ttft_seconds:p95`` | P95 time to first token, *approximated* (see below) |
| ``llm:tier_generated_tokens_rate`` | generated tokens per second |
| ``llm:tier_gpu_utilization_percent`` | mean GPU utilization of the tier's pods (DCGM) |
| ``llm:tier_gpu_memory_used_ratio`` | GPU framebuffer used / total (DCGM) |
| ``llm:tier_replicas`` / ``llm:tier_replicas_max`` | current and maximum replicas (KEDA's HPA) |
| ``llm:tier_hourly_usd`` | estimated on-demand cost per hour (replicas x the whole node a replica gets) |

TTFT: TGI 3.3 exports no time-to-first-token metric. The recorded signal is P95 queue time + P95 prefill
forward time: the two phases a request passes before its first token. Adding two P95s over-estimates the
P95 of the sum a little, which errs on the side of alerting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from llm_tiers.config.schema import TierConfig

WINDOW = "5m"
ENGINE_GROUP = "llm-engine-tgi"
SIGNALS_GROUP = "llm-tier-signals"
ALERTS_GROUP = "llm-tier-alerts"
RUNBOOK = "docs/runbook.md"  # relative to the repository; the alert names are its anchors
# Queue depth per replica alerts at twice the autoscaler's target: the autoscaler holds the target; twice
# it for minutes means it cannot (max replicas, no GPU capacity, or a stuck replica).
QUEUE_ALERT_FACTOR = 2
GPU_MEMORY_ALERT_RATIO = 0.98  # TGI pre-allocates its KV cache: ~90-95% used is normal
OVERLOADED_ALERT_RATIO = 0.01


def _sum_by_tier(expr: str) -> str:
    # By release too: during a blue/green swap each release scales on its own traffic.
    return f"sum by (tier, release) ({expr})"


def _rate(series: str) -> str:
    return "rate(" + series + "[" + WINDOW + "])"


def _p95(bucket_series: str) -> str:
    return "histogram_quantile(0.95, sum by (tier, release, le) (" + _rate(bucket_series) + "))"


def engine_rules_tgi() -> list[dict[str, Any]]:
    """TGI metrics -> engine-neutral names (metric names from TGI 3.3: no _total suffix)."""
    tgi = 'engine="tgi"'
    return [
        {"record": "llm:tier_queue_depth", "expr": _sum_by_tier("tgi_queue_size{" + tgi + "}")},
        {"record": "llm:tier_running_requests", "expr": _sum_by_tier("tgi_batch_current_size{" + tgi + "}")},
        {"record": "llm:tier_ready_replicas", "expr": "count by (tier, release) (tgi_queue_size{" + tgi + "})"},
        {"record": "llm:tier_request_rate", "expr": _sum_by_tier(_rate("tgi_request_count{" + tgi + "}"))},
        {"record": "llm:tier_failed_request_rate", "expr": _sum_by_tier(_rate("tgi_request_failure{" + tgi + "}"))},
        {"record": "llm:tier_overloaded_request_rate",
         "expr": _sum_by_tier(_rate("tgi_request_failure{" + tgi + ',err="overloaded"}'))},
        {"record": "llm:tier_request_latency_seconds:p95", "expr": _p95("tgi_request_duration_bucket{" + tgi + "}")},
        # TTFT approximation: P95 queue time + P95 prefill forward time (TGI has no TTFT metric).
        {"record": "llm:tier_ttft_seconds:p95",
         "expr": _p95("tgi_request_queue_duration_bucket{" + tgi + "}") + " + "
                 + _p95("tgi_batch_forward_duration_bucket{" + tgi + ',method="prefill"}')},
        {"record": "llm:tier_generated_tokens_rate",
         "expr": _sum_by_tier(_rate("tgi_request_generated_tokens_sum{" + tgi + "}"))},
    ]


def _from_hpa(metric: str) -> str:
    """A KEDA HPA series (``keda-hpa-<tier>-<release>``) relabelled with tier and release."""
    return (f'label_replace({metric}{{horizontalpodautoscaler=~"keda-hpa-.+-(live|candidate)"}}, '
            '"tier", "$1", "horizontalpodautoscaler", "keda-hpa-(.+)-(live|candidate)")')


def signal_rules(replica_prices: Optional[Mapping[str, float]] = None) -> list[dict[str, Any]]:
    """Engine-independent rules built on the engine mappings, KEDA's HPAs and DCGM. ``replica_prices``
    (tier -> USD per replica-hour) adds the estimated cost per tier."""
    pod_tier = ('label_replace(label_replace(kube_pod_labels{label_llm_tiers_io_tier!=""}, "tier", "$1", '
                '"label_llm_tiers_io_tier", "(.+)"), "release", "$1", "label_llm_tiers_io_release", "(.*)")')
    release = '"release", "$2", "horizontalpodautoscaler", "keda-hpa-(.+)-(live|candidate)"'
    rules = [
        {"record": "llm:tier_replicas", "expr": "sum by (tier, release) (label_replace("
         + _from_hpa("kube_horizontalpodautoscaler_status_current_replicas") + ", " + release + "))"},
        {"record": "llm:tier_replicas_max", "expr": "sum by (tier, release) (label_replace("
         + _from_hpa("kube_horizontalpodautoscaler_spec_max_replicas") + ", " + release + "))"},
        {"record": "llm:tier_queue_depth_per_replica",
         "expr": "llm:tier_queue_depth / clamp_min(llm:tier_ready_replicas, 1)"},
        {"record": "llm:tier_error_ratio",
         "expr": "llm:tier_failed_request_rate / clamp_min(llm:tier_request_rate, 1e-9)"},
        {"record": "llm:tier_overloaded_ratio",
         "expr": "llm:tier_overloaded_request_rate / clamp_min(llm:tier_request_rate, 1e-9)"},
        {"record": "llm:tier_gpu_utilization_percent",
         "expr": f"avg by (tier, release) (DCGM_FI_DEV_GPU_UTIL * on (namespace, pod) group_left (tier, release) {pod_tier})"},
        {"record": "llm:tier_gpu_memory_used_ratio",
         "expr": (f"sum by (tier, release) (DCGM_FI_DEV_FB_USED * on (namespace, pod) group_left (tier, release) "
                  f"{pod_tier}) / sum by (tier, release) ((DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) "
                  f"* on (namespace, pod) group_left (tier, release) {pod_tier})")},
    ]
    for tier, price in sorted((replica_prices or {}).items()):
        rules.append({"record": "llm:tier_hourly_usd", "expr": f'llm:tier_replicas{{tier="{tier}"}} * {price}'})
    return rules


def _alert(name: str, tier: TierConfig, expr: str, for_: str, severity: str, summary: str,
           description: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, "tier": tier.name},
        "annotations": {"summary": summary, "description": description,
                        "runbook_url": f"{RUNBOOK}#{name.lower()}"},
    }


def tier_alerts(tier: TierConfig, namespace: str) -> list[dict[str, Any]]:
    """Alerts of one tier, thresholds from its config."""
    t = tier.name
    sel = f'{{tier="{t}"}}'
    queue_threshold = tier.autoscaling.queue_depth_per_replica * QUEUE_ALERT_FACTOR
    # Replica alerts watch the release that serves (the candidate, while a blue/green swap serves it).
    serving = f"{t}-{tier.serve}"
    hpa = f"keda-hpa-{serving}"
    alerts = [
        _alert("LlmTierQueueDepthHigh", tier, f"llm:tier_queue_depth_per_replica{sel} > {queue_threshold}",
               f"{tier.slo.queue_alert_minutes}m", "warning",
               f"Tier {t}: queue depth per replica above {queue_threshold}",
               f"More than {queue_threshold} requests per replica (twice the autoscaling target) have been "
               f"waiting for {tier.slo.queue_alert_minutes} minutes: the tier is not scaling fast enough."),
        _alert("LlmTierTtftP95High", tier, f"llm:tier_ttft_seconds:p95{sel} > {tier.slo.ttft_p95_seconds}", "10m",
               "warning", f"Tier {t}: P95 time to first token above {tier.slo.ttft_p95_seconds}s",
               f"P95 TTFT is above the tier's objective of {tier.slo.ttft_p95_seconds}s. TGI exports no TTFT "
               "metric: this signal is P95 queue time + P95 prefill time."),
        _alert("LlmTierErrorRateHigh", tier, f"llm:tier_error_ratio{sel} > {tier.slo.error_rate_percent / 100}",
               "5m", "critical", f"Tier {t}: more than {tier.slo.error_rate_percent}% of requests fail",
               f"More than {tier.slo.error_rate_percent}% of requests to the tier failed over 5 minutes."),
        _alert("LlmTierOverloaded", tier, f"llm:tier_overloaded_ratio{sel} > {OVERLOADED_ALERT_RATIO}", "5m",
               "warning", f"Tier {t}: more than {OVERLOADED_ALERT_RATIO:.0%} of requests answered 429",
               "Replicas are at --max-concurrent-requests and refuse requests with HTTP 429."),
        _alert("LlmTierGpuMemoryNearFull", tier, f"llm:tier_gpu_memory_used_ratio{sel} > {GPU_MEMORY_ALERT_RATIO}",
               "10m", "warning", f"Tier {t}: GPU memory above {GPU_MEMORY_ALERT_RATIO:.0%} used",
               f"GPU memory above {GPU_MEMORY_ALERT_RATIO:.0%}. TGI pre-allocates its KV cache, so ~90-95% is "
               "normal; above this, a process outside TGI or fragmentation may cause out-of-memory errors."),
        _alert("LlmTierAtMaxReplicasQueueGrowing", tier,
               (f'kube_horizontalpodautoscaler_status_current_replicas{{horizontalpodautoscaler="{hpa}"}}'
                f' >= kube_horizontalpodautoscaler_spec_max_replicas{{horizontalpodautoscaler="{hpa}"}}'
                f" and on () (deriv(llm:tier_queue_depth{sel}[10m]) > 0)"),
               "15m", "critical", f"Tier {t} is at its maximum replicas and its queue keeps growing",
               f"The autoscaler cannot add replicas (replicas.max = {tier.replicas.max}); raise replicas.max or "
               "the GPU class's maxGpus, or shed load."),
        _alert("LlmWeightsSyncFailed", tier,
               f'kube_job_status_failed{{namespace="{namespace}", job_name=~"{t}-sync-.*"}} > 0', "0m",
               "critical", f"Tier {t}: the weights sync Job failed",
               "The Job that downloads the tier's locked model revision failed (token, license, network or "
               "verification); new pods of this release cannot start."),
        _alert("LlmTierNoReadyReplica", tier,
               (f'kube_deployment_status_replicas_available{{namespace="{namespace}", deployment="{serving}"}} == 0'
                f' and kube_deployment_spec_replicas{{namespace="{namespace}", deployment="{serving}"}} > 0'),
               "5m", "critical", f"Tier {t} has no ready replica", "Every request to the tier fails."),
    ]
    return alerts


def rule_groups(tiers: Sequence[TierConfig], namespace: str,
                replica_prices: Optional[Mapping[str, float]] = None) -> list[dict[str, Any]]:
    """All groups: the TGI mapping, the engine-neutral signals, and per-tier alerts."""
    alerts = [a for t in tiers for a in tier_alerts(t, namespace)]
    groups = [{"name": ENGINE_GROUP, "interval": "30s", "rules": engine_rules_tgi()},
              {"name": SIGNALS_GROUP, "interval": "30s", "rules": signal_rules(replica_prices)}]
    if alerts:
        groups.append({"name": ALERTS_GROUP, "rules": alerts})
    return groups


