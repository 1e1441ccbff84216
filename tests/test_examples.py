"""The examples render offline with the same tool, create no AWS resource, and validate; components
compose in ways the main program does not."""

from __future__ import annotations

import json
import textwrap

import pytest

from llm_tiers.preview import render as render_tool
from llm_tiers.preview import validate


def test_both_examples_exist():
    assert set(render_tool.examples()) >= {"existing-cluster", "single-tier"}


@pytest.fixture(scope="module")
def examples():
    return {name: render_tool.render_example(name) for name in render_tool.examples()}


@pytest.mark.parametrize("name", ["existing-cluster", "single-tier"])
def test_example_renders_without_aws_and_validates(examples, name, crd_schemas):
    result = examples[name]
    assert result.aws_resources() == []
    objects = result.kubernetes_objects()
    problems, skipped = validate.validate_objects(objects, "1.34", crd_schemas)
    assert not problems and not skipped, problems
    secrets = [o for o in objects if o["kind"] == "Secret"]
    assert secrets and all(set(o["stringData"].values()) == {"[secret]"} for o in secrets)


def test_existing_cluster_example_has_the_tier_gateway_and_observability(examples):
    objs = {(o["kind"], o["metadata"]["name"]) for o in examples["existing-cluster"].kubernetes_objects()}
    assert {("Deployment", "chat-live"), ("ScaledObject", "chat-live"), ("HTTPRoute", "chat"),
            ("PrometheusRule", "llm-tiers"), ("SecurityPolicy", "chat")} <= objs
    releases = {r["name"] for r in examples["existing-cluster"].helm_releases()}
    assert releases == {"kube-prometheus-stack", "dcgm-exporter", "keda", "envoy-gateway", "ai-gateway",
                        "observability-prometheus-operator-crds", "gateway-envoy-gateway-crds",
                        "gateway-ai-gateway-crds"}
    assert examples["existing-cluster"].outputs()["baseUrl"] == "https://llm.internal.example.com/v1"


def test_single_tier_example_is_minimal(examples):
    objs = {(o["kind"], o["metadata"]["name"]): o for o in examples["single-tier"].kubernetes_objects()}
    assert objs[("Deployment", "chat-live")]["spec"]["replicas"] == 1
    assert not [k for k in objs if k[0] in ("ScaledObject", "PodMonitor", "PrometheusRule")]
    assert examples["single-tier"].outputs()["apiKey"] == "[secret]"


def test_cli_renders_an_example(tmp_path, capsys):
    assert render_tool.main(["--example", "single-tier", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "examples" / "single-tier" / "kubernetes.yaml").exists()


def test_two_clusters_in_one_program(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: two\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent("""
        import pulumi
        from llm_tiers import Cluster, ClusterArgs, ClusterConfig
        admins = ["arn:aws:iam::111122223333:role/admin"]
        east = Cluster("east", ClusterArgs(name="llm-east", region="us-east-1",
                                           settings=ClusterConfig(admin_role_arns=admins, vpc_cidr="10.1.0.0/16")))
        west = Cluster("west", ClusterArgs(name="llm-west", region="us-east-1",
                                           settings=ClusterConfig(admin_role_arns=admins, vpc_cidr="10.2.0.0/16")))
        pulumi.export("names", [east.cluster_name, west.cluster_name])
    """))
    result = render_tool.run_program("test", {"aws:region": "us-east-1"}, [], project_dir=tmp_path)
    assert result.outputs()["names"] == ["llm-east", "llm-west"]
    roles = [r.inputs["name"] for r in result.of_type("aws:iam/role:Role")]
    assert len(roles) == len(set(roles)), "no IAM name collides between the two clusters"
    providers = [r for r in result.custom_resources if r.type == "pulumi:providers:kubernetes"]
    assert len(providers) == 2
    by_provider = {}
    for r in result.custom_resources:
        if r.type == "kubernetes:storage.k8s.io/v1:StorageClass":
            by_provider.setdefault(r.provider.split("::")[-2], []).append(r.inputs["metadata"]["name"])
    assert len(by_provider) == 2, "each cluster's StorageClasses go through its own provider"


def test_a_composed_programs_plan_lists_its_tiers(tmp_path):
    """A program that composes the components (no tierPlan export) still gets its tiers in plan.md, read from
    the Deployments it rendered, with the output cap the gateway's guard enforces."""
    result = render_tool.render_example("single-tier")
    result.stack = "single-tier"
    plan = (render_tool.write_build(result, tmp_path) / "plan.md").read_text()
    assert "No tiers configured." not in plan
    row = next(line for line in plan.splitlines() if line.startswith("| chat | live |"))
    deployment = result.objects_named("Deployment")["chat-live"]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    total, inp = args[args.index("--max-total-tokens") + 1], args[args.index("--max-input-tokens") + 1]
    from llm_tiers.gateway import guard
    (cm,) = [o for o in result.kubernetes_objects() if o["kind"] == "ConfigMap" and o["metadata"]["name"] == guard.NAME]
    cap = json.loads(cm["data"][guard.DATA_KEY])[guard.DATA_ROOT]["caps"]["chat"]
    assert f"| {inp} | {total} | {cap} |" in row, row
