"""Grafana dashboards (pure): built only on the recorded ``llm:tier_*`` names, so they work for any engine
whose metrics are mapped by a recording-rule group."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

UID = "llm-tiers-overview"

# (title, unit, [(query, legend)])
PANELS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("Requests per second", "reqps", [('sum by (release) (llm:tier_request_rate{tier="$tier"})', "{{release}}")]),
    ("Errors and refusals (429s)", "percentunit", [('llm:tier_error_ratio{tier="$tier"}', "errors {{release}}"),
                                                   ('llm:tier_overloaded_ratio{tier="$tier"}', "refused {{release}}")]),
    ("P95 request latency", "s", [('llm:tier_request_latency_seconds:p95{tier="$tier"}', "{{release}}")]),
    ("P95 time to first token (vLLM measured; TGI queue + prefill)", "s",
     [('llm:tier_ttft_seconds:p95{tier="$tier"}', "{{release}}")]),
    ("Queue depth per replica", "short", [('llm:tier_queue_depth_per_replica{tier="$tier"}', "{{release}}")]),
    ("Requests in the running batch", "short", [('llm:tier_running_requests{tier="$tier"}', "{{release}}")]),
    ("Replicas vs max", "short", [('llm:tier_replicas{tier="$tier"}', "replicas {{release}}"),
                                  ('llm:tier_replicas_max{tier="$tier"}', "max {{release}}")]),
    ("Engine per release (pods)", "short", [('llm:tier_release_engine{tier="$tier"}', "{{release}}: {{engine}}")]),
    ("GPU utilization", "percent", [('llm:tier_gpu_utilization_percent{tier="$tier"}', "{{release}}")]),
    ("GPU memory used", "percentunit", [('llm:tier_gpu_memory_used_ratio{tier="$tier"}', "{{release}}")]),
    # TGI 3.3.6 exports no KV-cache usage: empty for TGI releases (observability/rules.py).
    ("KV cache used (vLLM only)", "percentunit", [('llm:tier_kv_cache_usage_ratio{tier="$tier"}', "{{release}}")]),
    ("Generated tokens per second", "short", [('llm:tier_generated_tokens_rate{tier="$tier"}', "{{release}}")]),
    ("Estimated cost per hour (on-demand)", "currencyUSD", [('sum(llm:tier_hourly_usd{tier="$tier"})', "USD/h")]),
]


def grid_panels(specs: Sequence[tuple[str, str, Sequence[tuple[str, str]]]]) -> list[dict[str, Any]]:
    """Timeseries panels two to a row from ``(title, unit, [(query, legend)])``, on the ``datasource`` variable."""
    return [{
        "id": i + 1, "type": "timeseries", "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": chr(ord("A") + j), "expr": expr, "legendFormat": legend}
                    for j, (expr, legend) in enumerate(queries)],
    } for i, (title, unit, queries) in enumerate(specs)]


def tier_dashboard() -> dict[str, Any]:
    panels = grid_panels(PANELS)
    return {
        "uid": UID, "title": "LLM tiers", "schemaVersion": 39, "version": 1, "editable": False,
        "time": {"from": "now-6h", "to": "now"}, "refresh": "30s", "tags": ["llm-tiers"],
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
            {"name": "tier", "type": "query", "label": "Tier",
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": {"query": "label_values(llm:tier_request_rate, tier)", "refId": "tiers"},
             "refresh": 2, "includeAll": False},
        ]},
        "panels": panels,
    }


def dashboard_json() -> str:
    return json.dumps(tier_dashboard(), indent=1, sort_keys=True)
