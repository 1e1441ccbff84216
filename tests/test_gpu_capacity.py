"""GPU capacity: the catalog (pure), the Karpenter manifests and IAM as rendered, scheduling of tiers."""

from __future__ import annotations

import json

import pytest

from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.gpu import karpenter
from llm_tiers import versions
from llm_tiers.config.schema import GpuClassConfig
from llm_tiers.stack.parse import parse
from conftest import STACKS, overrides, stack_values
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import documents
from llm_tiers.preview import validate


# ------------------------------------------------------------------------------------------ catalog


def test_catalog_lookups():
    p5 = gpu_catalog.lookup("p5.48xlarge")
    assert (p5.gpu.name, p5.gpu_count, p5.gpu.memory_gib, p5.total_gpu_memory_gib) == ("H100", 8, 80, 640)
    assert p5.hourly_usd_per_gpu == pytest.approx(6.88)
    g6 = gpu_catalog.lookup("g6.xlarge")
    assert (g6.gpu.name, g6.gpu.memory_gib, g6.gpu.bandwidth_gbps) == ("L4", 24, 300)
    assert gpu_catalog.lookup("g6e.xlarge").gpu.memory_gib == 48
    assert "us-east-1" in gpu_catalog.PRICE_SOURCE


def test_catalog_is_consistent():
    for name, it in gpu_catalog.CATALOG.items():
        assert it.name == name and it.hourly_usd > 0 and it.gpu_count in (1, 4, 8) and it.vcpus >= 4
    # Within a family, more GPUs never cost less.
    for family in {n.split(".")[0] for n in gpu_catalog.CATALOG}:
        sizes = sorted((it.gpu_count, it.hourly_usd) for n, it in gpu_catalog.CATALOG.items()
                       if n.startswith(family + "."))
        by_count: dict[int, float] = {}
        for count, price in sizes:
            by_count[count] = min(price, by_count.get(count, price))
        counts = sorted(by_count)
        assert all(by_count[a] < by_count[b] for a, b in zip(counts, counts[1:])), family


def test_unknown_instance_type_names_the_family_sizes():
    with pytest.raises(gpu_catalog.UnknownInstanceType, match=r"known g6 sizes: g6\.12xlarge"):
        gpu_catalog.lookup("g6.3xlarge")
    with pytest.raises(gpu_catalog.UnknownInstanceType, match="known families"):
        gpu_catalog.lookup("m7i.large")


def test_a_class_has_one_gpu_model():
    assert gpu_catalog.class_gpu(["g6.xlarge", "g6.12xlarge"]).name == "L4"
    with pytest.raises(ValueError, match="g6.xlarge: L4, g6e.xlarge: L40S"):
        gpu_catalog.class_gpu(["g6.xlarge", "g6e.xlarge"])
    assert gpu_catalog.max_gpus_per_node(["g6.xlarge", "g6.12xlarge"]) == 4


@pytest.mark.parametrize("mutate,path,words", [
    (lambda v: v["gpuClasses"]["l4"].update(instanceTypes=["g6.2xlarge", "g6.3xlarge"]),
     "gpuClasses.l4.instanceTypes[1]", "not in the GPU catalog"),
    (lambda v: v["gpuClasses"]["l4"].update(instanceTypes=["g6.2xlarge", "g6e.xlarge"]),
     "gpuClasses.l4.instanceTypes", "mixes GPU models (g6.2xlarge: L4, g6e.xlarge: L40S)"),
    (lambda v: v["tiers"][0].update(gpusPerReplica=4), "tiers[0].gpusPerReplica",
     "largest instance type of gpuClasses.l4 has 1"),
])
def test_gpu_class_config_is_checked_against_the_catalog(mutate, path, words):
    from llm_tiers.config.schema import ConfigError
    values = stack_values("prod")
    mutate(values)
    with pytest.raises(ConfigError) as info:
        parse(values)
    issues = {i.path: i.message for i in info.value.issues}
    assert path in issues and words in issues[path], info.value


# ------------------------------------------------------------------------------------------ pure manifests


def test_tier_scheduling_matches_the_pool_it_targets():
    cls = GpuClassConfig(instance_types=["g6.xlarge"], max_gpus=4)
    pool = karpenter.node_pool("l4", cls)
    sched = karpenter.tier_scheduling("l4")
    labels = pool["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in sched["nodeSelector"].items())
    (taint,) = pool["spec"]["template"]["spec"]["taints"]
    assert any(t["key"] == taint["key"] and t["effect"] == taint["effect"]
               and (t["operator"] == "Exists" or t.get("value") == taint["value"]) for t in sched["tolerations"])
    assert karpenter.tier_scheduling("h100")["nodeSelector"] != sched["nodeSelector"]


# ------------------------------------------------------------------------------------------ rendered


def _objects(result, kind):
    return result.objects_named(kind)


@pytest.mark.parametrize("stack", STACKS)
def test_one_nodepool_and_nodeclass_per_gpu_class(rendered, stack):
    r = rendered(stack)
    cfg = parse(stack_values(stack))
    pools, classes = _objects(r, "NodePool"), _objects(r, "EC2NodeClass")
    # One per GPU class, and the weight-sync Jobs' CPU pool (gpu/karpenter.py sync_node_pool).
    assert set(pools) == set(classes) == set(cfg.gpu_classes) | {"weight-sync"}
    for name, cls in cfg.gpu_classes.items():
        spec = pools[name]["spec"]
        template = spec["template"]
        assert pools[name]["apiVersion"] == "karpenter.sh/v1"
        assert template["metadata"]["labels"] == {"llm-tiers.io/gpu-class": name}
        assert template["spec"]["taints"] == [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "value": "true"}]
        reqs = {q["key"]: q for q in template["spec"]["requirements"]}
        assert reqs["node.kubernetes.io/instance-type"]["values"] == cls.instance_types
        assert reqs["karpenter.sh/capacity-type"]["values"] == cls.capacity_types
        assert spec["limits"] == {"nvidia.com/gpu": str(cls.max_gpus)}
        assert template["spec"]["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": name}
        # Never consolidate a node that still runs a serving pod; one node at a time.
        assert spec["disruption"]["consolidationPolicy"] == "WhenEmpty"
        assert spec["disruption"]["consolidateAfter"] == cls.consolidate_after
        assert spec["disruption"]["budgets"] == [{"nodes": "1"}]
        assert template["spec"]["terminationGracePeriod"]

        nc = classes[name]["spec"]
        assert nc["amiSelectorTerms"] == [{"alias": versions.AL2023_AMI_ALIAS}]
        assert nc["metadataOptions"]["httpTokens"] == "required"
        assert nc["metadataOptions"]["httpPutResponseHopLimit"] == 1
        (disk,) = nc["blockDeviceMappings"]
        assert disk["ebs"]["volumeSize"] == f"{cls.root_volume_gib}Gi" and disk["ebs"]["encrypted"] is True
        discovery = [{"tags": {"karpenter.sh/discovery": cfg.cluster_name}}]
        assert nc["subnetSelectorTerms"] == discovery and nc["securityGroupSelectorTerms"] == discovery
        assert ("role" in nc) != ("instanceProfile" in nc)  # the CRD's CEL rule: exactly one
        assert nc["role"] == f"{cfg.cluster_name}-karpenter-node"


def test_spot_is_used_only_where_config_allows(rendered):
    dev = _objects(rendered("dev"), "NodePool")["l4"]["spec"]["template"]["spec"]["requirements"]
    prod = _objects(rendered("prod"), "NodePool")["l4"]["spec"]["template"]["spec"]["requirements"]
    capacity = lambda reqs: next(q["values"] for q in reqs if q["key"] == "karpenter.sh/capacity-type")  # noqa: E731
    assert capacity(dev) == ["spot", "on-demand"] and capacity(prod) == ["on-demand"]


def test_adding_a_class_adds_exactly_one_pool_and_one_node_class():
    values = stack_values("dev")
    values["gpuClasses"]["l40s"] = {"instanceTypes": ["g6e.xlarge", "g6e.2xlarge"], "maxGpus": 2}
    result = render_tool.render("dev", overrides=overrides(values))
    assert set(_objects(result, "NodePool")) == {"l4", "l40s", "weight-sync"}
    assert set(_objects(result, "EC2NodeClass")) == {"l4", "l40s", "weight-sync"}
    assert _objects(result, "NodePool")["l40s"]["spec"]["limits"] == {"nvidia.com/gpu": "2"}


@pytest.mark.parametrize("stack", STACKS)
def test_nodepools_and_nodeclasses_validate_against_the_crds(rendered, stack, crd_schemas):
    objects = [o for o in rendered(stack).kubernetes_objects() if o["kind"] in ("NodePool", "EC2NodeClass")]
    assert objects
    problems, skipped = validate.validate_objects(objects, "1.34", crd_schemas)
    assert not problems and not skipped, problems


def test_karpenter_iam_is_scoped(rendered):
    r = rendered("prod")
    roles = {x.inputs["name"]: x for x in r.of_type("aws:iam/role:Role")}
    controller = roles["llm-prod-karpenter"]
    assert json.loads(controller.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "pods.eks.amazonaws.com"}
    (policy,) = [p for p in r.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == controller.id]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        assert "*" not in actions and not any(a.endswith(":*") for a in actions), s
        if s["Resource"] == "*":
            assert all(a.split(":")[1].startswith(("Describe", "Get", "List")) for a in actions), s
    by_sid = {s["Sid"]: s for s in statements}
    node_role = roles["llm-prod-karpenter-node"]
    assert by_sid["AllowPassingInstanceRole"]["Resource"] == f"arn:aws:iam::111122223333:role/{node_role.id}"
    assert by_sid["AllowInterruptionQueueActions"]["Resource"] == "arn:aws:sqs:us-east-1:111122223333:llm-prod"
    assert by_sid["AllowScopedDeletion"]["Condition"]["StringEquals"] == {
        "aws:ResourceTag/kubernetes.io/cluster/llm-prod": "owned"}
    assert by_sid["AllowAPIServerEndpointDiscovery"]["Resource"].endswith(":cluster/llm-prod")
    (assoc,) = [a.inputs for a in r.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                if a.inputs["serviceAccount"] == "karpenter"]
    assert (assoc["namespace"], assoc["serviceAccount"]) == ("kube-system", "karpenter")
    assert assoc["roleArn"].endswith("/llm-prod-karpenter")
    entries = {e.inputs["principalArn"]: e.inputs for e in r.of_type("aws:eks/accessEntry:AccessEntry")}
    assert entries[f"arn:aws:iam::111122223333:role/{node_role.id}"]["type"] == "EC2_LINUX"
    attached = {a.inputs["policyArn"].rsplit("/", 1)[-1] for a in r.of_type(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.inputs["role"] == node_role.id}
    assert attached == {"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"}


def test_interruption_queue_and_rules(rendered):
    r = rendered("prod")
    (queue,) = r.of_type("aws:sqs/queue:Queue")
    assert queue.inputs["name"] == "llm-prod" and queue.inputs["sqsManagedSseEnabled"] is True
    assert queue.inputs["messageRetentionSeconds"] == 300
    rules = {x.name: json.loads(x.inputs["eventPattern"]) for x in r.of_type("aws:cloudwatch/eventRule:EventRule")}
    detail_types = {p["detail-type"][0] for p in rules.values()}
    assert {"EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation",
            "AWS Health Event", "EC2 Instance State-change Notification"} <= detail_types
    targets = [t.inputs for t in r.of_type("aws:cloudwatch/eventTarget:EventTarget")]
    assert len(targets) == len(rules) and all(t["arn"].endswith(":llm-prod") for t in targets)
    policy = json.loads(r.of_type("aws:sqs/queuePolicy:QueuePolicy")[0].inputs["policy"])
    allow, deny = policy["Statement"]
    assert allow["Principal"] == {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]}
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("stack", STACKS)
def test_charts_are_pinned_and_placed(rendered, stack):
    r = rendered(stack)
    releases = {rel["name"]: rel for rel in r.helm_releases()}
    for name, key in (("karpenter", "karpenter"), ("karpenter-crd", "karpenter-crd"),
                      ("nvidia-device-plugin", "nvidia-device-plugin")):
        chart = versions.CHARTS[key]
        assert (releases[name]["chart"], releases[name]["repository"], releases[name]["version"]) == (
            chart.chart, chart.repository, chart.version)
    kv = releases["karpenter"]["values"]
    assert kv["nodeSelector"]["llm-tiers.io/node-role"] == "system", "the controller must not run on nodes it manages"
    cluster_name = parse(stack_values(stack)).cluster_name
    assert kv["settings"]["interruptionQueue"] == kv["settings"]["clusterName"] == cluster_name
    dp = releases["nvidia-device-plugin"]["values"]
    (term,) = dp["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [{"key": "llm-tiers.io/gpu-class", "operator": "Exists"}]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in dp["tolerations"]
    karpenter_release = next(x for x in r.custom_resources if x.type == documents.HELM_RELEASE
                             and x.inputs["name"] == "karpenter")
    assert karpenter_release.inputs["skipCrds"] is True, "CRDs come from the karpenter-crd release"
