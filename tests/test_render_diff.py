"""The credential-free PR diff: object-level changes between two renders."""

from __future__ import annotations

from conftest import overrides, stack_values
from tools import render as render_tool
from tools import render_diff


def _build(tmp_path, name, **kw):
    return render_tool.write_build(render_tool.render("dev", **kw), tmp_path / name).parent


def test_no_change_is_said_plainly(tmp_path):
    base, head = _build(tmp_path, "base"), _build(tmp_path, "head")
    diffs = {"dev": render_diff.diff_stack(base / "dev", head / "dev")}
    assert all(d.empty for d in diffs["dev"].values())
    assert "No change in any stack's render." in render_diff.markdown(diffs)


def test_a_tiers_max_replicas_is_a_small_reviewable_diff(tmp_path):
    values = stack_values("dev")
    base = _build(tmp_path, "base", overrides=overrides(values))
    values["tiers"][0]["replicas"]["max"] = 3
    head = _build(tmp_path, "head", overrides=overrides(values))
    files = render_diff.diff_stack(base / "dev", head / "dev")
    k8s = files["kubernetes.yaml"]
    assert not k8s.added and not k8s.removed
    # The autoscaler that enforces it, and the alert text that quotes it: nothing else.
    assert k8s.changed["ScaledObject llm-tiers/chat-small-live (keda.sh/v1alpha1)"] == [("spec.maxReplicaCount", 2, 3)]
    (rule_key,) = set(k8s.changed) - {"ScaledObject llm-tiers/chat-small-live (keda.sh/v1alpha1)"}
    assert rule_key.startswith("PrometheusRule monitoring/llm-tiers")
    assert all("replicas.max = 3" in str(new) for _, _, new in k8s.changed[rule_key]), k8s.changed[rule_key]
    assert files["aws.json"].empty and files["helm.yaml"].empty
    assert files["plan.md"].changed == {"tier chat-small": [("replicasMax", "2", "3")]}
    # The bill follows: the tier's line and the total at max, nothing at min.
    bill = {path: (old, new) for path, old, new in files["outputs.json"].changed["bill"]}
    assert bill["tiers[0].replicasMax"] == (2, 3)
    assert bill["total.usdPerMonthMax"][1] > bill["total.usdPerMonthMax"][0]
    assert not [p for p in bill if p.endswith("Min")]
    text = render_diff.markdown({"dev": files})
    assert "**kubernetes.yaml**: 0 added, 0 removed, 2 changed" in text and "`replicasMax`: `2` → `3`" in text


def test_added_and_removed_objects_and_nested_fields():
    d = render_diff.diff_keyed({"a": {"x": 1, "l": [1, 2]}, "gone": {}}, {"a": {"x": 2, "l": [1, 3], "y": 0}, "new": {}})
    assert d.added == ["new"] and d.removed == ["gone"]
    assert d.changed["a"] == [("l[1]", 2, 3), ("x", 1, 2), ("y", None, 0)]


def test_policy_documents_compare_as_objects(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "h").mkdir()
    doc = lambda action: '{"Statement": [{"Action": "%s", "Resource": "*"}], "Version": "2012-10-17"}' % action  # noqa: E731
    (tmp_path / "b" / "aws.json").write_text('[{"type": "aws:iam/rolePolicy:RolePolicy", "name": "p", "inputs": {"policy": %s}}]'
                                            % __import__("json").dumps(doc("s3:GetObject")))
    (tmp_path / "h" / "aws.json").write_text('[{"type": "aws:iam/rolePolicy:RolePolicy", "name": "p", "inputs": {"policy": %s}}]'
                                            % __import__("json").dumps(doc("s3:PutObject")))
    d = render_diff.diff_keyed(render_diff.aws_resources(tmp_path / "b" / "aws.json"),
                               render_diff.aws_resources(tmp_path / "h" / "aws.json"))
    assert d.changed == {"aws:iam/rolePolicy:RolePolicy p": [("policy.Statement[0].Action", "s3:GetObject", "s3:PutObject")]}
