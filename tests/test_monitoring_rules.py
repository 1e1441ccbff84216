"""Recording and alert rules: promtool checks them and unit-tests every alert firing on a synthetic series
and staying silent on a healthy one."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from llm_tiers.observability import rules as mr
from llm_tiers.config.schema import TierConfig

TIER = TierConfig.model_validate({
    "name": "chat", "modelId": "o/m", "gpuClass": "l4", "maxInputTokens": 4096, "maxTotalTokens": 8192,
    "replicas": {"min": 1, "max": 4}, "autoscaling": {"queueDepthPerReplica": 8},
    "slo": {"ttftP95Seconds": 1.5, "errorRatePercent": 2, "queueAlertMinutes": 10}})
NS = "llm-tiers"
POD = f'namespace="{NS}",pod="chat-live-1"'
TGI = f'engine="tgi",tier="chat",{POD}'


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing in CI: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool not installed (apt-get install prometheus); alert rules are NOT checked")
    return path


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": mr.rule_groups([TIER], NS, {"chat": 0.5})}, sort_keys=False))
    return path


def test_promtool_checks_the_rules(promtool, rules_file):
    out = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_every_alert_has_severity_summary_description_and_runbook():
    alerts = mr.tier_alerts(TIER, NS)
    assert {a["alert"] for a in alerts} == set(ALERT_CASES)
    for a in alerts:
        assert a["labels"]["severity"] in ("warning", "critical") and a["labels"]["tier"] == "chat"
        assert a["annotations"]["summary"] and a["annotations"]["description"]
        assert a["annotations"]["runbook_url"] == f"docs/runbook.md#{a['alert'].lower()}"
    runbook = (Path(__file__).resolve().parents[1] / "docs" / "runbook.md").read_text().lower()
    assert all(f"## {a['alert'].lower()}" in runbook for a in alerts), "every alert has a runbook section"


def _counter(series: str, step: int, n: int = 60) -> dict:
    return {"series": series, "values": f"0+{step}x{n}"}


def _hist(metric: str, labels: str, slow: bool, n: int = 60) -> list[dict]:
    """A histogram whose observations all land in (1, 5] seconds when slow, else in (0, 0.1]."""
    buckets = {"0.1": 0 if slow else 10, "1": 0 if slow else 10, "5": 10, "+Inf": 10}
    return [{"series": f'{metric}_bucket{{{labels},le="{le}"}}', "values": f"0+{step}x{n}"} for le, step in buckets.items()]


def _pod_labels() -> dict:
    return {"series": f'kube_pod_labels{{{POD},label_llm_tiers_io_tier="chat"}}', "values": "1x60"}


# alert -> (series when firing, series when healthy, eval time, extra expected labels)
ALERT_CASES = {
    "LlmTierQueueDepthHigh": (
        [{"series": f"tgi_queue_size{{{TGI}}}", "values": "40x60"}],
        [{"series": f"tgi_queue_size{{{TGI}}}", "values": "4x60"}], "15m", {}),
    "LlmTierTtftP95High": (
        _hist("tgi_request_queue_duration", TGI, True) + _hist("tgi_batch_forward_duration", TGI + ',method="prefill"', True),
        _hist("tgi_request_queue_duration", TGI, False) + _hist("tgi_batch_forward_duration", TGI + ',method="prefill"', False),
        "20m", {}),
    "LlmTierErrorRateHigh": (
        [_counter(f"tgi_request_count{{{TGI}}}", 10), _counter(f'tgi_request_failure{{{TGI},err="generation"}}', 1)],
        [_counter(f"tgi_request_count{{{TGI}}}", 10), {"series": f'tgi_request_failure{{{TGI},err="generation"}}', "values": "0x60"}],
        "15m", {}),
    "LlmTierOverloaded": (
        [_counter(f"tgi_request_count{{{TGI}}}", 100), _counter(f'tgi_request_failure{{{TGI},err="overloaded"}}', 5)],
        [_counter(f"tgi_request_count{{{TGI}}}", 100), {"series": f'tgi_request_failure{{{TGI},err="overloaded"}}', "values": "0x60"}],
        "15m", {}),
    "LlmTierGpuMemoryNearFull": (
        [{"series": f"DCGM_FI_DEV_FB_USED{{{POD},gpu=\"0\"}}", "values": "99x60"},
         {"series": f"DCGM_FI_DEV_FB_FREE{{{POD},gpu=\"0\"}}", "values": "1x60"}, _pod_labels()],
        [{"series": f"DCGM_FI_DEV_FB_USED{{{POD},gpu=\"0\"}}", "values": "93x60"},
         {"series": f"DCGM_FI_DEV_FB_FREE{{{POD},gpu=\"0\"}}", "values": "7x60"}, _pod_labels()],
        "20m", {}),
    "LlmTierAtMaxReplicasQueueGrowing": (
        [{"series": f'kube_horizontalpodautoscaler_status_current_replicas{{namespace="{NS}",horizontalpodautoscaler="keda-hpa-chat-live"}}', "values": "4x60"},
         {"series": f'kube_horizontalpodautoscaler_spec_max_replicas{{namespace="{NS}",horizontalpodautoscaler="keda-hpa-chat-live"}}', "values": "4x60"},
         {"series": f"tgi_queue_size{{{TGI}}}", "values": "0+2x60"}],
        [{"series": f'kube_horizontalpodautoscaler_status_current_replicas{{namespace="{NS}",horizontalpodautoscaler="keda-hpa-chat-live"}}', "values": "4x60"},
         {"series": f'kube_horizontalpodautoscaler_spec_max_replicas{{namespace="{NS}",horizontalpodautoscaler="keda-hpa-chat-live"}}', "values": "4x60"},
         {"series": f"tgi_queue_size{{{TGI}}}", "values": "12x60"}],
        "28m", {"namespace": NS, "horizontalpodautoscaler": "keda-hpa-chat-live"}),
    "LlmWeightsSyncFailed": (
        [{"series": f'kube_job_status_failed{{namespace="{NS}",job_name="chat-sync-a09a35458c"}}', "values": "1x60"}],
        [{"series": f'kube_job_status_failed{{namespace="{NS}",job_name="chat-sync-a09a35458c"}}', "values": "0x60"}],
        "1m", {"namespace": NS, "job_name": "chat-sync-a09a35458c"}),
    "LlmTierNoReadyReplica": (
        [{"series": f'kube_deployment_status_replicas_available{{namespace="{NS}",deployment="chat-live"}}', "values": "0x60"},
         {"series": f'kube_deployment_spec_replicas{{namespace="{NS}",deployment="chat-live"}}', "values": "2x60"}],
        # Scaled to zero on purpose (a sporadic tier): no replica is expected, no alert.
        [{"series": f'kube_deployment_status_replicas_available{{namespace="{NS}",deployment="chat-live"}}', "values": "0x60"},
         {"series": f'kube_deployment_spec_replicas{{namespace="{NS}",deployment="chat-live"}}', "values": "0x60"}],
        "10m", {"namespace": NS, "deployment": "chat-live"}),
}


def _unit_tests() -> dict:
    by_name = {a["alert"]: a for a in mr.tier_alerts(TIER, NS)}
    tests = []
    for name, (firing, healthy, at, extra) in ALERT_CASES.items():
        rule = by_name[name]
        expected = {"exp_labels": {**rule["labels"], **extra}, "exp_annotations": rule["annotations"]}
        tests.append({"interval": "30s", "input_series": firing,
                      "alert_rule_test": [{"eval_time": at, "alertname": name, "exp_alerts": [expected]}]})
        tests.append({"interval": "30s", "input_series": healthy,
                      "alert_rule_test": [{"eval_time": at, "alertname": name, "exp_alerts": []}]})
    # Recording rules: the TTFT approximation and per-replica queue depth, by value.
    tests.append({"interval": "30s",
                  "input_series": _hist("tgi_request_queue_duration", TGI, True)
                  + _hist("tgi_batch_forward_duration", TGI + ',method="prefill"', True)
                  + [{"series": f'tgi_queue_size{{engine="tgi",tier="chat",{POD}}}', "values": "6x60"},
                     {"series": f'tgi_queue_size{{engine="tgi",tier="chat",namespace="{NS}",pod="chat-live-2"}}', "values": "2x60"}],
                  "promql_expr_test": [
                      # P95 in (1, 5] is 4.8 for both phases: 9.6 (compared within float rounding).
                      {"expr": "(llm:tier_ttft_seconds:p95 > bool 9.5999) * (llm:tier_ttft_seconds:p95 < bool 9.6001)",
                       "eval_time": "10m", "exp_samples": [{"labels": '{tier="chat"}', "value": 1}]},
                      {"expr": "llm:tier_queue_depth_per_replica", "eval_time": "10m",
                       "exp_samples": [{"labels": 'llm:tier_queue_depth_per_replica{tier="chat"}', "value": 4}]}]})
    # Replicas from KEDA's HPA name, and the cost per hour from the price per replica.
    hpa = f'namespace="{NS}",horizontalpodautoscaler="keda-hpa-chat-live"'
    tests.append({"interval": "30s",
                  "input_series": [{"series": f"kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}}", "values": "3x20"},
                                   {"series": f"kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}}", "values": "4x20"}],
                  "promql_expr_test": [
                      {"expr": "llm:tier_replicas", "eval_time": "5m",
                       "exp_samples": [{"labels": 'llm:tier_replicas{tier="chat",release="live"}', "value": 3}]},
                      {"expr": "llm:tier_replicas_max", "eval_time": "5m",
                       "exp_samples": [{"labels": 'llm:tier_replicas_max{tier="chat",release="live"}', "value": 4}]},
                      {"expr": "llm:tier_hourly_usd", "eval_time": "5m",
                       "exp_samples": [{"labels": 'llm:tier_hourly_usd{tier="chat",release="live"}', "value": 1.5}]}]})
    return {"rule_files": ["rules.yaml"], "evaluation_interval": "30s", "tests": tests}


def test_alerts_fire_on_synthetic_series_and_stay_silent_when_healthy(promtool, rules_file):
    tests = rules_file.parent / "tests.yaml"
    tests.write_text(yaml.safe_dump(_unit_tests(), sort_keys=False))
    out = subprocess.run([promtool, "test", "rules", str(tests)], capture_output=True, text=True, cwd=rules_file.parent)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_a_wrong_expectation_makes_promtool_fail(promtool, rules_file):
    """The harness itself can fail: expect the healthy queue series to fire."""
    firing, healthy, at, _ = ALERT_CASES["LlmTierQueueDepthHigh"]
    rule = mr.tier_alerts(TIER, NS)[0]
    bad = {"rule_files": ["rules.yaml"], "evaluation_interval": "30s", "tests": [{
        "interval": "30s", "input_series": healthy, "alert_rule_test": [{
            "eval_time": at, "alertname": rule["alert"],
            "exp_alerts": [{"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}]}]}]}
    path = rules_file.parent / "bad.yaml"
    path.write_text(yaml.safe_dump(bad, sort_keys=False))
    out = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, cwd=rules_file.parent)
    assert out.returncode != 0


RECORDED_NAME = __import__("re").compile(r"\b[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+\b")
RAW_METRIC = __import__("re").compile(r"\b(tgi_|DCGM_|kube_|envoy_)\w+")


def test_alerts_use_recorded_names_where_they_use_any():
    recorded = {r["record"] for g in mr.rule_groups([TIER], NS, {"chat": 1.0}) for r in g["rules"] if "record" in r}
    for a in mr.tier_alerts(TIER, NS):
        assert set(RECORDED_NAME.findall(a["expr"])) <= recorded, a["expr"]


def test_dashboard_is_valid_json_and_queries_only_recorded_names():
    import json
    from llm_tiers.observability import dashboards
    recorded = {r["record"] for g in mr.rule_groups([TIER], NS, {"chat": 1.0}) for r in g["rules"] if "record" in r}
    board = json.loads(dashboards.dashboard_json())
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    exprs.append(board["templating"]["list"][1]["query"]["query"])
    assert len(board["panels"]) == len(dashboards.PANELS) >= 10
    for expr in exprs:
        names = set(RECORDED_NAME.findall(expr))
        assert names and names <= recorded, expr
        assert not RAW_METRIC.search(expr), expr
    titles = " ".join(p["title"] for p in board["panels"]).lower()
    for words in ("requests", "latency", "time to first token", "queue", "replicas", "gpu utilization",
                  "gpu memory", "tokens", "cost", "429"):
        assert words in titles, words
