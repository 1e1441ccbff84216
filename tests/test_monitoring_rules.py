"""Recording and alert rules: promtool checks them and unit-tests every alert firing on a synthetic series
and staying silent on a healthy one, for TGI and for vLLM releases, with series labelled as Prometheus stores
them (the tier's PodMonitor relabelling and Prometheus's label-conflict handling applied to what each engine
and the DCGM exporter expose)."""

from __future__ import annotations

import re
import subprocess
import types
from pathlib import Path

import pytest
import yaml

from conftest import upstream_input

from llm_tiers.observability import component as observability
from llm_tiers.observability import rules as mr
from llm_tiers.config.schema import TierConfig
from llm_tiers.tiers import autoscaling
from llm_tiers import versions

TIER = TierConfig.model_validate({
    "name": "chat", "modelId": "o/m", "gpuClass": "l4", "maxInputTokens": 4096, "maxTotalTokens": 8192,
    "replicas": {"min": 1, "max": 4}, "autoscaling": {"queueDepthPerReplica": 8},
    "slo": {"ttftP95Seconds": 1.5, "errorRatePercent": 2, "queueAlertMinutes": 10}})
NS = "llm-tiers"
ENGINES = ("tgi", "vllm")
IMAGES = {"tgi": versions.IMAGES["tgi"], "vllm": versions.IMAGES.get("vllm", "vllm/vllm-openai:v0.33.0")}



@pytest.fixture(scope="module")
def rules_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": mr.rule_groups([TIER], NS, {"chat": 0.5})}, sort_keys=False))
    return path


def _promtool_test(promtool: str, rules_file: Path, tests: list[dict], name: str = "tests.yaml"):
    path = rules_file.parent / name
    path.write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "30s", "tests": tests},
                                   sort_keys=False))
    return subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, cwd=rules_file.parent)


def _ok(out) -> None:
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_promtool_checks_the_rules(promtool, rules_file):
    out = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True, text=True)
    _ok(out)  # also: no two rules record the same series (promtool warns, and the check then prints no SUCCESS)


def test_every_alert_has_severity_summary_description_and_runbook():
    alerts = mr.tier_alerts(TIER, NS)
    assert {a["alert"] for a in alerts} == set(ALERT_CASES)
    for a in alerts:
        assert a["labels"]["severity"] in ("warning", "critical") and a["labels"]["tier"] == "chat"
        assert a["annotations"]["summary"] and a["annotations"]["description"]
        assert a["annotations"]["runbook_url"] == f"docs/runbook.md#{a['alert'].lower()}"
    runbook = (Path(__file__).resolve().parents[1] / "docs" / "runbook.md").read_text().lower()
    assert all(f"## {a['alert'].lower()}" in runbook for a in alerts), "every alert has a runbook section"


# ------------------------------------------------------------------ how series arrive in Prometheus
# Relabelling as Prometheus applies it (docs/configuration/configuration.md, <relabel_config>): regexes are
# anchored, source labels joined with ";", "replace" writes the expanded replacement when the regex matches (an
# empty result removes the label), "labeldrop" removes the labels whose name matches. honor_labels false:
# a scraped label that is also a target label is renamed exported_<name> and the target's is kept; true: the
# scraped one wins. metric_relabel_configs run on the merged labels.

def _relabel(labels: dict[str, str], configs: list[dict]) -> dict[str, str]:
    out = dict(labels)
    for c in configs:
        regex = re.compile(c.get("regex", "(.*)"))
        if c["action"] == "labeldrop":
            out = {k: v for k, v in out.items() if not regex.fullmatch(k)}
            continue
        assert c["action"] == "replace", c
        value = ";".join(out.get(s, "") for s in c.get("sourceLabels", []))
        m = regex.fullmatch(value)
        if m:
            new = m.expand(re.sub(r"\$(\d+)", r"\\g<\1>", c.get("replacement", "$1")))
            if new:
                out[c["targetLabel"]] = new
            else:
                out.pop(c["targetLabel"], None)
    return out


def _merge(scraped: dict[str, str], target: dict[str, str], honor: bool) -> dict[str, str]:
    out = dict(scraped)
    for name, value in target.items():
        if name in out and not honor:
            out["exported_" + name] = out.pop(name)
        if name not in out:
            out[name] = value
    return out


def _pod_targets(release: str, pod: str, engine_label: str | None, image: str) -> tuple[dict, list[dict]]:
    """A tier pod's scrape target labels (prometheus-operator's own job/namespace/pod/container labels plus
    the rendered PodMonitor's relabelings) and the PodMonitor's metricRelabelings."""
    (endpoint,) = autoscaling.pod_monitor(TIER, NS)["spec"]["podMetricsEndpoints"]
    meta = {"__meta_kubernetes_pod_label_llm_tiers_io_release": release,
            "__meta_kubernetes_pod_annotation_llm_tiers_io_model": "o/m",
            "__meta_kubernetes_pod_container_image": image}
    if engine_label is not None:
        meta["__meta_kubernetes_pod_label_llm_tiers_io_engine"] = engine_label
    base = {"job": f"{NS}/chat", "namespace": NS, "pod": pod, "container": "server", "endpoint": "http"}
    target = _relabel({**base, **meta}, endpoint["relabelings"])
    return {k: v for k, v in target.items() if not k.startswith("__")}, endpoint.get("metricRelabelings", [])


def _labels(d: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in sorted(d.items()))


class Pod:
    """One engine pod of the tier as Prometheus stores its series: ``series(metric, scraped_labels)`` gives the
    promtool series string for what the engine exposes."""

    def __init__(self, engine: str, release: str = "live", n: int = 1, engine_label: bool = True):
        self.engine, self.release = engine, release
        self.name = f"chat-{release}-{n}"
        self.target, self.metric_relabel = _pod_targets(release, self.name, engine if engine_label else None,
                                                       IMAGES[engine])
        # What the engine labels its own series with: vLLM 0.33.0 adds model_name and engine (the engine-core
        # index) to every metric; TGI 3.3.6 none.
        self.own = {"model_name": "chat", "engine": "0"} if engine == "vllm" else {}

    def series(self, metric: str, labels: dict[str, str] | None = None, own: bool = True) -> str:
        scraped = {**(self.own if own else {}), **(labels or {})}
        return metric + "{" + _labels(_relabel(_merge(scraped, self.target, honor=False), self.metric_relabel)) + "}"


def _gauge(pod: Pod, tgi: str, vllm: str, values: str) -> list[dict]:
    return [{"series": pod.series(tgi if pod.engine == "tgi" else vllm), "values": values}]


def queue(pod: Pod, values: str) -> list[dict]:
    return _gauge(pod, "tgi_queue_size", "vllm:num_requests_waiting", values)


def running(pod: Pod, values: str) -> list[dict]:
    return _gauge(pod, "tgi_batch_current_size", "vllm:num_requests_running", values)


def requests(pod: Pod, ok: int, failed: int = 0, overloaded: int = 0, invalid: int = 0, gone: int = 0,
             n: int = 60) -> list[dict]:
    """Counters for ``ok`` successful, ``failed`` server-failed, ``overloaded`` refused, ``invalid`` client-error
    and ``gone`` client-disconnected requests per 30 s, all through /v1/chat/completions."""
    c = lambda series, step: {"series": series, "values": f"0+{step}x{n}"}  # noqa: E731
    if pod.engine == "tgi":
        # TGI 3.3.6 (router/src/server.rs): chat_completions increments tgi_request_count, then
        # generate_internal / generate_stream_internal increments it again; success once; each failure once.
        # metrics-exporter-prometheus shows a counter only after its first increment.
        out = [c(pod.series("tgi_request_count"), 2 * (ok + failed + overloaded + invalid + gone))]
        if ok:
            out.append(c(pod.series("tgi_request_success"), ok))
        for err, step in (("generation", failed), ("overloaded", overloaded), ("validation", invalid),
                          ("dropped", gone)):
            if step:
                out.append(c(pod.series("tgi_request_failure", {"err": err}), step))
        return out
    # vLLM 0.33.0 (vllm/v1/metrics/loggers.py): every finished_reason and admission reason exists from the
    # start; a client error (HTTP 400) is refused in the frontend and reaches no engine metric.
    out = [c(pod.series("vllm:request_success_total", {"finished_reason": reason}), step)
           for reason, step in (("stop", ok), ("length", 0), ("abort", gone), ("error", failed), ("repetition", 0))]
    for reason, step in (("max_num_queued_reqs", overloaded), ("max_num_queued_tokens", 0)):
        # admission_rejections carries only model_name and reason: no engine label to collide.
        out.append(c(pod.series("vllm:admission_rejections_total", {"model_name": "chat", "reason": reason},
                                own=False), step))
    return out


def _hist(pod: Pod, metric: str, buckets: dict[str, int], extra: dict | None = None, n: int = 60) -> list[dict]:
    return [{"series": pod.series(metric + "_bucket", {**(extra or {}), "le": le}), "values": f"0+{step}x{n}"}
            for le, step in buckets.items()]


def ttft(pod: Pod, slow: bool) -> list[dict]:
    """Observations that give the same P95 TTFT for both engines: 9.55 s when slow, 0.95 s when fast. TGI's is
    P95 queue + P95 prefill (2 x (0.5 + 0.95 x 4.5), or 2 x 0.95 x 0.5), vLLM's its TTFT histogram
    (1 + 0.95 x 9, or 0.95 x 1)."""
    if pod.engine == "tgi":
        b = {"0.5": 0, "5": 10, "+Inf": 10} if slow else {"0.5": 10, "5": 10, "+Inf": 10}
        return (_hist(pod, "tgi_request_queue_duration", b)
                + _hist(pod, "tgi_batch_forward_duration", b, {"method": "prefill"}))
    b = {"1": 0, "10": 10, "+Inf": 10} if slow else {"1": 10, "10": 10, "+Inf": 10}
    return _hist(pod, "vllm:time_to_first_token_seconds", b)


def latency(pod: Pod) -> list[dict]:
    """End-to-end latencies all in (5, 10]: P95 9.75 s."""
    metric = "tgi_request_duration" if pod.engine == "tgi" else "vllm:e2e_request_latency_seconds"
    return _hist(pod, metric, {"5": 0, "10": 10, "+Inf": 10})


def tokens(pod: Pod, per_step: int) -> list[dict]:
    if pod.engine == "tgi":
        return [{"series": pod.series("tgi_request_generated_tokens_sum"), "values": f"0+{per_step}x60"}]
    return [{"series": pod.series("vllm:generation_tokens_total"), "values": f"0+{per_step}x60"}]


def dcgm(metric: str, pod: Pod, value: str, honor: bool, gpu: str = "0") -> dict:
    """A DCGM exporter series for the GPU ``pod`` uses, as Prometheus stores it under the exporter's
    ServiceMonitor with ``honorLabels`` = ``honor``."""
    scraped = {"gpu": gpu, "UUID": f"GPU-{pod.name}-{gpu}", "modelName": "NVIDIA L4", "Hostname": "ip-10-0-1-2",
               "namespace": NS, "pod": pod.name, "container": "server"}
    target = {"job": "dcgm-exporter", "namespace": "monitoring", "pod": "dcgm-exporter-x7k2p",
              "service": "dcgm-exporter", "endpoint": "metrics", "container": "exporter", "instance": "10.0.1.2:9400"}
    return {"series": metric + "{" + _labels(_merge(scraped, target, honor)) + "}", "values": value}


def pod_labels(pod: Pod) -> dict:
    # kube-state-metrics (honorLabels true in kube-prometheus-stack) with the tier and release labels allowed.
    return {"series": f'kube_pod_labels{{namespace="{NS}",pod="{pod.name}",label_llm_tiers_io_tier="chat",'
                      f'label_llm_tiers_io_release="{pod.release}",job="kube-state-metrics"}}', "values": "1x60"}


def _rendered_dcgm_honor_labels() -> bool:
    rendered = observability.dcgm_values()["serviceMonitor"]
    if "honorLabels" in rendered:
        return rendered["honorLabels"]
    defaults = upstream_input("CHART_VALUES_DIR") / "dcgm-exporter" / "values.yaml"
    return yaml.safe_load(defaults.read_text())["serviceMonitor"]["honorLabels"]


def _hpa(current: int, maximum: int) -> list[dict]:
    hpa = f'namespace="{NS}",horizontalpodautoscaler="keda-hpa-chat-live"'
    return [{"series": f"kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}}", "values": f"{current}x60"},
            {"series": f"kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}}", "values": f"{maximum}x60"}]


def _gpu_memory(pod: Pod, used: int) -> list[dict]:
    honor = _rendered_dcgm_honor_labels()
    return [dcgm("DCGM_FI_DEV_FB_USED", pod, f"{used}x60", honor),
            dcgm("DCGM_FI_DEV_FB_FREE", pod, f"{100 - used}x60", honor), pod_labels(pod)]


def _deployment(available: int, spec: int) -> list[dict]:
    d = f'namespace="{NS}",deployment="chat-live"'
    return [{"series": f"kube_deployment_status_replicas_available{{{d}}}", "values": f"{available}x60"},
            {"series": f"kube_deployment_spec_replicas{{{d}}}", "values": f"{spec}x60"}]


def _job(failed: int) -> list[dict]:
    return [{"series": f'kube_job_status_failed{{namespace="{NS}",job_name="chat-sync-a09a35458c"}}',
             "values": f"{failed}x60"}]


LIVE = {"release": "live"}  # alerts on llm:tier_* series carry the release they fire for
# alert -> (series when firing, series when healthy (each a function of the engine pod), eval time, extra labels)
ALERT_CASES = {
    "LlmTierQueueDepthHigh": (lambda p: queue(p, "40x60"), lambda p: queue(p, "4x60"), "15m", LIVE),
    "LlmTierTtftP95High": (lambda p: ttft(p, True), lambda p: ttft(p, False), "20m", LIVE),
    "LlmTierErrorRateHigh": (lambda p: requests(p, ok=9, failed=1), lambda p: requests(p, ok=10, invalid=1, gone=1),
                             "15m", LIVE),
    "LlmTierOverloaded": (lambda p: requests(p, ok=95, overloaded=5), lambda p: requests(p, ok=100), "15m", LIVE),
    "LlmTierGpuMemoryNearFull": (lambda p: _gpu_memory(p, 99), lambda p: _gpu_memory(p, 93), "20m", LIVE),
    "LlmTierAtMaxReplicasQueueGrowing": (
        lambda p: _hpa(4, 4) + queue(p, "0+2x60"), lambda p: _hpa(4, 4) + queue(p, "12x60"), "28m",
        {"namespace": NS, "horizontalpodautoscaler": "keda-hpa-chat-live"}),
    "LlmWeightsSyncFailed": (lambda p: _job(1), lambda p: _job(0), "1m",
                             {"namespace": NS, "job_name": "chat-sync-a09a35458c"}),
    # Scaled to zero on purpose (a sporadic tier): no replica is expected, no alert.
    "LlmTierNoReadyReplica": (lambda p: _deployment(0, 2), lambda p: _deployment(0, 0), "10m",
                              {"namespace": NS, "deployment": "chat-live"}),
}


def _alert_tests(engine: str) -> list[dict]:
    by_name = {a["alert"]: a for a in mr.tier_alerts(TIER, NS)}
    tests = []
    for name, (firing, healthy, at, extra) in ALERT_CASES.items():
        rule = by_name[name]
        expected = {"exp_labels": {**rule["labels"], **extra}, "exp_annotations": rule["annotations"]}
        tests.append({"interval": "30s", "input_series": firing(Pod(engine)),
                      "alert_rule_test": [{"eval_time": at, "alertname": name, "exp_alerts": [expected]}]})
        tests.append({"interval": "30s", "input_series": healthy(Pod(engine)),
                      "alert_rule_test": [{"eval_time": at, "alertname": name, "exp_alerts": []}]})
    return tests


@pytest.mark.parametrize("engine", ENGINES)
def test_alerts_fire_on_synthetic_series_and_stay_silent_when_healthy(promtool, rules_file, engine):
    _ok(_promtool_test(promtool, rules_file, _alert_tests(engine), f"alerts-{engine}.yaml"))


def _within(name: str, value: float, labels: str, at: str = "10m") -> dict:
    """The series ``name{labels}`` exists alone and equals ``value`` (within 1e-4)."""
    expr = name + labels
    return {"expr": f"({expr} > bool {value - 1e-4}) * ({expr} < bool {value + 1e-4})", "eval_time": at,
            "exp_samples": [{"labels": labels, "value": 1}]}


SIGNALS = {  # recorded name -> value from _traffic (the same for both engines)
    "llm:tier_queue_depth": 8, "llm:tier_running_requests": 16, "llm:tier_ready_replicas": 2,
    "llm:tier_queue_depth_per_replica": 4,
    # per 30 s per pod: 20 ok + 1 failed + 2 overloaded + 1 gone (+ 3 client errors, not counted) = 24
    "llm:tier_request_rate": 2 * 24 / 30, "llm:tier_failed_request_rate": 2 * 3 / 30,
    "llm:tier_overloaded_request_rate": 2 * 2 / 30, "llm:tier_error_ratio": 3 / 24, "llm:tier_overloaded_ratio": 2 / 24,
    "llm:tier_ttft_seconds:p95": 9.55, "llm:tier_request_latency_seconds:p95": 9.75,
    "llm:tier_generated_tokens_rate": 2 * 300 / 30,
}


def _traffic(release: str, engine: str) -> list[dict]:
    series = []
    for n, (q, r) in enumerate(((6, 10), (2, 6)), start=1):
        p = Pod(engine, release, n)
        series += (queue(p, f"{q}x60") + running(p, f"{r}x60") + ttft(p, True) + latency(p) + tokens(p, 300)
                   + requests(p, ok=20, failed=1, overloaded=2, invalid=3, gone=1))
    return series


@pytest.mark.parametrize("engine", ENGINES)
def test_both_engines_record_the_same_signals(promtool, rules_file, engine):
    sel = 'tier="chat",release="live"'
    checks = [_within(name, value, "{" + sel + "}") for name, value in SIGNALS.items()]
    _ok(_promtool_test(promtool, rules_file, [{"interval": "30s", "input_series": _traffic("live", engine),
                                               "promql_expr_test": checks}], f"signals-{engine}.yaml"))


def test_a_tier_with_a_tgi_live_and_a_vllm_candidate_gets_each_releases_signals_and_triggers(promtool, rules_file):
    """Mixed engines per release: every signal per release, the KEDA triggers' own queries per release, the
    engine of each release, and vLLM's KV-cache use (TGI exports none, so it stays absent for the live one)."""
    candidate = Pod("vllm", "candidate", 1)
    series = (_traffic("live", "tgi") + _traffic("candidate", "vllm")
              + [{"series": candidate.series("vllm:kv_cache_usage_perc"), "values": "0.5x60"}]
              + [{"series": f'up{{{_labels(Pod(e, r, n).target)}}}', "values": "1x60"}
                 for e, r in (("tgi", "live"), ("vllm", "candidate")) for n in (1, 2)])
    checks = [_within(name, value, f'{{tier="chat",release="{release}"}}')
              for release in ("live", "candidate") for name, value in SIGNALS.items()]
    for release in ("live", "candidate"):
        so = autoscaling.scaled_object(TIER, types.SimpleNamespace(name=release), NS, "http://prometheus:9090",
                                          "llm-gateway")
        query = {t["name"]: t["metadata"]["query"] for t in so["spec"]["triggers"]}["queue-depth"]
        checks.append({"expr": query, "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": 8}]})
    checks.append({"expr": "llm:tier_release_engine", "eval_time": "10m", "exp_samples": [
        {"labels": 'llm:tier_release_engine{tier="chat",release="live",engine="tgi"}', "value": 2},
        {"labels": 'llm:tier_release_engine{tier="chat",release="candidate",engine="vllm"}', "value": 2}]})
    checks.append({"expr": "llm:tier_kv_cache_usage_ratio", "eval_time": "10m", "exp_samples": [
        {"labels": 'llm:tier_kv_cache_usage_ratio{tier="chat",release="candidate"}', "value": 0.5}]})
    _ok(_promtool_test(promtool, rules_file, [{"interval": "30s", "input_series": series,
                                               "promql_expr_test": checks}], "mixed.yaml"))


def test_tgi_chat_requests_are_counted_once(promtool, rules_file):
    """TGI counts every /v1/chat/completions request twice in tgi_request_count: 3% of requests failing is
    3%, not 1.5%, and fires the 2% error alert (a rule on tgi_request_count would read 1.5% and stay silent)."""
    p = Pod("tgi")
    series = requests(p, ok=97, failed=3)
    rule = {a["alert"]: a for a in mr.tier_alerts(TIER, NS)}["LlmTierErrorRateHigh"]
    _ok(_promtool_test(promtool, rules_file, [{
        "interval": "30s", "input_series": series,
        "promql_expr_test": [_within("llm:tier_request_rate", 100 / 30, '{tier="chat",release="live"}'),
                             _within("llm:tier_error_ratio", 0.03, '{tier="chat",release="live"}')],
        "alert_rule_test": [{"eval_time": "15m", "alertname": rule["alert"], "exp_alerts": [
            {"exp_labels": {**rule["labels"], **LIVE}, "exp_annotations": rule["annotations"]}]}]}],
        "double-count.yaml"))


def test_a_tgi_release_that_never_failed_records_zero_errors(promtool, rules_file):
    """TGI's failure counter does not exist before the first failure: the error ratio is 0, not absent."""
    _ok(_promtool_test(promtool, rules_file, [{
        "interval": "30s", "input_series": requests(Pod("tgi"), ok=10),
        "promql_expr_test": [{"expr": "llm:tier_error_ratio", "eval_time": "10m", "exp_samples": [
            {"labels": 'llm:tier_error_ratio{tier="chat",release="live"}', "value": 0}]}]}], "no-failures.yaml"))


@pytest.mark.parametrize("honor", [False, True], ids=["chart-default-honorLabels-false", "rendered-honorLabels-true"])
def test_gpu_utilization_joins_dcgm_series_as_they_arrive(promtool, rules_file, honor):
    """The DCGM exporter names the GPU's pod in pod/namespace; with the chart's honorLabels false Prometheus
    stores them as exported_pod/exported_namespace. Either way the tier's GPU utilization (and the KEDA GPU
    trigger's query) reads the GPUs of the release's pods: 60 and 80 -> 70."""
    pods = [Pod("tgi", "live", 1), Pod("tgi", "live", 2)]
    series = [dcgm("DCGM_FI_DEV_GPU_UTIL", p, f"{u}x60", honor) for p, u in zip(pods, (60, 80))]
    series += [pod_labels(p) for p in pods]
    so = autoscaling.scaled_object(TIER, types.SimpleNamespace(name="live"), NS, "http://prometheus:9090",
                                      "llm-gateway")
    gpu_query = {t["name"]: t["metadata"]["query"] for t in so["spec"]["triggers"]}["gpu-utilization"]
    _ok(_promtool_test(promtool, rules_file, [{"interval": "30s", "input_series": series, "promql_expr_test": [
        {"expr": "llm:tier_gpu_utilization_percent", "eval_time": "5m", "exp_samples": [
            {"labels": 'llm:tier_gpu_utilization_percent{tier="chat",release="live"}', "value": 70}]},
        {"expr": gpu_query, "eval_time": "5m", "exp_samples": [{"labels": "{}", "value": 70}]}]}],
        f"dcgm-{honor}.yaml"))


def test_the_dcgm_exporter_keeps_the_gpus_pod_labels(chart_values):
    """The chart's default is honorLabels false (pinned values.yaml); the rendered values turn it on, so raw DCGM
    series carry the workload's pod and namespace too."""
    defaults = yaml.safe_load((chart_values / "dcgm-exporter" / "values.yaml").read_text())["serviceMonitor"]
    assert defaults["honorLabels"] is False
    assert _rendered_dcgm_honor_labels() is True


def test_recorded_signals_by_value(promtool, rules_file):
    """Per-replica queue depth, and replicas and cost from KEDA's HPA name."""
    hpa = f'namespace="{NS}",horizontalpodautoscaler="keda-hpa-chat-live"'
    tests = [{"interval": "30s",
              "input_series": [{"series": f"kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}}",
                                "values": "3x20"},
                               {"series": f"kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}}",
                                "values": "4x20"}],
              "promql_expr_test": [
                  {"expr": "llm:tier_replicas", "eval_time": "5m",
                   "exp_samples": [{"labels": 'llm:tier_replicas{tier="chat",release="live"}', "value": 3}]},
                  {"expr": "llm:tier_replicas_max", "eval_time": "5m",
                   "exp_samples": [{"labels": 'llm:tier_replicas_max{tier="chat",release="live"}', "value": 4}]},
                  {"expr": "llm:tier_hourly_usd", "eval_time": "5m",
                   "exp_samples": [{"labels": 'llm:tier_hourly_usd{tier="chat",release="live"}', "value": 1.5}]}]}]
    _ok(_promtool_test(promtool, rules_file, tests, "by-value.yaml"))


def test_a_wrong_expectation_makes_promtool_fail(promtool, rules_file):
    """The harness itself can fail: expect the healthy queue series to fire."""
    _, healthy, at, _ = ALERT_CASES["LlmTierQueueDepthHigh"]
    rule = mr.tier_alerts(TIER, NS)[0]
    out = _promtool_test(promtool, rules_file, [{
        "interval": "30s", "input_series": healthy(Pod("vllm")), "alert_rule_test": [{
            "eval_time": at, "alertname": rule["alert"],
            "exp_alerts": [{"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}]}]}], "bad.yaml")
    assert out.returncode != 0


# ------------------------------------------------------------------ the PodMonitor's engine attribution

@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("with_label", [True, False], ids=["pod-label", "no-pod-label"])
def test_pod_monitor_attributes_each_pod_to_its_engine(engine, with_label):
    """engine comes from the pod's llm-tiers.io/engine label, or from its image when the pod has none; vLLM's
    own engine label ends up as engine_index, never as a second engine or exported_engine."""
    pod = Pod(engine, engine_label=with_label)
    assert (pod.target["engine"], pod.target["tier"], pod.target["release"]) == (engine, "chat", "live")
    labels = pod.series("vllm:num_requests_waiting" if engine == "vllm" else "tgi_queue_size")
    assert f'engine="{engine}"' in labels and "exported_" not in labels
    assert ('engine_index="0"' in labels) == (engine == "vllm")


def test_the_pod_label_wins_over_the_image():
    target, _ = _pod_targets("candidate", "chat-candidate-1", "vllm",
                             "registry.example/text-generation-inference:3.3.6")
    assert target["engine"] == "vllm"
    target, _ = _pod_targets("live", "chat-live-1", None, "registry.example/some-other-server:1")
    assert "engine" not in target  # unknown image, no label: no guess


# ------------------------------------------------------------------ names used by alerts and dashboards

RECORDED_NAME = re.compile(r"\b[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+\b")
RAW_METRIC = re.compile(r"\b(tgi_|vllm:|DCGM_|kube_|envoy_)\w*")


def _recorded() -> set[str]:
    return {r["record"] for g in mr.rule_groups([TIER], NS, {"chat": 1.0}) for r in g["rules"] if "record" in r}


def test_alerts_use_recorded_names_where_they_use_any():
    for a in mr.tier_alerts(TIER, NS):
        names = set(RECORDED_NAME.findall(a["expr"]))
        assert names <= _recorded(), a["expr"]
        assert not re.search(r"\b(tgi_|vllm:)", a["expr"]), a["expr"]  # engine-neutral


def test_every_recorded_name_is_written_by_one_rule():
    names = [r["record"] for g in mr.rule_groups([TIER], NS, {"chat": 1.0}) for r in g["rules"] if "record" in r
             and r["record"] != "llm:tier_hourly_usd"]  # one rule per priced tier, each its own tier selector
    assert len(names) == len(set(names))


def test_dashboard_is_valid_json_and_queries_only_recorded_names():
    import json
    from llm_tiers.observability import dashboards
    board = json.loads(dashboards.dashboard_json())
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    exprs.append(board["templating"]["list"][1]["query"]["query"])
    assert len(board["panels"]) == len(dashboards.PANELS) >= 10
    for expr in exprs:
        names = set(RECORDED_NAME.findall(expr))
        assert names and names <= _recorded(), expr
        assert not RAW_METRIC.search(expr), expr
    titles = " ".join(p["title"] for p in board["panels"]).lower()
    for words in ("requests", "latency", "time to first token", "queue", "replicas", "gpu utilization",
                  "gpu memory", "tokens", "cost", "429", "kv cache", "engine", "running"):
        assert words in titles, words


def test_engine_image_patterns_match_the_pinned_images():
    for engine, pattern in autoscaling.ENGINE_IMAGE_PATTERNS.items():
        assert re.fullmatch(pattern, IMAGES[engine]), (engine, IMAGES[engine])
        others = [i for e, i in IMAGES.items() if e != engine]
        assert not any(re.fullmatch(pattern, i) for i in others)
