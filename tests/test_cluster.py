"""The Cluster component under Pulumi mocks: what AWS and Kubernetes would receive, per stack."""

from __future__ import annotations

import json
import textwrap

import pytest

from llm_tiers import versions
from llm_tiers.stack.parse import parse
from conftest import STACKS, overrides, stack_values
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import documents

AWS = "aws:"
COMPONENT = "llmtiers:index:Cluster$"


def of_type(result, type_token):
    """Resources of a type that the Cluster component created (other components create some too)."""
    return [r for r in result.of_type(type_token) if COMPONENT in r.urn]


def inputs(result, type_token):
    return [r.inputs for r in of_type(result, type_token)]


def one(result, type_token):
    (found,) = inputs(result, type_token)
    return found


def by_name(result, type_token):
    return {r.name: r.inputs for r in of_type(result, type_token)}


def ids(result, type_token):
    return {r.id for r in of_type(result, type_token)}


@pytest.mark.parametrize("stack,nat", [("dev", 1), ("staging", 3), ("prod", 3)])
def test_nat_gateways_follow_config(rendered, stack, nat):
    r = rendered(stack)
    nats = of_type(r, "aws:ec2/natGateway:NatGateway")
    assert len(nats) == nat and len(of_type(r, "aws:ec2/eip:Eip")) == nat
    nat_ids = {n.id for n in nats}
    private_routes = [rt for rt in inputs(r, "aws:ec2/routeTable:RouteTable") if "private" in rt["tags"]["Name"]]
    assert len(private_routes) == 3
    used = {rt["routes"][0]["natGatewayId"] for rt in private_routes}
    assert used == nat_ids, "every private subnet routes through a NAT gateway of this stack"
    for rt in private_routes:
        assert rt["routes"][0]["cidrBlock"] == "0.0.0.0/0"


@pytest.mark.parametrize("stack", STACKS)
def test_subnets_span_three_zones_with_the_right_tags(rendered, stack):
    r = rendered(stack)
    cfg = parse(stack_values(stack))
    subnets = inputs(r, "aws:ec2/subnet:Subnet")
    private = [s for s in subnets if "kubernetes.io/role/internal-elb" in s["tags"]]
    public = [s for s in subnets if "kubernetes.io/role/elb" in s["tags"]]
    assert len(private) == len(public) == 3
    assert all(s["tags"]["karpenter.sh/discovery"] == cfg.cluster_name for s in private)
    assert all("karpenter.sh/discovery" not in s["tags"] and s["mapPublicIpOnLaunch"] is False for s in public)
    zones = sorted(s["availabilityZone"] for s in private)
    assert zones == sorted(cfg.cluster.availability_zones or ["us-east-1a", "us-east-1b", "us-east-1c"])


@pytest.mark.parametrize("stack", STACKS)
def test_control_plane(rendered, stack):
    r = rendered(stack)
    c = parse(stack_values(stack)).cluster
    eks = one(r, "aws:eks/cluster:Cluster")
    key = of_type(r, "aws:kms/key:Key")[0]
    assert eks["version"] == c.kubernetes_version
    assert eks["encryptionConfig"] == {"provider": {"keyArn": f"arn:aws:kms:us-east-1:111122223333:key/{key.id}"},
                                       "resources": ["secrets"]}
    assert key.inputs["enableKeyRotation"] is True
    assert eks["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    vpc = eks["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is c.endpoint_public_access
    assert vpc.get("publicAccessCidrs", []) == c.public_access_cidrs
    private_ids = {s.id for s in of_type(r, "aws:ec2/subnet:Subnet") if "internal-elb" in json.dumps(s.inputs["tags"])}
    assert set(vpc["subnetIds"]) == private_ids, "the control plane ENIs live in the private subnets only"
    assert eks["enabledClusterLogTypes"] == c.control_plane_log_types
    log = one(r, "aws:cloudwatch/logGroup:LogGroup")
    assert log["name"] == f"/aws/eks/{eks['name']}/cluster" and log["retentionInDays"] == c.log_retention_days


def test_dev_exposes_the_api_only_to_its_cidrs_and_prod_not_at_all(rendered):
    dev = one(rendered("dev"), "aws:eks/cluster:Cluster")["vpcConfig"]
    prod = one(rendered("prod"), "aws:eks/cluster:Cluster")["vpcConfig"]
    assert dev["endpointPublicAccess"] is True and dev["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert prod["endpointPublicAccess"] is False and "publicAccessCidrs" not in prod


@pytest.mark.parametrize("stack", STACKS)
def test_admin_access_entries_not_aws_auth(rendered, stack):
    r = rendered(stack)
    admins = parse(stack_values(stack)).cluster.admin_role_arns
    entries = inputs(r, "aws:eks/accessEntry:AccessEntry")
    assocs = inputs(r, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert sorted(e["principalArn"] for e in entries) == sorted(admins)
    assert all(e["type"] == "STANDARD" for e in entries)
    assert sorted(a["principalArn"] for a in assocs) == sorted(admins)
    for a in assocs:
        assert a["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        assert a["accessScope"] == {"type": "cluster"}
    assert not [o for o in r.kubernetes_objects() if o["metadata"]["name"] == "aws-auth"]


@pytest.mark.parametrize("stack", STACKS)
def test_addons_are_pinned_for_the_cluster_version(rendered, stack):
    r = rendered(stack)
    k8s = parse(stack_values(stack)).cluster.kubernetes_version
    addons = {a["addonName"]: a for a in inputs(r, "aws:eks/addon:Addon")}
    assert {n: a["addonVersion"] for n, a in addons.items()} == versions.eks_addon_versions(k8s)
    roles = by_name(r, "aws:iam/role:Role")
    expected_sa = {"vpc-cni": "aws-node", "aws-ebs-csi-driver": "ebs-csi-controller-sa",
                   "aws-efs-csi-driver": "efs-csi-controller-sa"}
    for name, sa in expected_sa.items():
        (assoc,) = addons[name]["podIdentityAssociations"]
        assert assoc["serviceAccount"] == sa
        role = next(v for v in roles.values() if assoc["roleArn"].endswith("/" + v["name"]))
        trust = json.loads(role["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    for name in ("coredns", "kube-proxy", "eks-pod-identity-agent"):
        assert "podIdentityAssociations" not in addons[name]


@pytest.mark.parametrize("stack", STACKS)
def test_network_policies_are_enforced(rendered, stack):
    """Without the VPC CNI's network policy agent every NetworkPolicy is accepted and silently ignored."""
    r = rendered(stack)
    addons = {a["addonName"]: a for a in inputs(r, "aws:eks/addon:Addon")}
    assert json.loads(addons["vpc-cni"]["configurationValues"])["enableNetworkPolicy"] == "true"
    assert any(o["kind"] == "NetworkPolicy" for o in r.kubernetes_objects())


@pytest.mark.parametrize("stack", STACKS)
def test_iam_uses_only_the_documented_managed_policies(rendered, stack):
    r = rendered(stack)
    name = parse(stack_values(stack)).cluster_name
    attached: dict[str, set[str]] = {}
    for a in inputs(r, "aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        attached.setdefault(a["role"], set()).add(a["policyArn"].rsplit("/", 1)[-1])
    assert attached == {
        f"{name}-cluster": {"AmazonEKSClusterPolicy"},
        f"{name}-node": {"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"},
        f"{name}-vpc-cni": {"AmazonEKS_CNI_Policy"},
        f"{name}-aws-ebs-csi-driver": {"AmazonEBSCSIDriverPolicy"},
        f"{name}-aws-efs-csi-driver": {"AmazonEFSCSIDriverPolicy"},
        # the Session Manager relay (cluster.operatorAccess.mode: ssm), where a stack has one
        **({f"{name}-operator-access": {"AmazonSSMManagedInstanceCore"}}
           if parse(stack_values(stack)).cluster.operator_access.mode == "ssm" else {}),
    }
    for policy in inputs(r, "aws:iam/rolePolicy:RolePolicy"):
        for stmt in json.loads(policy["policy"])["Statement"]:
            assert stmt["Resource"] != "*" and stmt["Action"] != "*", stmt


@pytest.mark.parametrize("stack", STACKS)
def test_system_node_group(rendered, stack):
    r = rendered(stack)
    ng_cfg = parse(stack_values(stack)).cluster.system_node_group
    ng = one(r, "aws:eks/nodeGroup:NodeGroup")
    lt_resource = of_type(r, "aws:ec2/launchTemplate:LaunchTemplate")[0]
    lt = lt_resource.inputs
    assert ng["capacityType"] == "ON_DEMAND" and ng["amiType"] == "AL2023_x86_64_STANDARD"
    assert ng["instanceTypes"] == ng_cfg.instance_types
    assert ng["scalingConfig"] == {"minSize": ng_cfg.min_size, "desiredSize": ng_cfg.desired_size,
                                   "maxSize": ng_cfg.max_size}
    assert ng["labels"] == {"llm-tiers.io/node-role": "system"}
    assert ng["launchTemplate"]["id"] == lt_resource.id
    assert lt["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    (disk,) = lt["blockDeviceMappings"]
    assert disk["ebs"]["encrypted"] == "true" and disk["ebs"]["volumeSize"] == ng_cfg.disk_size_gib


@pytest.mark.parametrize("stack", STACKS)
def test_efs_weight_store_and_storage_class(rendered, stack):
    r = rendered(stack)
    efs_cfg = parse(stack_values(stack)).cluster.efs
    (fs,) = of_type(r, "aws:efs/fileSystem:FileSystem")
    assert fs.inputs["encrypted"] is True and fs.inputs["throughputMode"] == efs_cfg.throughput_mode
    private_ids = {s.id for s in of_type(r, "aws:ec2/subnet:Subnet") if "internal-elb" in json.dumps(s.inputs["tags"])}
    targets = inputs(r, "aws:efs/mountTarget:MountTarget")
    assert {t["subnetId"] for t in targets} == private_ids and all(t["fileSystemId"] == fs.id for t in targets)
    (sg,) = [e["inputs"] for e in r.aws_resources()
             if e["type"] == "aws:ec2/securityGroup:SecurityGroup" and e["name"] == "cluster-efs"]
    (rule,) = sg["ingress"]
    eks_sg = one(r, "aws:ec2/tag:Tag")["resourceId"]
    assert (rule["fromPort"], rule["toPort"], rule["protocol"]) == (2049, 2049, "tcp")
    assert rule["securityGroups"] == [eks_sg] and "cidrBlocks" not in rule
    (efs_sg,) = [x.id for x in of_type(r, "aws:ec2/securityGroup:SecurityGroup") if x.name == "cluster-efs"]
    assert all(t["securityGroups"] == [efs_sg] for t in targets)
    policy = json.loads(one(r, "aws:efs/fileSystemPolicy:FileSystemPolicy")["policy"])
    assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s) for s in policy["Statement"])

    classes = r.objects_named("StorageClass")
    weights = classes[efs_cfg.storage_class_name]
    assert weights["provisioner"] == "efs.csi.aws.com"
    assert weights["parameters"]["fileSystemId"] == fs.id
    assert weights["parameters"]["provisioningMode"] == "efs-ap"
    assert weights["reclaimPolicy"] == efs_cfg.reclaim_policy
    default = [c for c in classes.values()
               if c["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class") == "true"]
    assert len(default) == 1 and default[0]["parameters"]["encrypted"] == "true"


def test_karpenter_can_discover_the_cluster_security_group(rendered):
    r = rendered("prod")
    tag = one(r, "aws:ec2/tag:Tag")
    eks = one(r, "aws:eks/cluster:Cluster")
    assert tag["key"] == "karpenter.sh/discovery" and tag["value"] == eks["name"]
    assert tag["resourceId"].startswith("sg-")


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_is_a_child_of_a_component(rendered, stack):
    r = rendered(stack)
    components = {x.urn for x in r.recording.resources if not x.custom}
    assert any(x.type == "llmtiers:index:Cluster" for x in r.recording.resources if not x.custom)
    orphans = [x.name for x in r.custom_resources if x.parent not in components]
    assert not orphans, f"resources created outside a component: {orphans}"


@pytest.mark.parametrize("stack", STACKS)
def test_kubernetes_objects_use_the_cluster_provider(rendered, stack):
    r = rendered(stack)
    providers = [x for x in r.custom_resources if x.type == "pulumi:providers:kubernetes"]
    assert len(providers) == 1
    provider_ref = f"{providers[0].urn}::{providers[0].id}"
    k8s = [x for x in r.custom_resources if x.type.startswith("kubernetes:")]
    assert k8s and all(x.provider == provider_ref for x in k8s)


def test_kubeconfig_output_assumes_the_configured_role_and_holds_no_secret(rendered):
    out = rendered("prod").outputs()
    kc = json.loads(out["kubeconfig"])
    args = kc["users"][0]["user"]["exec"]["args"]
    assert args[args.index("--role-arn") + 1] == "arn:aws:iam::111122223333:role/platform-deployer"
    assert "token" not in json.dumps(kc["users"]).lower().replace("get-token", "")
    assert out["clusterEndpoint"].startswith("https://") and out["clusterName"] == "llm-prod"


def test_cluster_composes_in_a_program_of_its_own(tmp_path):
    """A platform team's program that uses only the Cluster component, with the minimal args."""
    (tmp_path / "Pulumi.yaml").write_text("name: byo\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent("""
        import pulumi
        from llm_tiers import Cluster, ClusterArgs
        a = Cluster("a", ClusterArgs(name="team-a", region="eu-west-1",
                                     settings={"admin_role_arns": ["arn:aws:iam::111122223333:role/a"],
                                               "nat_gateways": "single"}))
        pulumi.export("name", a.cluster_name)
    """))
    result = render_tool.run_program("test", {"aws:region": "eu-west-1"}, [], project_dir=tmp_path)
    assert result.outputs()["name"] == "team-a"
    assert len(of_type(result, "aws:ec2/natGateway:NatGateway")) == 1
    subnets = inputs(result, "aws:ec2/subnet:Subnet")
    assert {s["availabilityZone"] for s in subnets} == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}
    assert all(s["cidrBlock"].startswith("10.0.") for s in subnets)
    assert all("llm-tiers.io/environment" not in s["tags"] and s["tags"]["llm-tiers.io/cluster"] == "team-a"
               for s in subnets)


# ---------------------------------------------------------------------------------------------- operator access


def _aws(result, type_token):
    return [e for e in result.aws_resources() if e["type"] == type_token]


def test_the_ssm_relay_is_least_privilege(rendered, tmp_path):
    """prod (private endpoint, operatorAccess: ssm): one relay instance, no inbound, HTTPS out only, an
    SSM-only role and no EKS access entry; the cluster security group admits HTTPS from the relay alone."""
    r = rendered("prod")
    (instance,) = _aws(r, "aws:ec2/instance:Instance")
    i = instance["inputs"]
    assert i["instanceType"] == "t4g.nano" and i["associatePublicIpAddress"] is False and "keyName" not in i
    assert i["metadataOptions"]["httpTokens"] == "required" and i["rootBlockDevice"]["encrypted"] is True
    private = {e["id"] for e in documents.state(r.recording)
               if e["type"] == "aws:ec2/subnet:Subnet" and e["name"].startswith("cluster-private-")}
    assert i["subnetId"] in private
    role_name = i["iamInstanceProfile"]
    attached = [e["inputs"]["policyArn"] for e in _aws(r, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if e["inputs"]["role"] == role_name]
    assert attached == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    assert not [e for e in _aws(r, "aws:iam/rolePolicy:RolePolicy") if e["inputs"]["role"] == role_name]
    assert not [e for e in _aws(r, "aws:eks/accessEntry:AccessEntry") if role_name in e["inputs"]["principalArn"]]
    (sg,) = [e for e in _aws(r, "aws:ec2/securityGroup:SecurityGroup") if e["name"] == "cluster-operator-access"]
    assert not sg["inputs"].get("ingress")
    assert [(x["protocol"], x["fromPort"], x["toPort"]) for x in sg["inputs"]["egress"]] == [("tcp", 443, 443)]
    (rule,) = [e for e in _aws(r, "aws:ec2/securityGroupRule:SecurityGroupRule")
               if e["name"].endswith("from-operator-access")]
    assert (rule["inputs"]["type"], rule["inputs"]["fromPort"], rule["inputs"]["toPort"]) == ("ingress", 443, 443)
    assert "cidrBlocks" not in rule["inputs"]
    access = r.outputs()["operatorAccess"]
    assert access["mode"] == "ssm" and "AWS-StartPortForwardingSessionToRemoteHost" in access["portForward"]
    assert f"--target {access['instanceId']}" in access["portForward"]
    policy = json.loads(access["operatorPolicy"])
    start = next(s for s in policy["Statement"] if s["Sid"] == "StartPortForwardOnTheRelay")
    assert start["Action"] == ["ssm:StartSession"] and len(start["Resource"]) == 2 and "*" not in start["Resource"][0]
    plan = (render_tool.write_build(r, tmp_path) / "plan.md").read_text()
    assert "**SSM relay** (`cluster.operatorAccess.mode: ssm`): one t4g.nano" in plan


def test_plan_says_which_access_path_applies(tmp_path):
    dev = render_tool.render("dev")
    plan = (render_tool.write_build(dev, tmp_path) / "plan.md").read_text()
    assert "**Public API endpoint, allow-listed**" in plan and not _aws(dev, "aws:ec2/instance:Instance")
    values = stack_values("staging")
    values["cluster"].pop("operatorAccess")
    staging = render_tool.render("staging", overrides=overrides(values))
    plan = (render_tool.write_build(staging, tmp_path) / "plan.md").read_text()
    assert "**No operator path**: set `cluster.operatorAccess.mode: ssm`" in plan
    assert not _aws(staging, "aws:ec2/instance:Instance")


def test_an_unpriced_relay_type_is_refused_with_its_key_path():
    values = stack_values("prod")
    values["cluster"]["operatorAccess"] = {"mode": "ssm", "instanceType": "p5.48xlarge"}
    with pytest.raises(render_tool.RenderError, match=r"cluster\.operatorAccess\.instanceType"):
        render_tool.render("prod", overrides=overrides(values))
