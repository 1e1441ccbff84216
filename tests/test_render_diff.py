"""The credential-free PR diff (components/llm_tiers/preview/render_diff.py): what a reviewer must see, checked on real
renders.

Golden files (tests/golden/render_diff/<scenario>.md) hold the exact comment each PR scenario produces;
`make goldens` (UPDATE_GOLDEN=1 on this file) rewrites them after a deliberate change.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path


from llm_tiers import versions
from conftest import ROOT, STACKS, overrides, stack_values
from llm_tiers.cli import blue_green_doc
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import documents
from llm_tiers.preview import field_diff, list_identity, render_diff

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
    d, text = _diff(tmp_path, "dev", lambda v: v["tiers"][0].update(extraArgs=["--block-size=32"]))
    c = _changed(d, "Deployment llm-tiers/chat-small-live")  # dev's tier runs vLLM
    assert ("spec.template.spec.containers[vllm].args[--block-size]", None, "32") in c.changes
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
    # The rotated tenant's rate-limit rules stay the same rules (its old key is the same tenant): only their
    # selector changes, and no rule of another tenant is touched.
    router = _changed(d, "BackendTrafficPolicy llm-gateway/llm-router")
    assert router.changes and all("[tenant search · " in p for p, _, _ in router.changes), router.changes
    assert not _positional(d)
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
    # vLLM: the context length is --max-model-len; the output cap its generation-config default.
    assert ("spec.template.spec.containers[vllm].args[--max-model-len]", "8192", "16384") in c.changes
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
    assert field_diff.field_changes({"spec": {"hostnames": ["a", "b"]}}, {"spec": {"hostnames": ["a", "b", "c"]}},
                                     kind="HTTPRoute") == [("spec.hostnames[+]", None, "c")]
    pod = lambda cs: {"spec": {"template": {"spec": {"containers": cs}}}}  # noqa: E731
    assert field_diff.field_changes(pod([{"name": "x", "v": 1}, {"name": "y", "v": 2}]),
                                     pod([{"name": "y", "v": 3}, {"name": "x", "v": 1}]), kind="Deployment") == [
        ("spec.template.spec.containers[y].v", 2, 3)]
    args = lambda a: pod([{"name": "e", "args": a}])  # noqa: E731
    assert field_diff.field_changes(args(["--a", "1", "--b=2"]), args(["--b=3", "--a", "1"]), kind="Job") == [
        ("spec.template.spec.containers[e].args[--b]", "2", "3")]


def test_long_values_are_collapsed_never_cut():
    long_old, long_new = "x" * 300 + "old", "x" * 300 + "new"
    text = "\n".join(render_diff._value_line("p", long_old, long_new))
    assert "<details>" in text and long_old in text and long_new in text


def test_policy_documents_compare_as_documents():
    doc = lambda action: json.dumps({"Statement": [{"Action": action, "Resource": "*"}]})  # noqa: E731
    assert field_diff.field_changes({"policy": doc("s3:GetObject")}, {"policy": doc("s3:PutObject")},
                                     kind="aws:iam/rolePolicy:RolePolicy") == [
        ("policy<json>.Statement[Allow s3:GetObject]", {"Action": "s3:GetObject", "Resource": "*"}, None),
        ("policy<json>.Statement[Allow s3:PutObject]", None, {"Action": "s3:PutObject", "Resource": "*"})]


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


# ---------------------------------------------------------------------------------------------- list identity


def _positional(d) -> list[str]:
    """Change paths that pair list elements by position (a bare index): there must be none."""
    paths = [p for c in d.changed for p, _, _ in c.changes] + [p for p, _, _ in d.outputs]
    return [p for p in paths if re.search(r"\[\d+\]", p)]


def _all_renders(rendered):
    for stack in STACKS:
        yield stack, rendered(stack)
    for example in render_tool.examples():
        yield f"example {example}", render_tool.render_example(example)


def test_every_rendered_list_has_a_declared_identity(rendered):
    """Walk every list-valued field of every kind the program renders (every stack and example, the stack
    outputs included): each has a matching rule, and a keyed rule's identities are present and unique."""
    missing, broken = set(), []
    for name, result in _all_renders(rendered):
        entries = [(list_identity.kind_of(e), e.get("inputs")) for e in documents.state(result.recording)]
        entries.append(("outputs", documents.redact(result.outputs())))
        for kind, inputs in entries:
            for shape, values in list_identity.lists(inputs):
                rule = list_identity.rule_for(kind, shape)
                if rule is None:
                    missing.add(f"{kind} {shape}")
                elif rule.how == "key" and values:
                    try:
                        ids = [rule.identity(v) for v in values]
                    except (KeyError, TypeError) as exc:
                        broken.append(f"{name}: {kind} {shape}: an element has no identity ({exc})")
                        continue
                    if len(set(ids)) != len(ids) and not rule.repeats:
                        broken.append(f"{name}: {kind} {shape}: repeated identities {sorted(ids)}")
                elif rule.how == "flags" and values and field_diff._flag_map(values) is None:
                    broken.append(f"{name}: {kind} {shape}: not a --flag list: {values}")
    assert not missing, ("lists without a matching rule in llm_tiers/preview/list_identity.py:\n"
                         + "\n".join(sorted(missing)))
    assert not broken, "\n".join(broken)


def test_an_undeclared_list_is_shown_whole_never_by_position():
    old, new = {"x": [{"a": 1}, {"a": 2}]}, {"x": [{"a": 0}, {"a": 1}, {"a": 2}]}
    assert list_identity.rule_for("NoSuchKind", "x") is None
    assert field_diff.field_changes(old, new, kind="NoSuchKind") == [("x", old["x"], new["x"])]


def test_a_new_tenant_in_prod_leaves_the_others_alone(tmp_path):
    """prod gains tenant billing: its rules appear as added rules; no existing tenant's rule reads as changed."""
    def add(v):
        v["tenants"].append({"name": "billing", "tiers": ["chat-small"],
                             "limits": {"requestsPerMinute": 300, "burstPerSecond": 10}})
    d, text = _diff(tmp_path, "prod", add)
    assert not _positional(d)
    router = _changed(d, "BackendTrafficPolicy llm-gateway/llm-router")
    assert all(old is None and "billing" in json.dumps(new) for _, old, new in router.changes), router.changes
    assert {p.split("rules[", 1)[1] for p, _, _ in router.changes} == {
        "tenant billing · model chat-small|llama-3.1-8b-instruct · requests/Minute]",
        "tenant billing · model chat-small|llama-3.1-8b-instruct · requests/Second]"}
    assert " changed:" not in text.split("**plan.md**")[0].split("**Changed**")[1].replace("`by type` changed", "")
    _golden("prod-add-tenant", text)


def test_a_token_budget_cut_is_one_line_on_that_tenant(tmp_path):
    d, text = _diff(tmp_path, "prod", lambda v: v["tenants"][0]["limits"].update(tokensPerMinute=200000))
    assert not _positional(d)
    router = _changed(d, "BackendTrafficPolicy llm-gateway/llm-router")
    assert router.changes == [("spec.rateLimit.global.rules[tenant search · tokens/Minute].limit.requests",
                               2000000, 200000)]
    assert "`spec.rateLimit.global.rules[tenant search · tokens/Minute].limit.requests`: `2000000` → `200000`" in text
    _golden("token-budget", text)


def test_an_engine_image_change_reads_as_that_image(tmp_path, monkeypatch):
    base = _build(tmp_path, "base", "prod")
    old = versions.IMAGES["tgi"]
    monkeypatch.setitem(versions.IMAGES, "tgi", old.rsplit(":", 1)[0] + ":3.3.7")
    head = _build(tmp_path, "head", "prod")
    d = render_diff.diff_stack(base, head)
    assert not _positional(d)
    c = _changed(d, "Deployment llm-tiers/chat-small-live")
    assert c.changes == [("spec.template.spec.containers[tgi].image", old, old.rsplit(":", 1)[0] + ":3.3.7")]
    # The sync Jobs run the engine image too: a Job's template cannot change, so each is replaced (runs again).
    assert {r.label for r in d.replacements} == {"Job llm-tiers/chat-small-sync-0e9e39f249",
                                                 "Job llm-tiers/chat-large-sync-1605565b47"}
    _golden("engine-image", render_diff.markdown({"prod": d}))


def test_a_chart_bump_in_prod(tmp_path, monkeypatch):
    base = _build(tmp_path, "base", "prod")
    pin = versions.CHARTS["keda"]
    monkeypatch.setitem(versions.CHARTS, "keda", versions.Chart(pin.chart, pin.repository, "2.20.3"))
    head = _build(tmp_path, "head", "prod")
    d = render_diff.diff_stack(base, head)
    assert [(c.label, c.changes) for c in d.changed] == [("Helm release keda/keda",
                                                          [("version", pin.version, "2.20.3")])]
    _golden("prod-chart-bump", render_diff.markdown({"prod": d}))


# ---------------------------------------------------------------------------------------------- what merging does


def test_merge_effects_of_an_engine_image_change(tmp_path, monkeypatch):
    """Both tiers roll (pod template), with KEDA's replica range, the surge, an estimate within the update
    budget; the sync Jobs run again; this update's critical path is a sync Job then its tier's rollout."""
    base = _build(tmp_path, "base", "prod")
    monkeypatch.setitem(versions.IMAGES, "tgi", versions.IMAGES["tgi"].rsplit(":", 1)[0] + ":3.3.7")
    head = _build(tmp_path, "head", "prod")
    e = render_diff.diff_stack(base, head).effects
    rolls = {r["label"]: r for r in e.rolls}
    # the tiers, and prod's warm-capacity placeholders: they run the engine image so a new node has it pulled
    assert set(rolls) == {"Deployment llm-tiers/chat-small-live", "Deployment llm-tiers/chat-large-live",
                          "Deployment llm-tiers/warm-l4"}
    small = rolls["Deployment llm-tiers/chat-small-live"]
    prod = stack_values("prod")["tiers"]
    tier = next(t for t in prod if t["name"] == "chat-small")
    assert small["pods"] == f"{tier['replicas']['min']}–{tier['replicas']['max']} (KEDA)"
    assert small["surge"] == "maxSurge 1, maxUnavailable 0" and "containers[tgi].image" in small["why"]
    assert not small["over"], "the update budget covers a rollout at replicas.max"
    assert {j["label"] for j in e.jobs} == {"Job llm-tiers/chat-small-sync-0e9e39f249",
                                            "Job llm-tiers/chat-large-sync-1605565b47"}
    assert [s.action for s in e.path][-1] == "roll" and e.path[0].label.startswith("Job ")
    assert e.total_seconds == sum(s.seconds for s in e.path) > 3600


def test_merge_effects_of_a_protected_replacement(tmp_path):
    """prod protects its cluster (``protect: true``): a new VPC CIDR replaces the cluster, so the update
    stops there and nothing that depends on it runs."""
    d, text = _diff(tmp_path, "prod", lambda v: v["cluster"].update(vpcCidr="10.40.0.0/16"))
    assert d.effects.stopped_at == ["Cluster cluster-eks"]
    assert "NodeGroup cluster-system" in d.effects.held
    assert all(s.label not in d.effects.held for s in d.effects.path)
    assert "**`pulumi up` stops at `Cluster cluster-eks`**" in text
    assert "runbook.md#replacing-a-protected-resource" in text


def test_merge_effects_of_a_config_change_under_running_pods(tmp_path):
    """The request guard's ConfigMap is replaced (pulumi-kubernetes replaces ConfigMaps on data changes); a cap
    changes only its data.json, which OPA reloads from the mounted files (``--watch``), so the guard does not roll
    and the comment names it as reading changed files without a restart."""
    d, text = _diff(tmp_path, "dev", lambda v: v["tiers"][0].update(maxTotalTokens=16384))
    assert any(c.label == "ConfigMap llm-gateway/request-guard" for c in d.replacements)
    assert not any(r["label"] == "Deployment llm-gateway/request-guard" for r in d.effects.rolls)
    assert [u["config"] for u in d.effects.unrolled if u["label"] == "Deployment llm-gateway/request-guard"] == [
        ["ConfigMap llm-gateway/request-guard"]]
    assert "`Deployment llm-gateway/request-guard` reads `ConfigMap llm-gateway/request-guard`: mounted files" in text


def test_a_config_change_without_a_hash_is_called_out(tmp_path):
    """A Deployment that mounts a changed ConfigMap but does not roll is named, with what that means."""
    from llm_tiers.preview import merge_effects_markdown

    def build(folder, data):
        folder.mkdir()
        cm = {"urn": "u-cm", "type": "kubernetes:core/v1:ConfigMap",
              "inputs": {"kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "ns"}, "data": data}}
        dep = {"urn": "u-dep", "type": "kubernetes:apps/v1:Deployment", "inputs": {
            "kind": "Deployment", "metadata": {"name": "app", "namespace": "ns"}, "spec": {"replicas": 1, "template": {
                "spec": {"containers": [{"name": "c"}], "volumes": [{"name": "v", "configMap": {"name": "cfg"}}]}}}}}
        (folder / "state.json").write_text(json.dumps([cm, dep]))
        return folder

    base, head = build(tmp_path / "b", {"k": "1"}), build(tmp_path / "h", {"k": "2"})
    d = render_diff.diff_stack(base, head)
    assert [u["label"] for u in d.effects.unrolled] == ["Deployment ns/app"]
    assert d.effects.unrolled[0]["config"] == ["ConfigMap ns/cfg"]
    assert "no rollout" in "\n".join(merge_effects_markdown.markdown("s", d.effects))


def test_merge_effects_of_a_rate_limit_change_waits_for_nothing(tmp_path):
    d, text = _diff(tmp_path, "prod", lambda v: v["tenants"][0]["limits"].update(tokensPerMinute=200000))
    assert not (d.effects.rolls or d.effects.jobs or d.effects.replacements) and d.effects.total_seconds == 0
    assert "**No awaits**" in text
    assert text.index("### What happens when you merge") < text.index("### Changes")


def test_only_stack_builds_are_compared(tmp_path):
    """A wheel build leaves build/lib and build/bdist.* beside the stacks: they are not stacks."""
    for side in ("base", "head"):
        render_tool.write_build(render_tool.render("dev"), tmp_path / side)
        (tmp_path / side / "lib" / "llm_tiers").mkdir(parents=True)
        (tmp_path / side / "lib" / "llm_tiers" / "plan.py").write_text("x = 1\n")
        (tmp_path / side / "bdist.linux-x86_64").mkdir()
    (tmp_path / "head" / "lib" / "llm_tiers" / "plan.py").write_text("x = 2\n")
    out = tmp_path / "diff.md"
    argv = ["--base", str(tmp_path / "base"), "--head", str(tmp_path / "head"), "--out", str(out)]
    assert render_diff.main(argv) == 0
    text = out.read_text()
    assert "### lib" not in text and "bdist" not in text and "No change in any stack's render." in text


def test_a_deleted_claim_with_data_is_flagged_at_the_top(tmp_path):
    # prod's chat-small moves off EFS: its weights claim is deleted (the cache it holds is lost; the sync refills
    # the S3 mirror instead). A reviewer must see that before the details, with what it loses.
    def off_efs(v):
        v["gpuClasses"]["l4"]["instanceStore"] = "raid0"
        v["tiers"][0]["weightsFrom"] = "nvme"

    d, text = _diff(tmp_path, "prod", off_efs)
    [(name, lost, protected)] = d.deleted_state
    assert name == "PersistentVolumeClaim llm-tiers/chat-small-weights-0e9e39f249" and not protected
    assert "weight cache" in lost
    head = text.split("### What happens when you merge", 1)[0]
    assert f"> **⚠ 1 deletion(s) with data**: prod: `{name}`" in head
    assert f"- `{name}` — loses {lost}" in text
    # Nothing else that holds data goes: the EFS file system and every other claim stay.
    assert all(not e["type"].startswith("aws:efs") for e in d.removed)
