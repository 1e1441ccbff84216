"""Cost per output token: the roofline, $/1M tokens and the managed break-even, checked by hand from the formulas
in components/llm_tiers/cost/throughput.py, and plan.md's section recomputed from the rendered plan rows."""

from __future__ import annotations

import re

import pytest

from llm_tiers.config.schema import ConfigError
from llm_tiers.stack.parse import parse
from llm_tiers.cost import throughput as tp
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.preview import render as render_tool
from conftest import overrides, stack_values


# ---------------------------------------------------------------------------------------------- the formulas


def test_decode_rate_by_hand():
    # Llama-3.1-8B-like on one L4: 16e9 weight bytes, 131072 KV bytes/token, 5 sequences of 8192 tokens.
    # Bytes per step = 16e9 + 5 * 8192 * 131072 = 16e9 + 5.36870912e9 = 21.36870912e9.
    # Effective bandwidth = 300e9 * 0.5 = 150e9 B/s -> step = 0.1424580608 s -> 5 / 0.1424580608 = 35.098 tok/s.
    assert tp.decode_tokens_per_second(16e9, 131072, 8192, 5, 300, 0.5) == pytest.approx(35.098, abs=1e-3)
    # Single stream: (16e9 + 8192 * 131072) / 150e9 = 0.11382 s -> 8.7856 tok/s.
    assert tp.decode_tokens_per_second(16e9, 131072, 8192, 1, 300, 0.5) == pytest.approx(8.7856, abs=1e-3)
    # An H100 (3350 GB/s) at efficiency 1 reading 10e9 bytes: 10e9 / 3.35e12 = 2.985 ms -> 335 tok/s.
    assert tp.decode_tokens_per_second(10e9, 0, 1, 1, 3350, 1.0) == pytest.approx(335.0)
    assert tp.decode_tokens_per_second(16e9, 131072, 8192, 0, 300, 0.5) == 0


def test_best_batch_is_what_the_kv_cache_holds_capped_by_concurrency():
    assert tp.best_batch(46222, 8192, 128) == 5       # 46222 // 8192 = 5
    assert tp.best_batch(46222, 1024, 128) == 45      # 46222 // 1024 = 45
    assert tp.best_batch(499985, 1024, 128) == 128    # 488 fit, the engine admits 128
    assert tp.best_batch(4000, 8192, 128) == 0        # not one full sequence


def test_a_bigger_batch_never_lowers_the_rate():
    rates = [tp.decode_tokens_per_second(16e9, 131072, 2048, b, 300, 0.5) for b in range(1, 60)]
    assert rates == sorted(rates)


def test_price_per_million_and_break_even_by_hand():
    # $1.00/hour at 100 tok/s for half the hour: 180,000 tokens/hour -> $5.5556 per 1M.
    assert tp.usd_per_million_tokens(1.0, 100, 0.5) == pytest.approx(5.5556, abs=1e-4)
    # Same replica at full use: 360,000 tokens/hour -> $2.7778 per 1M.
    assert tp.usd_per_million_tokens(1.0, 100, 1.0) == pytest.approx(2.7778, abs=1e-4)
    # Against $10 per 1M: 1e6 / (100 * 3600 * 10) = 0.27778 -> cheaper self-hosted above 27.8% utilization.
    assert tp.break_even_utilization(1.0, 100, 10.0) == pytest.approx(0.27778, abs=1e-5)
    # At 50%: saving = 1 - 5.5556 / 10 = 44.4%; at 10%: $27.78 per 1M -> 1 - 2.778 = -177.8% (sporadic use).
    assert tp.saving(tp.usd_per_million_tokens(1.0, 100, 0.5), 10.0) == pytest.approx(0.44444, abs=1e-5)
    assert tp.saving(tp.usd_per_million_tokens(1.0, 100, 0.1), 10.0) == pytest.approx(-1.77778, abs=1e-5)
    # The saving at utilization u equals 1 - break-even / u.
    be = tp.break_even_utilization(1.0, 100, 10.0)
    assert tp.saving(tp.usd_per_million_tokens(1.0, 100, 0.5), 10.0) == pytest.approx(1 - be / 0.5)
    assert tp.usd_per_million_tokens(1.0, 0, 0.5) is None and tp.break_even_utilization(1.0, 0, 1) is None


def test_the_seed_claim_holds_where_a_replica_is_fast_enough():
    # The seed: 60-90% cheaper at high utilization, negative for sporadic use. A $4/hour replica decoding
    # 2000 tok/s against $2 per 1M: at 90%: 4e6 / (2000 * 3600 * 0.9) = $0.617 per 1M -> 69% cheaper;
    # at 5%: $11.11 per 1M -> -456%.
    assert tp.saving(tp.usd_per_million_tokens(4.0, 2000, 0.9), 2.0) == pytest.approx(0.6914, abs=1e-4)
    assert tp.saving(tp.usd_per_million_tokens(4.0, 2000, 0.05), 2.0) == pytest.approx(-4.5556, abs=1e-4)


def test_every_gpu_model_states_its_datasheet_bandwidth():
    stated = {g.name: g.bandwidth_gbps for g in {it.gpu for it in gpu_catalog.CATALOG.values()}}
    assert stated == {"T4": 320, "A10G": 600, "L4": 300, "L40S": 864, "A100-40GB": 1555, "A100-80GB": 2039,
                      "H100": 3350, "H200": 4800}


# ---------------------------------------------------------------------------------------------- config


def test_managed_price_of_an_unknown_tier_names_its_key():
    values = stack_values("dev")
    values["cost"] = {"managedPriceByTier": {"chat-typo": 0.5}}
    with pytest.raises(ConfigError) as err:
        parse(values)
    assert any(i.path == "cost.managedPriceByTier.chat-typo" for i in err.value.issues)


def test_utilization_must_be_a_share():
    values = stack_values("dev")
    values["cost"] = {"utilizationPercent": 0}
    with pytest.raises(ConfigError) as err:
        parse(values)
    assert any(i.path == "cost.utilizationPercent" for i in err.value.issues)


# ---------------------------------------------------------------------------------------------- rendered


def _section(plan: str) -> str:
    return plan.split("## Cost per output token", 1)[1].split("\n## ", 1)[0]


def _row(section: str, tier: str) -> list[str]:
    rows = [r for r in section.splitlines() if r.startswith(f"| {tier} (live")]
    assert len(rows) == 1, section
    return [c.strip() for c in rows[0].strip("|").split("|")]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plan_md_cost_per_token_follows_from_the_plan_rows(rendered, stack, tmp_path):
    """Recompute every tier's figures from plan.md's own tier table (weights, KV bytes/token, KV capacity) and
    the bill's node price, with the formulas written out here, not by calling the module."""
    r = rendered(stack)
    plan = (render_tool.write_build(r, tmp_path) / "plan.md").read_text()
    section = _section(plan)
    outputs = r.outputs()
    cfg = parse(stack_values(stack))
    util = cfg.cost.utilization_percent / 100
    nodes = {t["tier"]: t for t in outputs["bill"]["tiers"] if t["release"] == "live"}
    for row in outputs["tierPlan"]:
        tier = next(t for t in cfg.tiers if t.name == row["tier"])
        gpus = row["gpusPerReplica"]
        bw = {"l4": 300, "l40s": 864, "h100": 3350}[tier.gpu_class] * 1e9 * cfg.cost.decode_efficiency
        kv_gpu = row["kvBytesPerToken"] / gpus
        # Default context: the calibration's request, a 1024-token prompt and 128 output tokens (half decoded).
        context = min(cfg.cost.context_tokens or 1024 + 128 // 2, tier.max_total_tokens)
        batch = min(row["kvTokenCapacity"] // context, tier.max_concurrent_requests)
        cells = _row(section, tier.name)
        weights_gpu = float(cells[3]) * 2**30
        assert int(cells[6]) == batch
        tps = batch / ((weights_gpu + batch * context * kv_gpu) / bw) * (cfg.cost.batch_efficiency if batch > 1 else 1)
        assert float(cells[8]) == pytest.approx(tps, rel=0.01)  # weights shown to 0.1 GiB
        hourly = nodes[tier.name]["nodeUsdPerHour"]
        per_million = hourly / (tps * 3600 * util) * 1e6
        assert float(cells[10].lstrip("$").replace(",", "")) == pytest.approx(per_million, rel=0.01)
        price = cfg.cost.managed_price_by_tier.get(tier.name, cfg.cost.managed_price_per_million_output_tokens)
        be = hourly * 1e6 / (tps * 3600 * price)
        if be > 1:  # not even a replica decoding all the time reaches the managed price
            assert cells[15] == "never"
        else:
            assert float(cells[15].rstrip("%")) == pytest.approx(be * 100, abs=max(1, be))
        # The verdict names the tiers a managed endpoint would serve for less, in one readable sentence.
        verdict = next(line for line in section.splitlines() if line.startswith(f"- {tier.name}:"))
        managed_wins = "cheaper on the managed endpoint at any utilization" in verdict or \
            "the managed endpoint is cheaper" in verdict
        assert managed_wins == (be > util), verdict
        assert ("at any utilization" in verdict) == (be > 1) and not re.search(r"\d{4,}%", section), verdict
    # The stack line: all-in monthly cost at max is the bill's total at max.
    stack_max = next(line for line in section.splitlines() if line.startswith("| max |"))
    assert f"{outputs['bill']['total']['usdPerMonthMax']:,.2f}" in stack_max


def test_a_fast_cheap_tier_is_cheaper_self_hosted(tmp_path):
    """With a short mean context, high use and a high managed price, dev's tier wins (the seed's claim)."""
    values = stack_values("dev")
    values["cost"] = {"utilizationPercent": 90, "contextTokens": 1024, "managedPricePerMillionOutputTokens": 5.0}
    r = render_tool.render("dev", overrides=overrides(values))
    section = _section((render_tool.write_build(r, tmp_path) / "plan.md").read_text())
    verdict = next(line for line in section.splitlines() if line.startswith("- chat-small:"))
    assert re.fullmatch(r"- chat-small: \*\*self-hosting is cheaper above \d+% utilization\*\*, so at the assumed "
                        r"90% self-hosting is cheaper\..*", verdict), verdict
    saving = float(_row(section, "chat-small")[16].removesuffix("% cheaper"))
    assert 60 <= saving <= 95, section
    # The best batch: the planner's KV tokens // the mean context, capped at maxConcurrentRequests (128).
    kv = next(row for row in r.outputs()["tierPlan"] if row["tier"] == "chat-small")["kvTokenCapacity"]
    assert re.search(rf"\| 1024 \| {min(kv // 1024, 128)} \|", section)


def test_the_default_efficiencies_are_the_cited_measurement():
    """cost.decodeEfficiency and cost.batchEfficiency recomputed from the published numbers (vLLM 0.23.0 on one
    A100 40GB, Llama-3.1-8B-Instruct BF16: 75 tokens/s single stream, 6.6x at concurrency 8, 1024-token prompts
    and 128 output tokens) with this repository's own weights size and KV bytes per token."""
    import json

    from llm_tiers.config.cost import CostConfig
    from llm_tiers.cost import throughput
    from conftest import ROOT

    lock = json.loads((ROOT / "models.lock.json").read_text())["models"]["meta-llama/Llama-3.1-8B-Instruct"]
    weights, a100 = lock["weightsBytes"], 1555e9
    kv = 2 * 32 * 8 * 128 * 2  # K and V x layers x KV heads x head dim x BF16 bytes
    defaults = CostConfig()
    assert defaults.decode_efficiency == pytest.approx(75 * weights / a100, abs=0.005)
    context = 1024 + 128 // 2
    assert defaults.context_tokens is None and throughput.TYPICAL_CONTEXT_TOKENS == context
    roofline_speedup = 8 * weights / (weights + 8 * context * kv)
    assert defaults.batch_efficiency == pytest.approx(6.6 / roofline_speedup, abs=0.005)
    # The module's formula reproduces the measurement with those defaults.
    single = throughput.decode_tokens_per_second(weights, kv, context, 1, 1555, defaults.decode_efficiency)
    at8 = throughput.decode_tokens_per_second(weights, kv, context, 8, 1555, defaults.decode_efficiency)
    # The published 77% counts the weights alone; the formula also reads one sequence's KV cache (0.14 GB), 1.5% more.
    assert single == pytest.approx(75, rel=0.02)
    assert at8 * defaults.batch_efficiency / single == pytest.approx(6.6, rel=0.01)
