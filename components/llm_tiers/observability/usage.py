"""Usage per tenant and tier (pure): recording rules over Envoy AI Gateway's ``gen_ai_*`` metrics and a
Grafana dashboard of tokens, requests, errors and cost.

Source metrics: the extProc sidecar in every Envoy pod (PodMonitor ``aigw-<gateway namespace>``, port
``aigw-admin``) exports, at v1.1.0 (envoyproxy/ai-gateway internal/metrics/genai.go; Prometheus names as
tests/data-plane/vcr/prometheus_metrics_test.go asserts them):

* ``gen_ai_client_token_usage_{sum,count,bucket}`` with ``gen_ai_token_type`` = ``input`` | ``output`` |
  ``cached_input`` | ... (no ``total``);
* ``gen_ai_server_request_duration_seconds_{sum,count,bucket}``, with ``error_type`` set on failed requests;
* labels ``gen_ai_request_model`` (the ``model`` the client sent: a tier's name or alias) and, from the
  controller's ``metricsRequestHeaderAttributes: x-tenant-id:tenant.id``, ``tenant_id``
  (tests/e2e/token_ratelimit_test.go at v1.1.0).

Each tier gets its own rules (the client's model names mapped to the tier's name), recorded as:

| series | labels | meaning |
|---|---|---|
| ``llm:tenant_tokens_rate`` | tenant, feature, tier, token_type (input, output) | tokens per second |
| ``llm:tenant_request_rate`` | tenant, feature, tier | requests per second through the single route |
| ``llm:tenant_error_rate`` | tenant, feature, tier | of which failed (``error_type`` set) |
| ``llm:tenant_hourly_usd`` | tenant, feature, tier | the tier's cost per hour, shared out by served tokens (1) |

(1) ``llm:tier_hourly_usd`` (replicas x $/replica-hour) times the (tenant, feature)'s share of the tier's served
tokens.

``feature`` comes from ``llm_feature``: with ``gateway.features`` the controller's
``metricsRequestHeaderAttributes`` also maps ``x-llm-feature:llm.feature`` (a listed name, ``other`` or ``none``:
the request guard's policy rewrites the header, so the label is bounded). Without it the label is absent.

Requests on the deprecated per-tier URLs bypass AI Gateway and are not in these series.

A tier with a fallback provider (``tiers[].fallback``, gateway/fallback.py): AI Gateway reports a request the
fallback served under the overridden model — ``gen_ai_request_model`` is the ``x-ai-eg-model`` header, which
``modelNameOverride`` rewrites, and ``gen_ai_original_model`` keeps the client's (internal/extproc/
processor_impl.go, internal/metrics/metrics_impl.go at v1.1.0) — so the tier's own rules above (request model =
one of the tier's names; the config refuses a fallback model that is one) count only what the tier served, and
these count the fallback's:

| series | labels | meaning |
|---|---|---|
| ``llm:tenant_fallback_tokens_rate`` | tenant, tier, token_type | tokens per second served by the tier's fallback |
| ``llm:tenant_fallback_request_rate`` | tenant, tier | requests per second it answered |
| ``llm:tenant_hourly_usd`` | tenant, tier, via="fallback" | its output tokens at the managed price, per hour (2) |

(2) The tier's managed price (``cost.managedPriceByTier``, else ``cost.managedPricePerMillionOutputTokens``; USD per
1M output tokens); absent without a price.

``sum by (tenant) (llm:tenant_hourly_usd)`` therefore adds the fallback's cost to the tier's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from llm_tiers.config.schema import TierConfig
from llm_tiers.observability import dashboards

GROUP = "llm-tiers-usage"
UID = "llm-tiers-usage"
WINDOW = "5m"


def promql_regex(names: Sequence[str]) -> str:
    """An alternation matching exactly ``names``, as the body of a double-quoted PromQL string: regex
    metacharacters escaped (``-`` needs none), each backslash doubled for the PromQL string."""
    return "|".join(re.escape(n).replace("\\-", "-").replace("\\", "\\\\") for n in names)


def _models(tier: TierConfig) -> str:
    return promql_regex([tier.name, *tier.aliases])


def _by_tenant(expr: str, tier: TierConfig, *extra: str) -> str:
    """``expr`` summed by tenant and feature (and ``extra``), relabelled ``tenant`` and ``feature`` and given the
    tier's name. Without ``gateway.features`` the extProc records no ``llm_feature`` and ``feature`` stays
    absent (an empty label)."""
    keep = ", ".join(["tenant_id", "llm_feature", *extra])
    inner = f"sum by ({keep}) ({expr})"
    tenant = f'label_replace({inner}, "tenant", "$1", "tenant_id", "(.*)")'
    feature = f'label_replace({tenant}, "feature", "$1", "llm_feature", "(.+)")'
    return f'label_replace({feature}, "tier", "{tier.name}", "", "")'


def _token_and_request_rules(record: str, model: str, t: TierConfig) -> list[dict[str, Any]]:
    """``<record>_tokens_rate`` (per token type) and ``<record>_request_rate`` per tenant for the AI Gateway
    series that ``model`` (a label matcher list) selects."""
    tokens = f'rate(gen_ai_client_token_usage_sum{{{model},gen_ai_token_type=~"input|output"}}[{WINDOW}])'
    return [{"record": f"{record}_tokens_rate", "expr": 'label_replace(' + _by_tenant(
                tokens, t, "gen_ai_token_type") + ', "token_type", "$1", "gen_ai_token_type", "(.*)")'},
            {"record": f"{record}_request_rate", "expr": _by_tenant(
                f"rate(gen_ai_server_request_duration_seconds_count{{{model}}}[{WINDOW}])", t)}]


def fallback_rules(tiers: Sequence[TierConfig], prices: Optional[Mapping[str, float]] = None) -> list[dict[str, Any]]:
    """Usage through each fallback tier's provider (module doc), priced at ``prices[tier]`` USD per 1M output
    tokens when given."""
    rules: list[dict[str, Any]] = []
    for t in tiers:
        if t.fallback is None:
            continue
        model = f'gen_ai_original_model=~"{_models(t)}",gen_ai_request_model=~"{promql_regex([t.fallback.model])}"'
        rules += _token_and_request_rules("llm:tenant_fallback", model, t)
        price = (prices or {}).get(t.name)
        if price is not None:
            rules.append({"record": "llm:tenant_hourly_usd", "labels": {"via": "fallback"}, "expr": (
                f'sum by (tenant, tier) (llm:tenant_fallback_tokens_rate{{tier="{t.name}",token_type="output"}})'
                f" * 3600 * {price!r} / 1e6")})
    return rules


def usage_rules(tiers: Sequence[TierConfig]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for t in tiers:
        model = f'gen_ai_request_model=~"{_models(t)}"'
        rules += _token_and_request_rules("llm:tenant", model, t)
        rules.append({"record": "llm:tenant_error_rate", "expr": _by_tenant(
            f'rate(gen_ai_server_request_duration_seconds_count{{{model},error_type!=""}}[{WINDOW}])', t)})
    # The tier's hourly cost shared by served tokens (input + output); a tier that served none costs no tenant.
    # Per (tenant, feature, tier): summing over feature gives the tenant's share as before.
    tenant_tokens = "sum by (tenant, feature, tier) (llm:tenant_tokens_rate)"
    tier_tokens = "sum by (tier) (llm:tenant_tokens_rate)"
    rules.append({"record": "llm:tenant_hourly_usd", "expr": (
        f"{tenant_tokens} / on (tier) group_left () ({tier_tokens} > 0)"
        " * on (tier) group_left () sum by (tier) (llm:tier_hourly_usd)")})
    return rules


def rule_groups(tiers: Sequence[TierConfig],
                fallback_prices: Optional[Mapping[str, float]] = None) -> list[dict[str, Any]]:
    return [{"name": GROUP, "interval": "30s",
             "rules": [*usage_rules(tiers), *fallback_rules(tiers, fallback_prices)]}] if tiers else []


# (title, unit, [(query, legend)])
PANELS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("Tokens per second by tenant", "short",
     [('sum by (tenant, token_type) (llm:tenant_tokens_rate{tenant=~"$tenant",tier=~"$tier"})',
       "{{tenant}} {{token_type}}")]),
    ("Tokens per second by tier", "short",
     [('sum by (tier, token_type) (llm:tenant_tokens_rate{tenant=~"$tenant",tier=~"$tier"})',
       "{{tier}} {{token_type}}")]),
    ("Requests per second", "reqps",
     [('sum by (tenant, tier) (llm:tenant_request_rate{tenant=~"$tenant",tier=~"$tier"})', "{{tenant}} {{tier}}")]),
    ("Errors per second", "reqps",
     [('sum by (tenant, tier) (llm:tenant_error_rate{tenant=~"$tenant",tier=~"$tier"})', "{{tenant}} {{tier}}")]),
    ("Cost per hour by tenant (on-demand, by share of tokens)", "currencyUSD",
     [('sum by (tenant) (llm:tenant_hourly_usd{tenant=~"$tenant",tier=~"$tier"})', "{{tenant}}")]),
    ("Cost per hour by tier and tenant", "currencyUSD",
     [('sum by (tier, tenant) (llm:tenant_hourly_usd{tenant=~"$tenant",tier=~"$tier"})', "{{tier}} {{tenant}}")]),
    ("Tokens per second by tenant and feature", "short",
     [('sum by (tenant, feature) (llm:tenant_tokens_rate{tenant=~"$tenant",tier=~"$tier"})',
       "{{tenant}} {{feature}}")]),
    ("Cost per hour by tenant and feature (on-demand, by share of tokens)", "currencyUSD",
     [('sum by (tenant, feature) (llm:tenant_hourly_usd{tenant=~"$tenant",tier=~"$tier"})', "{{tenant}} {{feature}}")]),
    ("Tokens in the last 24 h by tenant", "short",
     [('sum by (tenant) (sum_over_time(llm:tenant_tokens_rate{tenant=~"$tenant",tier=~"$tier"}[24h:1m]) * 60)',
       "{{tenant}}")]),
]


def dashboard() -> dict[str, Any]:
    panels = dashboards.grid_panels(PANELS)

    def variable(name: str, label: str) -> dict[str, Any]:
        return {"name": name, "type": "query", "label": label,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "query": {"query": f"label_values(llm:tenant_request_rate, {name})", "refId": name},
                "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*"}

    return {
        "uid": UID, "title": "LLM usage by tenant", "schemaVersion": 39, "version": 1, "editable": False,
        "time": {"from": "now-24h", "to": "now"}, "refresh": "1m", "tags": ["llm-tiers"],
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
            variable("tenant", "Tenant"), variable("tier", "Tier")]},
        "panels": panels,
    }


def dashboard_json() -> str:
    return json.dumps(dashboard(), indent=1, sort_keys=True)
