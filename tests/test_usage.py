"""Usage per tenant and tier: promtool evaluates the recording rules on synthetic gen_ai_* series shaped as
AI Gateway v1.1.0 exports them; the rendered stacks carry the rules, the dashboard and the scrape."""

from __future__ import annotations

import json
import subprocess

import yaml

from conftest import run_promtool_test

from llm_tiers.config.schema import TierConfig
from llm_tiers.gateway import aigw_controller
from llm_tiers.observability import rules as mr
from llm_tiers.observability import usage

TIER = TierConfig.model_validate({"name": "chat", "aliases": ["llama-8b"], "modelId": "o/m", "gpuClass": "l4",
                                  "maxInputTokens": 10, "maxTotalTokens": 20})



def test_usage_rules_per_tenant_and_tier(promtool, tmp_path):
    rules = tmp_path / "rules.yaml"
    groups = [*mr.rule_groups([TIER], "llm-tiers", {"chat": 2.0}), *usage.rule_groups([TIER])]
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    check = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    tok = "gen_ai_client_token_usage_sum"
    dur = "gen_ai_server_request_duration_seconds_count"
    label = aigw_controller.TENANT_METRIC_LABEL
    # Tenant a: 30 input + 60 output tokens/s on "chat"; tenant b: 10 output tokens/s on the alias.
    # 1 replica of chat at $2/h. Tenant b: 1 req/s of which 0.5 fail.
    series = [
        {"series": f'{tok}{{{label}="a",gen_ai_request_model="chat",gen_ai_token_type="input"}}',
         "values": "0+1800x20"},
        {"series": f'{tok}{{{label}="a",gen_ai_request_model="chat",gen_ai_token_type="output"}}',
         "values": "0+3600x20"},
        {"series": f'{tok}{{{label}="b",gen_ai_request_model="llama-8b",gen_ai_token_type="output"}}',
         "values": "0+600x20"},
        {"series": f'{tok}{{{label}="b",gen_ai_request_model="other",gen_ai_token_type="output"}}',
         "values": "0+600x20"},
        {"series": f'{dur}{{{label}="b",gen_ai_request_model="llama-8b"}}', "values": "0+30x20"},
        {"series": f'{dur}{{{label}="b",gen_ai_request_model="llama-8b",error_type="_OTHER"}}', "values": "0+30x20"},
        # What the signals group records for one replica at $2/h (its own inputs are tested in test_monitoring_rules).
        {"series": 'llm:tier_hourly_usd{tier="chat",release="live"}', "values": "2x20"},
    ]
    expect = [
        {"expr": 'round(llm:tenant_tokens_rate{tenant="a",token_type="output"}, 0.001)',
         "exp_samples": [{"labels": '{tenant="a",tenant_id="a",tier="chat",token_type="output",'
                                    'gen_ai_token_type="output"}', "value": 60}]},
        {"expr": 'round(sum by (tenant, tier) (llm:tenant_tokens_rate{tenant="b"}), 0.001)',
         "exp_samples": [{"labels": '{tenant="b",tier="chat"}', "value": 10}]},          # "other" is no tier's
        {"expr": 'round(sum by (tenant) (llm:tenant_request_rate), 0.001)',
         "exp_samples": [{"labels": '{tenant="b"}', "value": 1}]},
        {"expr": 'round(sum by (tenant) (llm:tenant_error_rate), 0.001)',
         "exp_samples": [{"labels": '{tenant="b"}', "value": 0.5}]},
        # $2/h shared 90:10 by tokens.
        {"expr": "round(llm:tenant_hourly_usd, 0.001)",
         "exp_samples": [{"labels": '{tenant="a",tier="chat"}', "value": 1.8},
                                                                         {"labels": '{tenant="b",tier="chat"}',
                                                                          "value": 0.2}]},
    ]
    run_promtool_test(promtool, rules, series, expect, tmp_path)


def test_the_rendered_stacks_record_usage_and_show_it(rendered):
    r = rendered("prod")
    rule = r.objects_named("PrometheusRule")["llm-tiers"]
    groups = {g["name"]: g for g in rule["spec"]["groups"]}
    recorded = {x["record"] for x in groups[usage.GROUP]["rules"]}
    assert recorded == {"llm:tenant_tokens_rate", "llm:tenant_request_rate", "llm:tenant_error_rate",
                        "llm:tenant_hourly_usd"}
    cm = r.objects_named("ConfigMap")["llm-tiers-dashboard"]
    board = json.loads(cm["data"]["llm-usage.json"])
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p["targets"])
    assert all(name in exprs for name in recorded)
    assert {v["name"] for v in board["templating"]["list"]} >= {"tenant", "tier"}
    pm = r.objects_named("PodMonitor")["aigw-llm-gateway"]
    assert pm["spec"]["podMetricsEndpoints"][0]["port"] == aigw_controller.EXTPROC_METRICS_PORT
    ai = {x["name"]: x for x in r.helm_releases()}["ai-gateway"]["values"]["controller"]
    assert ai["metricsRequestHeaderAttributes"].split(":")[0] == "x-tenant-id"
