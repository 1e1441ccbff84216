"""The platform's components on typed args (issue 27): Cluster, GpuCapacity, Namespaces and WarmCapacity each
refuse bad args at their ``args.`` paths with nothing registered (the stack loader's rules for the cluster and GPU
class sections, restated at args paths), construct through the component provider from the plain camelCase inputs
a TypeScript, Go or YAML program passes, and keep their Python-only wiring (Kubernetes provider, resources to
wait for) out of the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_tiers import provider
from llm_tiers.preview import render as render_tool
from test_component_args import refused, run
from test_provider import constructed

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "arn:aws:iam::111122223333:role/a"
TGI = "ghcr.io/huggingface/text-generation-inference:3.3.6"

# component -> (program composing it with bad args, the arg paths the error must name)
BAD: dict[str, tuple[str, list[str]]] = {
    "Cluster": (f"""
from llm_tiers import Cluster, ClusterArgs
Cluster("c", ClusterArgs(name="Team_A", region="mars-1", availability_zones=["us-east-1a"],
                         settings={{"admin_role_arns": ["{ADMIN}"], "kubernetes_version": "1.20",
                                   "vpc_cidr": "10.0.0.0/8", "endpoint_public_access": True, "nat_gateways": "double",
                                   "system_node_group": {{"min_size": 3, "desired_size": 2}},
                                   "kubeconfig_role_arn": "arn:aws:iam::111122223333:role/other"}}))
""", ["args.name", "args.region", "args.availability_zones", "args.availability_zones[0]",
      "args.settings.nat_gateways"]),
    "GpuCapacity": ("""
import pulumi
from llm_tiers import GpuCapacity, GpuCapacityArgs
GpuCapacity("gpu", GpuCapacityArgs(
    cluster_name=pulumi.Output.from_input("team-a"), region="us-east-1", weight_sync_jobs=2,
    gpu_classes={"l4": {"instance_types": ["g6.xlarge", "x9.huge", "g6.xlarge"], "max_gpus": 4},
                 "mixed": {"instance_types": ["g6.xlarge", "p5.48xlarge"], "max_gpus": 8},
                 "Bad_Name": {"instance_types": ["g6.xlarge"], "max_gpus": 1},
                 "weight-sync": {"instance_types": ["g6.xlarge"], "max_gpus": 1},
                 "h100": {"instance_types": ["p5.48xlarge"], "max_gpus": 0}}))
""", ["args.gpu_classes.l4.instance_types", "args.gpu_classes.l4.instance_types[1]",
      "args.gpu_classes.mixed.instance_types", "args.gpu_classes.Bad_Name", "args.gpu_classes.weight-sync",
      "args.gpu_classes.h100.max_gpus", "args.name_prefix"]),
    "Namespaces": ("""
from llm_tiers import Namespaces, NamespacesArgs
Namespaces("ns", NamespacesArgs(namespaces={"llm-tiers": "baseline", "Bad": "restricted", "x": "strict"},
                                extra_labels={"missing": {"a": "b"},
                                              "llm-tiers": {"pod-security.kubernetes.io/enforce": "privileged"}},
                                node_cidrs=["10.0.0.0/33"]))
""", ["args.namespaces.Bad", "args.namespaces.x", "args.extra_labels.missing",
      "args.extra_labels.llm-tiers.pod-security.kubernetes.io/enforce", "args.node_cidrs[0]"]),
    "WarmCapacity": ("""
from llm_tiers import WarmCapacity, WarmCapacityArgs
WarmCapacity("warm", WarmCapacityArgs(
    gpu_classes={"l4": {"instance_types": ["g6.12xlarge"], "max_gpus": 4, "warm_nodes": 2},
                 "l40s": {"instance_types": ["g6e.xlarge"], "max_gpus": 2, "warm_nodes": 1}},
    images={"l4": ["ghcr.io/x/tgi:latest", "ghcr.io/x/tgi"], "h100": ["ghcr.io/x/tgi:1"]}, namespace="Tiers"))
""", ["args.gpu_classes.l4.warm_nodes", "args.images.l4[0]", "args.images.l4[1]", "args.images.h100",
      "args.images.l40s", "args.namespace"]),
}


@pytest.mark.parametrize("component", sorted(BAD))
def test_bad_args_are_refused_at_their_paths_before_anything_is_registered(tmp_path, component):
    body, paths = BAD[component]
    refused(tmp_path, body, component, paths)


def test_the_cluster_section_is_checked_as_the_stack_loader_checks_it(tmp_path):
    """Each of the loader's cluster rules (config/schema.py _check_cluster), at the args path of its key."""
    body = f"""
from llm_tiers import Cluster, ClusterArgs
Cluster("c", ClusterArgs(name="team-a", region="us-east-1",
                         settings={{"admin_role_arns": ["{ADMIN}", "{ADMIN}"], "kubernetes_version": "1.20",
                                   "vpc_cidr": "10.0.0.0/8", "endpoint_public_access": True,
                                   "availability_zones": ["eu-west-1a", "eu-west-1b"], "log_retention_days": 2,
                                   "system_node_group": {{"min_size": 3, "desired_size": 2}},
                                   "kubeconfig_role_arn": "arn:aws:iam::111122223333:role/other"}}))
"""
    with pytest.raises(render_tool.RenderError) as exc:
        run(tmp_path, body)
    message = str(exc.value)
    for path, words in [("args.settings.kubernetes_version", "is not supported"),
                        ("args.settings.vpc_cidr", "/16 to /20"),
                        ("args.settings.public_access_cidrs", "required when endpointPublicAccess"),
                        ("args.settings.system_node_group.desired_size", "between minSize"),
                        ("args.settings.kubeconfig_role_arn", "one of adminRoleArns"),
                        ("args.settings.admin_role_arns", "twice"),
                        ("args.settings.log_retention_days", "retention"),
                        ("args.settings.availability_zones[0]", "not a zone of args.region us-east-1")]:
        assert f"  - {path}: " in message and words in message.split(f"  - {path}: ", 1)[1].split("\n")[0], \
            (path, message)
    assert not exc.value.recording.resources


CONSTRUCT_INPUTS: dict[str, dict] = {
    "Cluster": {"name": "team-a", "region": "us-east-1",
                "settings": {"adminRoleArns": [ADMIN], "natGateways": "single",
                             "systemNodeGroup": {"desiredSize": 2}}},
    "GpuCapacity": {"clusterName": "team-a", "namePrefix": "team-a", "region": "us-east-1",
                    "gpuClasses": {"l4": {"instanceTypes": ["g6.xlarge", "g6.2xlarge"], "maxGpus": 4}},
                    "systemNodeSelector": {"llm-tiers.io/node-role": "system"}, "weightSyncJobs": 1},
    "Namespaces": {"nodeCidrs": ["10.0.0.0/16"]},
    "WarmCapacity": {"gpuClasses": {"l4": {"instanceTypes": ["g6.xlarge"], "maxGpus": 4, "warmNodes": 1}},
                     "images": {"l4": [TGI]}},
}


@pytest.mark.parametrize("component", sorted(CONSTRUCT_INPUTS))
def test_constructs_through_the_provider_from_plain_inputs(tmp_path, component):
    result = constructed(tmp_path, component, CONSTRUCT_INPUTS[component])
    objects = {(o["kind"], o["metadata"]["name"]): o for o in result.kubernetes_objects()}
    if component == "Cluster":
        eks = result.of_type("aws:eks/cluster:Cluster")[0].inputs
        assert eks["name"] == "team-a" and len(result.of_type("aws:ec2/natGateway:NatGateway")) == 1
        assert result.of_type("aws:eks/nodeGroup:NodeGroup")[0].inputs["scalingConfig"]["desiredSize"] == 2
    if component == "GpuCapacity":
        pool = objects[("NodePool", "l4")]
        reqs = {r["key"]: r["values"] for r in pool["spec"]["template"]["spec"]["requirements"]}
        assert reqs["node.kubernetes.io/instance-type"] == ["g6.xlarge", "g6.2xlarge"]
        assert pool["spec"]["limits"]["nvidia.com/gpu"] in (4, "4")
        assert ("NodePool", "weight-sync") in objects
        # The node selector arrived as an Output (a non-plain input): the controller still lands on system nodes.
        release = next(r for r in result.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "karpenter")
        assert release.inputs["values"]["nodeSelector"] == {"kubernetes.io/os": "linux",
                                                            "llm-tiers.io/node-role": "system"}
    if component == "Namespaces":
        assert ("Namespace", "llm-tiers") in objects and ("NetworkPolicy", "default-deny") in {
            (k, n) for k, n in objects}
    if component == "WarmCapacity":
        d = objects[("Deployment", "warm-l4")]
        assert d["spec"]["replicas"] == 1
        assert [c["image"] for c in d["spec"]["template"]["spec"]["containers"]] == [TGI]


def test_gpu_capacity_waits_for_what_another_language_passes_in_depends_on(tmp_path):
    """``opts.depends_on`` (a non-Python program's dependsOn) orders the charts as the Python keyword args do."""
    result = run(tmp_path, """
from llm_tiers import GpuCapacity, GpuCapacityArgs
import pulumi_kubernetes as k8s
ns = k8s.core.v1.Namespace("first", metadata={"name": "first"})
GpuCapacity("gpu", GpuCapacityArgs(cluster_name="team-a", region="us-east-1",
                                   gpu_classes={"l4": {"instance_types": ["g6.xlarge"], "max_gpus": 4}}),
            opts=pulumi.ResourceOptions(depends_on=[ns]))
""")
    ns_urn = result.of_type("kubernetes:core/v1:Namespace")[0].urn
    releases = result.of_type("kubernetes:helm.sh/v3:Release")
    assert releases and all(ns_urn in r.dependencies for r in releases), [r.dependencies for r in releases]


def test_python_only_wiring_stays_out_of_the_schema():
    schema = provider.schema()["resources"]
    cluster = schema["llmtiers:index:Cluster"]["properties"]
    assert {"clusterName", "endpoint", "kubeconfig", "vpcId", "privateSubnetIds", "operatorAccess"} <= set(cluster)
    assert not {"provider", "nodesReady", "egress", "storageReady", "weightsStorageReady"} & set(cluster)
    gpu = schema["llmtiers:index:GpuCapacity"]
    assert "syncScheduling" in gpu["properties"] and "nodeRoleArn" in gpu["properties"]
    assert not {"ready", "nodePools"} & set(gpu["properties"])
    assert not {"dependsOn", "egress"} & set(gpu["inputProperties"])
    assert "resources" not in schema["llmtiers:index:Namespaces"]["properties"]
    assert "deployments" not in schema["llmtiers:index:WarmCapacity"]["properties"]
    # Values from other resources are Inputs: not plain in the schema, so another language may pass an Output.
    assert not gpu["inputProperties"]["clusterName"].get("plain")
    assert not gpu["inputProperties"]["systemNodeSelector"].get("plain")


def test_warm_capacity_is_exported_documented_and_served():
    import llm_tiers
    from llm_tiers.cli import component_docs

    assert {"WarmCapacity", "WarmCapacityArgs"} <= set(llm_tiers.__all__)
    assert component_docs.PAGES["WarmCapacityArgs"] == "warm-capacity.md"
    page = (ROOT / "docs" / "components" / "warm-capacity.md").read_text()
    assert "| `gpu_classes` | dict[str, GpuClassSpec] | **yes** |" in page
    assert "WarmCapacity" in {c.__name__ for c in provider.components()}


def test_platform_namespaces_is_what_for_platform_gave():
    from llm_tiers import naming
    from llm_tiers.namespaces import DEFAULT_NAMESPACES, platform_namespaces

    plain = platform_namespaces()
    assert plain["namespaces"] == DEFAULT_NAMESPACES and plain["node_cidrs"] == []
    both = platform_namespaces(cert_manager=True, external_dns=True, node_cidrs=("10.0.0.0/16",))
    assert both["namespaces"][naming.CERT_MANAGER_NAMESPACE] == "baseline"
    assert both["namespaces"][naming.EXTERNAL_DNS_NAMESPACE] == "restricted"
    assert both["node_cidrs"] == ["10.0.0.0/16"]
    json.dumps(both)  # plain data: what any language passes


def test_no_platform_component_module_is_over_400_lines():
    for rel in ("cluster/component.py", "gpu/component.py", "gpu/warm_component.py", "namespaces.py",
                "cluster/rules.py", "gpu/rules.py", "cluster/layout.py", "cluster/relay.py"):
        lines = (ROOT / "components" / "llm_tiers" / rel).read_text().count("\n")
        assert lines <= 400, f"{rel}: {lines} lines"
