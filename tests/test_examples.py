"""The examples render offline with the same tool, create no AWS resource, and validate; components
compose in ways the main program does not."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml

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
        from llm_tiers import Cluster, ClusterArgs
        admins = ["arn:aws:iam::111122223333:role/admin"]
        east = Cluster("east", ClusterArgs(name="llm-east", region="us-east-1",
                                           settings={"admin_role_arns": admins, "vpc_cidr": "10.1.0.0/16"}))
        west = Cluster("west", ClusterArgs(name="llm-west", region="us-east-1",
                                           settings={"admin_role_arns": admins, "vpc_cidr": "10.2.0.0/16"}))
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


# The Pulumi YAML example (examples/yaml-tier): a program in another language, through the component provider.
YAML_EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "yaml-tier" / "Pulumi.yaml"
YAML_CONFIG = {"kubeconfig": "apiVersion: v1", "hostname": "llm.team.example",
               "certificateArn": "arn:aws:acm:us-east-1:111122223333:certificate/3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"}


def yaml_resources(doc: dict, config: dict) -> dict[str, tuple[str, dict]]:
    """The program's llmtiers resources with ``${...}`` resolved as Pulumi YAML resolves them before the engine
    sends them: variables and config by value; another resource (or its output) stays a placeholder string."""
    variables = doc.get("variables") or {}

    def resolve(value):
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, str):
            whole = re.fullmatch(r"\$\{([^}]+)\}", value)
            if whole and whole.group(1) in variables:
                return resolve(variables[whole.group(1)])
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(config.get(m.group(1), f"<{m.group(1)}>")), value)
        return value

    return {name: (r["type"], resolve(r.get("properties") or {})) for name, r in doc["resources"].items()
            if r["type"].startswith("llmtiers:")}


def schema_problems(value, prop: dict, schema: dict, path: str) -> list[str]:
    """Keys the package schema does not have, required keys missing, and scalar type mismatches (null is an unset
    optional property, as the engine treats it)."""
    if value is None:
        return []
    if "$ref" in prop:
        ref = prop["$ref"]
        if not ref.startswith("#/types/"):
            return []
        spec = schema["types"][ref[len("#/types/"):]]
        return object_problems(value, spec.get("properties") or {}, spec.get("required") or [], schema, path)
    kind = prop.get("type")
    if kind == "array":
        return ([f"{path}: not a list"] if not isinstance(value, list) else
                [p for i, v in enumerate(value) for p in schema_problems(v, prop["items"], schema, f"{path}[{i}]")])
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        item = prop.get("additionalProperties") or {}
        return [p for k, v in value.items() for p in schema_problems(v, item, schema, f"{path}.{k}")]
    expected = {"string": str, "integer": int, "number": (int, float), "boolean": bool}.get(kind)
    return [f"{path}: {value!r} is not {kind}"] if expected and not isinstance(value, expected) else []


def object_problems(value, props: dict, required: list, schema: dict, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: not an object"]
    out = [f"{path}.{k}: not in the schema" for k in value if k not in props]
    out += [f"{path}.{k}: required" for k in required if k not in value]
    return out + [p for k, v in value.items() if k in props
                  for p in schema_problems(v, props[k], schema, f"{path}.{k}")]


def test_the_yaml_example_uses_the_schema_the_provider_publishes():
    from llm_tiers import provider

    doc = yaml.safe_load(YAML_EXAMPLE.read_text())
    assert doc["runtime"] == "yaml" and doc["packages"] == {"llmtiers": "../../provider"}
    assert (YAML_EXAMPLE.parent / doc["packages"]["llmtiers"] / "PulumiPlugin.yaml").is_file()
    schema = provider.schema()
    resources = yaml_resources(doc, YAML_CONFIG)
    assert {t for t, _ in resources.values()} >= {"llmtiers:index:ModelTier", "llmtiers:index:Gateway"}
    problems = [
        p
        for name, (token, props) in resources.items()
        for p in object_problems(
            props,
            schema["resources"][token]["inputProperties"],
            schema["resources"][token].get("requiredInputs") or [],
            schema,
            name,
        )
    ]
    assert not problems, problems
    outputs = {k: v for k, v in doc["outputs"].items()}
    for value in outputs.values():  # ${resource.output}: an output the component publishes
        name, output = re.fullmatch(r"\$\{(\w+)\.(\w+)\}", value).groups()
        assert output in schema["resources"][resources[name][0]]["properties"], value


def test_the_schema_check_can_fail():
    from llm_tiers import provider

    schema = provider.schema()
    token = "llmtiers:index:ModelTier"
    props = schema["resources"][token]["inputProperties"]
    found = set(
        object_problems({"tier": {"nmae": "x", "maxInputTokens": "many"}}, props, ["tier", "lock"], schema, "t")
    )
    assert found >= {
        "t.lock: required",
        "t.tier.nmae: not in the schema",
        "t.tier.maxInputTokens: 'many' is not integer",
    }


YAML_PROGRAM = """
import json
import pulumi
from llm_tiers import provider
p = provider.provider()
for name, (token, inputs) in json.loads({resources!r}).items():
    try:
        p.construct(name, token, inputs, pulumi.ResourceOptions())
    except Exception as exc:  # the provider wraps a component's error in ComponentInitError
        pulumi.export("error-" + name, f"{{type(exc).__name__}}: {{exc}}")
"""


def test_the_yaml_example_constructs_through_the_provider(tmp_path, crd_schemas):
    """What the YAML program's resources register when the engine constructs them (camelCase plain inputs, as the
    YAML runtime sends them), validated like every render."""
    resources = yaml_resources(yaml.safe_load(YAML_EXAMPLE.read_text()), YAML_CONFIG)
    project = tmp_path / "yaml"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: yaml-tier\nruntime: python\n")
    (project / "__main__.py").write_text(textwrap.dedent(YAML_PROGRAM.format(resources=json.dumps(resources))))
    result = render_tool.run_program("test", {"aws:region": "us-east-1"}, [], project_dir=project)
    errors = {k: v for k, v in result.recording.stack_outputs.items() if k.startswith("error-")}
    assert not errors, errors
    objects = result.kubernetes_objects()
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert {("Deployment", "chat-live"), ("Service", "chat"), ("Namespace", "llm-tiers")} <= kinds
    assert any(o["kind"] == "AIGatewayRoute" for o in objects)
    problems, skipped = validate.validate_objects(objects, "1.34", crd_schemas)
    assert not problems and not skipped, problems
