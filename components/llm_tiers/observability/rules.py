"""Recording and alert rules (pure): engine-neutral signals per tier, and the alerts built on them.

Every series is attributed by ``tier`` and ``release`` labels (the tier's PodMonitor adds ``tier``,
``release``, ``model_id`` and ``engine``; ``tiers/manifests.py`` ``pod_monitor``). One mapping per engine
records that engine's metrics under the names below, aggregated ``by (tier, release)``, and each recorded name
is one rule joining the engines' mappings with ``or``; HPAs (KEDA triggers), alerts and dashboards use only
these names. A release runs one engine, so a tier whose live release is TGI and whose candidate is vLLM gets
each signal per release from its own engine, and a third engine needs only its own mapping. The mappings select on the
metric names (``tgi_*``, ``vllm:*``) of series the PodMonitor
attributed (``tier!=""``), not on the ``engine`` label, so a pod whose engine label is missing or wrong still
feeds the signals.

| recorded name | meaning | TGI 3.3.6 | vLLM 0.33.0 |
|---|---|---|---|
| ``llm:tier_queue_depth`` | requests waiting, summed over the release's pods | ``tgi_queue_size`` | ``vllm:num_requests_waiting`` |
| ``llm:tier_running_requests`` | requests in the running batch | ``tgi_batch_current_size`` | ``vllm:num_requests_running`` |
| ``llm:tier_ready_replicas`` | pods of the release that report metrics | pods with ``tgi_queue_size`` | pods with ``vllm:num_requests_waiting`` |
| ``llm:tier_queue_depth_per_replica`` | queue depth / replicas | | |
| ``llm:tier_request_rate`` | requests finished or refused by the engine, per second | ``tgi_request_success`` + ``tgi_request_failure`` (not ``validation``/``template``) | ``vllm:request_success_total`` (every ``finished_reason``) + ``vllm:admission_rejections_total`` |
| ``llm:tier_failed_request_rate`` | requests the server failed or refused | ``tgi_request_failure{err=~"generation|incomplete|overloaded"}`` | ``finished_reason="error"`` + admission rejections |
| ``llm:tier_overloaded_request_rate`` | requests refused for load | ``err="overloaded"`` (HTTP 429) | ``vllm:admission_rejections_total`` |
| ``llm:tier_error_ratio`` | failed / all requests | | |
| ``llm:tier_overloaded_ratio`` | refused for load / all requests | | |
| ``llm:tier_request_latency_seconds:p95`` | P95 end-to-end request latency | ``tgi_request_duration`` | ``vllm:e2e_request_latency_seconds`` |
| ``llm:tier_ttft_seconds:p95`` | P95 time to first token | P95 queue + P95 prefill (*approximation*, below) | ``vllm:time_to_first_token_seconds`` (measured) |
| ``llm:tier_generated_tokens_rate`` | generated tokens per second | ``tgi_request_generated_tokens_sum`` | ``vllm:generation_tokens_total`` |
| ``llm:tier_kv_cache_usage_ratio`` | KV cache blocks in use, 0-1, mean over pods | **absent** (no such metric) | ``vllm:kv_cache_usage_perc`` |
| ``llm:tier_release_engine`` | pods per (tier, release, engine): which engine a release runs | ``up`` | ``up`` |
| ``llm:tier_gpu_utilization_percent`` | mean GPU utilization of the release's pods (DCGM) | | |
| ``llm:tier_gpu_memory_used_ratio`` | GPU framebuffer used / total (DCGM) | | |
| ``llm:tier_replicas`` / ``llm:tier_replicas_max`` | current and maximum replicas (KEDA's HPA) | | |
| ``llm:tier_hourly_usd`` | estimated on-demand cost per hour (replicas x the whole node a replica gets) | | |

Sources (metric names, types, labels):

- TGI v3.3.6 (github.com/huggingface/text-generation-inference): ``router/src/server.rs``,
  ``router/src/infer/mod.rs``, ``backends/v3/src/{backend,queue,lib}.rs``; exported by metrics-exporter-prometheus
  with no ``_total`` suffix and no labels but ``err`` (failures) and ``method`` (batch histograms)
  (``docs/source/reference/metrics.md``). A counter appears on its first increment, hence the ``or 0 * ...``
  below so a release that never failed records 0 failures, not nothing.
- vLLM 0.33.0 (the PyPI sdist, ``vllm/v1/metrics/loggers.py`` ``PrometheusStatLogger``): prometheus_client
  metrics labelled ``model_name`` and ``engine`` (the engine-core index, "0"); counters are exposed with
  ``_total``; ``vllm:request_success`` has ``finished_reason`` in stop/length/abort/error/repetition
  (``vllm/v1/engine/__init__.py`` ``FINISH_REASON_STRINGS``) and every label combination is created at start;
  ``vllm:admission_rejections`` has only ``model_name`` and ``reason`` (``max_num_queued_reqs``,
  ``max_num_queued_tokens``). vLLM's ``engine`` label collides with the PodMonitor's: Prometheus keeps the
  target's and renames the scraped one to ``exported_engine``, which the PodMonitor renames to
  ``engine_index``. Everything here sums ``by (tier, release)`` and counts replicas by pod, so several engine
  cores in one pod (data parallel) are summed, not counted as replicas.

What counts as a request and an error (the same for both engines): a request the engine finished or refused
for load; client-caused failures (TGI ``validation``/``template``: HTTP 4xx) are left out of both, because vLLM
rejects them in its HTTP frontend before its engine metrics see them, and a tenant sending bad requests is not a
tier failing. A client that went away (TGI ``dropped``, vLLM ``abort``) is a request but not an error.

TGI's ``tgi_request_count`` is not used: ``chat_completions`` and ``completions`` increment it and then call
``generate_internal``/``generate_stream_internal``, which increment it again (server.rs), so every OpenAI-route
request counts twice and ratios over it are off by 2x. ``tgi_request_success`` is incremented once per request
(in ``generate_internal`` or at the end of the stream) and each failure once, where it happens.

TTFT: TGI 3.3 exports no time-to-first-token metric. Its recorded signal is P95 queue time + P95 prefill
forward time: the two phases a request passes before its first token. Adding two P95s over-estimates the
P95 of the sum a little, which errs on the side of alerting. vLLM's is its own TTFT histogram.

KV cache: TGI 3.3.6 has no KV-cache usage metric. ``tgi_batch_current_max_tokens`` / ``tgi_batch_max_total_tokens``
is the router's *reserved* token budget (each request reserves input + max new tokens when it is batched,
``backends/v3/src/queue.rs``), not blocks in use, so recording it under the same name would make one threshold
mean two things; ``llm:tier_kv_cache_usage_ratio`` is absent for TGI releases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from llm_tiers.config.schema import TierConfig

WINDOW = "5m"
ENGINE_GROUP = "llm-engine-signals"
SIGNALS_GROUP = "llm-tier-signals"
ALERTS_GROUP = "llm-tier-alerts"
RUNBOOK = "docs/runbook.md"  # relative to the repository; the alert names are its anchors
# Queue depth per replica alerts at twice the autoscaler's target: the autoscaler holds the target; twice
# it for minutes means it cannot (max replicas, no GPU capacity, or a stuck replica).
QUEUE_ALERT_FACTOR = 2
# Both engines pre-allocate their KV cache: TGI fills what is free after warm-up less 10%, vLLM takes
# --gpu-memory-utilization (0.92) of the GPU's total; ~90-95% used is normal.
GPU_MEMORY_ALERT_RATIO = 0.98
OVERLOADED_ALERT_RATIO = 0.01
# Series the tier's PodMonitor attributed (it sets tier on every target it scrapes).
ATTRIBUTED = 'tier!=""'
# TGI failures that are the server's (or load's) fault; validation/template are the client's, dropped is a
# client that went away (router/src/infer/mod.rs, router/src/server.rs, backends/v3/src/{backend,queue}.rs).
TGI_SERVER_FAILURES = "generation|incomplete|overloaded"
TGI_CLIENT_FAILURES = "validation|template"


def _sum_by_tier(expr: str) -> str:
    # By release too: during a blue/green swap each release scales on its own traffic.
    return f"sum by (tier, release) ({expr})"


def _m(metric: str, extra: str = "") -> str:
    return metric + "{" + ATTRIBUTED + ("," + extra if extra else "") + "}"


def _rate(series: str) -> str:
    return "rate(" + series + "[" + WINDOW + "])"


def _p95(bucket_series: str) -> str:
    return "histogram_quantile(0.95, sum by (tier, release, le) (" + _rate(bucket_series) + "))"


def _pods(series: str) -> str:
    """Pods reporting ``series``: counted by pod, so several engine cores in one pod are one replica."""
    return f"count by (tier, release) (count by (tier, release, namespace, pod) ({series}))"


def engine_rules_tgi() -> list[dict[str, Any]]:
    """TGI 3.3.6 metrics -> engine-neutral names (no _total suffix; see the module docstring for sources)."""
    zero = "0 * " + _rate(_m("tgi_request_success"))  # 0 per release once it has succeeded at all
    return [
        {"record": "llm:tier_queue_depth", "expr": _sum_by_tier(_m("tgi_queue_size"))},
        {"record": "llm:tier_running_requests", "expr": _sum_by_tier(_m("tgi_batch_current_size"))},
        {"record": "llm:tier_ready_replicas", "expr": _pods(_m("tgi_queue_size"))},
        # Not tgi_request_count: the OpenAI routes count each request twice in it (server.rs).
        {"record": "llm:tier_request_rate",
         "expr": _sum_by_tier(_rate(_m("tgi_request_success")) + " or "
                              + _rate(_m("tgi_request_failure", f'err!~"{TGI_CLIENT_FAILURES}"')))},
        {"record": "llm:tier_failed_request_rate",
         "expr": _sum_by_tier(_rate(_m("tgi_request_failure", f'err=~"{TGI_SERVER_FAILURES}"')) + " or " + zero)},
        {"record": "llm:tier_overloaded_request_rate",
         "expr": _sum_by_tier(_rate(_m("tgi_request_failure", 'err="overloaded"')) + " or " + zero)},
        {"record": "llm:tier_request_latency_seconds:p95", "expr": _p95(_m("tgi_request_duration_bucket"))},
        # TTFT approximation: P95 queue time + P95 prefill forward time (TGI has no TTFT metric).
        {"record": "llm:tier_ttft_seconds:p95",
         "expr": _p95(_m("tgi_request_queue_duration_bucket")) + " + "
                 + _p95(_m("tgi_batch_forward_duration_bucket", 'method="prefill"'))},
        {"record": "llm:tier_generated_tokens_rate",
         "expr": _sum_by_tier(_rate(_m("tgi_request_generated_tokens_sum")))},
        # No llm:tier_kv_cache_usage_ratio: TGI exports no KV-cache usage (module docstring).
    ]


def engine_rules_vllm() -> list[dict[str, Any]]:
    """vLLM 0.33.0 metrics -> engine-neutral names (vllm/v1/metrics/loggers.py; counters end in _total)."""
    rejected = _rate(_m("vllm:admission_rejections_total"))
    return [
        {"record": "llm:tier_queue_depth", "expr": _sum_by_tier(_m("vllm:num_requests_waiting"))},
        {"record": "llm:tier_running_requests", "expr": _sum_by_tier(_m("vllm:num_requests_running"))},
        {"record": "llm:tier_ready_replicas", "expr": _pods(_m("vllm:num_requests_waiting"))},
        {"record": "llm:tier_request_rate",
         "expr": _sum_by_tier(_rate(_m("vllm:request_success_total")) + " or " + rejected)},
        {"record": "llm:tier_failed_request_rate",
         "expr": _sum_by_tier(_rate(_m("vllm:request_success_total", 'finished_reason="error"')) + " or " + rejected)},
        {"record": "llm:tier_overloaded_request_rate", "expr": _sum_by_tier(rejected)},
        {"record": "llm:tier_request_latency_seconds:p95", "expr": _p95(_m("vllm:e2e_request_latency_seconds_bucket"))},
        {"record": "llm:tier_ttft_seconds:p95", "expr": _p95(_m("vllm:time_to_first_token_seconds_bucket"))},
        {"record": "llm:tier_generated_tokens_rate", "expr": _sum_by_tier(_rate(_m("vllm:generation_tokens_total")))},
        {"record": "llm:tier_kv_cache_usage_ratio",
         "expr": f"avg by (tier, release) ({_m('vllm:kv_cache_usage_perc')})"},
    ]


ENGINE_RULES = {"tgi": engine_rules_tgi, "vllm": engine_rules_vllm}


def engine_rules() -> list[dict[str, Any]]:
    """One recording rule per signal: each engine's mapping joined with ``or``. Two rules recording the same
    name would be evaluated independently (promtool flags them); ``or`` keeps one writer per series. A release
    runs one engine, so the operands never overlap on a (tier, release); if they did, the first engine's
    series wins rather than two writers colliding."""
    exprs: dict[str, list[str]] = {}
    for build in ENGINE_RULES.values():
        for rule in build():
            exprs.setdefault(rule["record"], []).append(rule["expr"])
    return [{"record": name, "expr": " or ".join(f"({e})" for e in parts) if len(parts) > 1 else parts[0]}
            for name, parts in exprs.items()]


def dcgm(metric: str) -> str:
    """A DCGM series with the GPU's workload pod in ``namespace``/``pod``. DCGM exporter labels each GPU's
    series with the pod using it (``pod``, ``namespace``, ``container``: NVIDIA/dcgm-exporter 4.5.3-4.8.2
    ``internal/pkg/transformation/const.go``). Its chart's ServiceMonitor defaults to ``honorLabels: false``
    (``deployment/values.yaml``), under which Prometheus keeps the target's own namespace/pod (the exporter's)
    and renames the GPU's to ``exported_namespace``/``exported_pod``. The Observability component sets
    ``honorLabels: true``; this also reads the ``exported_*`` labels where they exist, so a DCGM exporter
    installed with the chart's defaults (ModelTier on a cluster the team already runs) still joins."""
    return (f'label_replace(label_replace({metric}, "namespace", "$1", "exported_namespace", "(.+)"), '
            '"pod", "$1", "exported_pod", "(.+)")')


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
         "expr": f"avg by (tier, release) ({dcgm('DCGM_FI_DEV_GPU_UTIL')} * on (namespace, pod) group_left (tier, release) {pod_tier})"},
        {"record": "llm:tier_gpu_memory_used_ratio",
         "expr": (f"sum by (tier, release) ({dcgm('DCGM_FI_DEV_FB_USED')} * on (namespace, pod) group_left (tier, release) "
                  f"{pod_tier}) / sum by (tier, release) (({dcgm('DCGM_FI_DEV_FB_USED')} + {dcgm('DCGM_FI_DEV_FB_FREE')}) "
                  f"* on (namespace, pod) group_left (tier, release) {pod_tier})")},
        # Which engine each release runs (from the scrape targets' engine label), for dashboards.
        {"record": "llm:tier_release_engine", "expr": f'count by (tier, release, engine) (up{{{ATTRIBUTED},engine!=""}})'},
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
               f"P95 TTFT is above the tier's objective of {tier.slo.ttft_p95_seconds}s. vLLM measures TTFT; "
               "TGI exports no TTFT metric, so for a TGI release this signal is P95 queue time + P95 prefill time."),
        _alert("LlmTierErrorRateHigh", tier, f"llm:tier_error_ratio{sel} > {tier.slo.error_rate_percent / 100}",
               "5m", "critical", f"Tier {t}: more than {tier.slo.error_rate_percent}% of requests fail",
               f"More than {tier.slo.error_rate_percent}% of requests to the tier failed in the engine or were "
               "refused for load over 5 minutes (client errors and disconnects are not counted)."),
        _alert("LlmTierOverloaded", tier, f"llm:tier_overloaded_ratio{sel} > {OVERLOADED_ALERT_RATIO}", "5m",
               "warning", f"Tier {t}: more than {OVERLOADED_ALERT_RATIO:.0%} of requests refused for load",
               "Replicas refuse requests: TGI at --max-concurrent-requests (HTTP 429), vLLM at a queue limit "
               "(admission rejections)."),
        _alert("LlmTierGpuMemoryNearFull", tier, f"llm:tier_gpu_memory_used_ratio{sel} > {GPU_MEMORY_ALERT_RATIO}",
               "10m", "warning", f"Tier {t}: GPU memory above {GPU_MEMORY_ALERT_RATIO:.0%} used",
               f"GPU memory above {GPU_MEMORY_ALERT_RATIO:.0%}. Both engines pre-allocate their KV cache, so ~90-95% "
               "is normal; above this, a process outside the engine or fragmentation may cause out-of-memory "
               "errors."),
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
    """All groups: the engines' mappings, the engine-neutral signals, and per-tier alerts. Every engine's
    mapping is always present: a tier's live and candidate releases may run different engines, and a release
    switching engine must not wait for a rules update."""
    alerts = [a for t in tiers for a in tier_alerts(t, namespace)]
    groups = [{"name": ENGINE_GROUP, "interval": "30s", "rules": engine_rules()},
              {"name": SIGNALS_GROUP, "interval": "30s", "rules": signal_rules(replica_prices)}]
    if alerts:
        groups.append({"name": ALERTS_GROUP, "rules": alerts})
    return groups


