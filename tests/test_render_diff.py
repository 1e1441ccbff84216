"""The credential-free PR diff (components/llm_tiers/cli/render_diff.py): what a reviewer must see, checked on real renders.

Golden files (tests/golden/render_diff/<scenario>.md) hold the exact comment each PR scenario produces;
`UPDATE_GOLDEN=1 make test PYTEST_ARGS=tests/test_render_diff.py` rewrites them after a deliberate change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from llm_tiers import versions
from conftest import ROOT, overrides, stack_values
from llm_tiers.cli import blue_green_doc
from llm_tiers.testing import render as render_tool
from llm_tiers.cli import render_diff

GOLDEN = ROOT / "tests" / "golden" / "render_diff"


def _build(tmp_path: Path, name: str, stack: str, values=None) -> Path:
    result = render_tool.render(stack, overrides=overrides(values) if values is not None else None)
    return render_tool.write_build(result, tmp_path / name)


def _diff(tmp_path, stack, change):
    values = stack_values(stack)
    base = _build(tmp_path, "base", stack, values)
    change(values)
    head = _build(tmp_path, "head", stack, values)
    d = render_diff.diff_stack(base, head)
    return d, render_diff.markdown({stack: d})


def _golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.md"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing; run with UPDATE_GOLDEN=1 once"
    assert text == path.read_text(), f"the {name} comment changed; review it and run with UPDATE_GOLDEN=1"


def _changed(d, label):
    return next(c for c in d.changed if c.label == label)


def test_no_change_is_said_plainly(tmp_path):
    base, head = _build(tmp_path, "base", "dev"), _build(tmp_path, "head", "dev")
    d = render_diff.diff_stack(base, head)
    assert d.empty and "No change in any stack's render." in render_diff.markdown({"dev": d})


def test_a_new_engine_flag_shows_as_that_flag(tmp_path):
    d, text = _diff(tmp_path, "dev", lambda v: v["tiers"][0].update(extraArgs=["--max-waiting-tokens=20"]))
    c = _changed(d, "Deployment llm-tiers/chat-small-live")
    assert ("spec.template.spec.containers[tgi].args[--max-waiting-tokens]", None, "20") in c.changes
    assert not c.replaced_by and not d.added and not d.removed
    _golden("new-engine-flag", text)


def test_a_new_tenant_with_limits_is_shown_in_full(tmp_path):
    def add(v):
        v["tenants"].append({"name": "batch", "tiers": ["chat-small"],
                             "limits": {"requestsPerMinute": 30, "burstPerSecond": 2}})
    d, text = _diff(tmp_path, "dev", add)
    assert {e["name"] for e in d.added} == {"secrets-tenant-batch"}  # generator, secret, version
    assert "requestsPerMinute" not in text or "30" in text
    traffic = _changed(d, "BackendTrafficPolicy llm-gateway/chat-small")
    assert any("batch" in json.dumps(new) for _, _, new in traffic.changes), traffic.changes
    assert "<details><summary>added <code>Secret secrets-tenant-batch</code></summary>" in text
    _golden("new-tenant", text)


def test_a_key_rotation_is_named_never_shown(tmp_path):
    d, text = _diff(tmp_path, "prod", lambda v: v["tenants"][0].update(rotate=1))
    assert d.rotations == ["rotates the key of tenant search"]
    assert "> **Key rotation**: prod: rotates the key of tenant search" in text
    assert "sk-" not in text
    _golden("key-rotation", text)


def test_a_vpc_cidr_change_flags_the_vpc_subnets_and_cluster_as_replaced(tmp_path):
    d, text = _diff(tmp_path, "staging", lambda v: v["cluster"].update(vpcCidr="10.40.0.0/16"))
    replaced = {c.label for c in d.replacements}
    assert "Vpc cluster-vpc" in replaced and "Cluster cluster-eks" in replaced
    assert {f"Subnet cluster-{k}-{i}" for k in ("public", "private") for i in range(3)} <= replaced
    vpc = _changed(d, "Vpc cluster-vpc")
    assert vpc.new_id and vpc.new_id[0] != vpc.new_id[1], "the mock engine gives a replaced VPC a new ID"
    assert text.index("⚠") < text.index("**Changed**"), "replacements lead the comment"
    _golden("vpc-cidr", text)


def test_a_blue_green_promotion_changes_only_the_live_release(tmp_path):
    states = blue_green_doc.states()
    base = render_tool.write_build(blue_green_doc.render_state(states[3]), tmp_path / "base")  # serving the candidate
    head = render_tool.write_build(blue_green_doc.render_state(states[4]), tmp_path / "head")  # promoted
    d = render_diff.diff_stack(base, head)
    assert not d.added and {label for label in (render_diff.label(e) for e in d.removed)} == {
        "Job llm-tiers/chat-small-sync-0e9e39f249", "PersistentVolumeClaim llm-tiers/chat-small-weights-0e9e39f249"}
    # The live release's benchmark and eval record its new model, so they run again.
    run = blue_green_doc.RUN_ID
    assert sorted(c.label for c in d.changed) == ["Deployment llm-tiers/chat-small-live",
                                                  f"Job llm-tiers/chat-small-live-bench-{run}",
                                                  f"Job llm-tiers/chat-small-live-eval-{run}"]
    # A Job's pod template is immutable: those two are replaced (deleted first), nothing else is.
    assert sorted(c.label for c in d.replacements) == [f"Job llm-tiers/chat-small-live-bench-{run}",
                                                       f"Job llm-tiers/chat-small-live-eval-{run}"]
    _golden("blue-green-promotion", render_diff.markdown({"prod": d}))


def test_a_chart_version_bump(tmp_path, monkeypatch):
    base = _build(tmp_path, "base", "dev")
    monkeypatch.setitem(versions.CHARTS, "keda", versions.Chart("keda", versions.CHARTS["keda"].repository, "2.20.3"))
    head = _build(tmp_path, "head", "dev")
    d = render_diff.diff_stack(base, head)
    c = _changed(d, "Helm release keda/keda")
    assert c.changes == [("version", "2.20.2", "2.20.3")] and not c.replaced_by
    _golden("chart-bump", render_diff.markdown({"dev": d}))


def test_max_total_tokens_changes_the_flag_and_the_plan_row(tmp_path):
    d, text = _diff(tmp_path, "dev", lambda v: v["tiers"][0].update(maxTotalTokens=16384))
    c = _changed(d, "Deployment llm-tiers/chat-small-live")
    assert ("spec.template.spec.containers[tgi].args[--max-total-tokens]", "8192", "16384") in c.changes
    row = next(v for k, v in d.plan.items() if k.endswith("tier chat-small"))
    assert ("maxTotalTokens", "8192", "16384") in row and ("maxOutputTokens", "4096", "12288") in row
    _golden("max-total-tokens", text)


def test_a_renamed_object_is_a_replacement(tmp_path):
    d, _ = _diff(tmp_path, "dev", lambda v: v["cluster"].setdefault("efs", {}).update(storageClassName="efs-cache"))
    sc = _changed(d, "StorageClass efs-cache")
    assert "metadata.name" in sc.replaced_by
    pvc = next(c for c in d.changed if c.label.startswith("PersistentVolumeClaim"))
    assert "spec.storageClassName" in pvc.replaced_by and "data" in pvc.loses


def test_lists_are_compared_element_by_element():
    assert render_diff.field_changes({"l": ["a", "b"]}, {"l": ["a", "b", "c"]}) == [("l[+]", None, "c")]
    assert render_diff.field_changes([{"name": "x", "v": 1}, {"name": "y", "v": 2}],
                                     [{"name": "y", "v": 3}, {"name": "x", "v": 1}]) == [("[y].v", 2, 3)]
    assert render_diff.field_changes(["--a", "1", "--b=2"], ["--b=3", "--a", "1"]) == [("[--b]", "2", "3")]


def test_long_values_are_collapsed_never_cut():
    long_old, long_new = "x" * 300 + "old", "x" * 300 + "new"
    text = "\n".join(render_diff._value_line("p", long_old, long_new))
    assert "<details>" in text and long_old in text and long_new in text


def test_policy_documents_compare_as_documents():
    doc = lambda action: json.dumps({"Statement": [{"Action": action, "Resource": "*"}]})  # noqa: E731
    assert render_diff.field_changes({"policy": doc("s3:GetObject")}, {"policy": doc("s3:PutObject")}) == [
        ("policy<json>.Statement[0].Action", "s3:GetObject", "s3:PutObject")]


def test_a_base_built_before_state_json_still_diffs(tmp_path):
    base = _build(tmp_path, "base", "dev")
    (base / "state.json").unlink()
    head = _build(tmp_path, "head", "dev")
    d = render_diff.diff_stack(base, head)
    assert d.changed or d.added  # matched by another key: reported, not silently equal


def test_the_bill_follows_a_replicas_change(tmp_path):
    """The cost summary's figures reach the diff through outputs.json: the tier's line and the total at max."""
    def change(v):
        v["tiers"][0]["replicas"]["max"] = 3
    d, text = _diff(tmp_path, "dev", change)
    bill = {p: (a, b) for p, a, b in d.outputs if p.startswith("bill")}
    assert bill, d.outputs
    assert any(p.endswith("replicasMax") and v == (2, 3) for p, v in bill.items()), bill
    total = next(v for p, v in bill.items() if p.endswith("total.usdPerMonthMax"))
    assert total[1] > total[0]
    assert not [p for p in bill if p.endswith("Min")]
    assert "**Stack outputs**" in text
    # The comment leads with the money: the stack's $/month at min and max, and the tier's, before -> after.
    old, new = d.bills
    lead = text.split("### dev", 1)[0]
    assert (f"at max ${old['total']['usdPerMonthMax']:,.2f} → ${new['total']['usdPerMonthMax']:,.2f}" in lead)
    assert "- chat-small (live): min" in text.split("### dev", 1)[1].split("**Changed**")[0]
