"""The offline render: every stack renders, the files the render writes are all there, secrets never leak."""

from __future__ import annotations

import json
import pytest
import yaml

from conftest import PROJECT, ROOT, STACKS, overrides, stack_values
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import documents, stack_file
from llm_tiers.preview.mocks import SECRET_SIG


def test_there_are_dev_staging_and_prod_stacks():
    assert {"dev", "staging", "prod"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_renders_the_contract_files(rendered, stack, tmp_path):
    target = render_tool.write_build(rendered(stack), tmp_path)
    assert sorted(p.name for p in target.iterdir()) == ["aws.json", "helm.yaml", "kubernetes.yaml", "outputs.json",
                                                        "plan.md", "rollout.json", "rollout.md", "state.json"]
    assert json.loads((target / "outputs.json").read_text()) == rendered(stack).outputs()
    aws = json.loads((target / "aws.json").read_text())
    assert isinstance(aws, list) and aws
    assert all(set(e) == {"type", "name", "inputs"} and e["type"].startswith("aws:") for e in aws)
    objects = [d for d in yaml.safe_load_all((target / "kubernetes.yaml").read_text()) if d]
    assert objects and all(o["apiVersion"] and o["kind"] and o["metadata"]["name"] for o in objects)
    for release in [d for d in yaml.safe_load_all((target / "helm.yaml").read_text()) if d]:
        assert set(release) == {"name", "namespace", "chart", "repository", "version", "values"}
    plan = (target / "plan.md").read_text()
    for tier in stack_values(stack)["tiers"]:
        # The tier table's row is the serving release's (staging's chat-small serves its candidate).
        assert f"| {tier['name']} | {tier.get('serve', 'live')} | {tier['modelId']} |" in plan


def test_prod_has_the_cluster_in_aws_json_and_the_storage_class_in_kubernetes_yaml(rendered, tmp_path):
    target = render_tool.write_build(rendered("prod"), tmp_path)
    types = {e["type"] for e in json.loads((target / "aws.json").read_text())}
    assert {"aws:eks/cluster:Cluster", "aws:ec2/vpc:Vpc", "aws:eks/nodeGroup:NodeGroup",
            "aws:efs/fileSystem:FileSystem", "aws:kms/key:Key"} <= types
    kinds = {(o["kind"], o["metadata"]["name"]) for o in yaml.safe_load_all((target / "kubernetes.yaml").read_text())}
    assert ("StorageClass", "efs-weights") in kinds


def test_render_is_reproducible(tmp_path):
    first = render_tool.write_build(render_tool.render("staging"), tmp_path / "a")
    second = render_tool.write_build(render_tool.render("staging"), tmp_path / "b")
    for name in ("aws.json", "helm.yaml", "kubernetes.yaml", "outputs.json", "plan.md"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_mocked_outputs_look_real(rendered):
    r = rendered("prod")
    eks = r.of_type("aws:eks/cluster:Cluster")[0]
    assert eks.id == "llm-prod"
    ng = r.of_type("aws:eks/nodeGroup:NodeGroup")[0].inputs
    assert ng["clusterName"] == "llm-prod"
    assert all(s.id.startswith("subnet-") for s in r.of_type("aws:ec2/subnet:Subnet"))
    roles = r.of_type("aws:iam/role:Role")
    assert all(x.inputs.get("name") for x in roles)
    node = next(x for x in roles if x.inputs["name"] == "llm-prod-node")
    role = "arn:aws:iam::111122223333:role/"
    assert r.outputs()["nodeRoleArn"] == f"{role}llm-prod-node" == f"{role}{node.id}"


def test_redact_replaces_secret_markers_anywhere():
    wrapped = {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "value": "hf_abc"}
    data = {"a": [1.0, {"b": wrapped}], "c": wrapped, "d": 2.5}
    assert documents.redact(data) == {"a": [1, {"b": "[secret]"}], "c": "[secret]", "d": 2.5}


@pytest.mark.parametrize("stack", STACKS)
def test_a_configured_token_appears_nowhere(stack, tmp_path):
    token = "hf_RenderLeakCanary0123456789abcdef"
    receivers = (stack_values(stack).get("observability") or {}).get("alertmanager", {}).get("receivers", [])
    urls = {r["name"]: f"https://canary.example/{r['name']}" for r in receivers}
    result = render_tool.render(stack, secrets={"hfToken": token, **({"alertReceiverUrls": urls} if urls else {})})
    target = render_tool.write_build(result, tmp_path)
    for path in target.iterdir():
        text = path.read_text()
        assert token not in text and "canary.example" not in text, f"secret leaked into {path.name}"
    dumped = json.dumps(result.outputs())
    assert token not in dumped and "canary.example" not in dumped, "secret leaked into a stack output"
    grafana = [r for r in result.recording.resources if r.type == "random:index/randomPassword:RandomPassword"
               and r.name.endswith("grafana-admin")]
    assert grafana, "the Grafana admin password is generated"
    assert token not in json.dumps(documents.redact([r.inputs for r in result.recording.resources]))


def test_invalid_config_fails_before_any_resource_is_registered():
    values = stack_values("prod")
    values["tiers"][0]["maxTotalTokens"] = 100
    values["gateway"]["hostnme"] = "x"
    with pytest.raises(render_tool.RenderError) as info:
        render_tool.render("prod", overrides=overrides(values))
    message = str(info.value)
    assert "tiers[0].maxTotalTokens: must be greater than maxInputTokens (4096)" in message
    assert "gateway.hostnme: unknown key; did you mean `hostname`?" in message
    assert "stacks/Pulumi.prod.yaml" in message
    assert info.value.recording.resources == [], "nothing may be created half-way"


def test_plaintext_token_is_refused():
    config, secret_keys = stack_file.stack_config("dev", omit_secrets=True)
    config[f"{PROJECT}:hfToken"] = "hf_plaintext"
    with pytest.raises(render_tool.RenderError, match=r"hfToken: is stored in plaintext; .*--secret hfToken"):
        render_tool.run_program("dev", config, secret_keys)


def test_missing_region_is_refused():
    config, secret_keys = stack_file.stack_config("dev")
    del config["aws:region"]
    with pytest.raises(render_tool.RenderError, match=r"aws:region: required"):
        render_tool.run_program("dev", config, secret_keys)


def test_unknown_project_key_is_refused():
    with pytest.raises(render_tool.RenderError, match=r"gpuClass: unknown config key; did you mean `gpuClasses`"):
        render_tool.render("dev", overrides={f"{PROJECT}:gpuClass": {"x": 1}})


def test_cli_writes_build_and_reports(tmp_path, capsys):
    assert render_tool.main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    assert "rendered dev in" in capsys.readouterr().out
    assert (tmp_path / "dev" / "aws.json").exists()


def test_cli_refuses_a_broken_stack_with_exit_code_2(tmp_path, capsys, monkeypatch):
    values = stack_values("dev")
    values["tiers"][0]["maxTotalTokens"] = 10
    real_render = render_tool.render
    monkeypatch.setattr(render_tool, "render", lambda stack,
                        **kw: real_render(stack, overrides=overrides(values), **kw))
    assert render_tool.main(["--stack", "dev", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "render dev: refused" in err and "tiers[0].maxTotalTokens" in err
    assert not (tmp_path / "dev").exists(), "a refused stack writes no build output"


@pytest.mark.parametrize("stack", STACKS)
def test_unconfigured_render_refuses_only_for_missing_secrets(stack):
    """Rendered as the stack file is configured (no placeholders for secrets it does not hold), a stack is
    refused only for what an operator sets with `pulumi config set --secret`, named at its key path, and
    nothing is registered. The shipped stack files hold no secrets, so this lists exactly what each needs."""
    from llm_tiers.tiers import models_lock

    lock = models_lock.load(ROOT / "models.lock.json")
    needs_token = any(lock.models[t["modelId"]].gated for t in stack_values(stack)["tiers"])
    try:
        render_tool.render(stack, omit_secrets=True)
    except render_tool.RenderError as exc:
        assert exc.recording.resources == []
        lines = [line for line in str(exc).splitlines() if line.startswith("  - ")]
        assert lines, str(exc)
        assert all("no token is configured" in line or "no URL for receiver" in line for line in lines), str(exc)
        assert needs_token == any("no token is configured" in line for line in lines)
    else:
        assert not needs_token, f"{stack} deploys a gated model: an unconfigured render must refuse it"


def test_cli_no_secret_placeholders_refuses_a_gated_model(tmp_path, capsys):
    assert render_tool.main(["--stack", "prod", "--no-secret-placeholders", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "tiers[0].modelId: meta-llama/Llama-3.1-8B-Instruct is gated" in err
    assert "no URL for receiver 'oncall'" in err
    assert render_tool.main(["--stack", "dev", "--no-secret-placeholders", "--out", str(tmp_path)]) == 0


def test_a_stack_file_that_is_not_yaml_names_file_and_line(tmp_path):
    bad = tmp_path / "Pulumi.broken.yaml"
    bad.write_text("config:\n  aws:region: us-east-1\n  llm-tiers:tiers: [\n")
    with pytest.raises(render_tool.RenderError, match=r"Pulumi.broken.yaml:4:1: not a valid YAML stack file") as info:
        render_tool.render("broken", stack_file=bad)
    assert info.value.recording is None
