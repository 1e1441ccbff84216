"""Pure helpers: address planning, policy documents, kubeconfig, naming, versions."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest

from llm_tiers import iam
from llm_tiers import naming
from llm_tiers.cluster import network
from llm_tiers import versions

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("cidr,zones", [("10.0.0.0/16", 3), ("10.30.0.0/16", 2), ("172.16.0.0/18", 4),
                                        ("192.168.0.0/20", 3)])
def test_subnets_fit_the_vpc_and_never_overlap(cidr, zones):
    plan = network.plan_subnets(cidr, zones)
    vpc = ipaddress.IPv4Network(cidr)
    nets = [ipaddress.IPv4Network(c) for p in plan for c in (p.private_cidr, p.public_cidr)]
    assert len(plan) == zones
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    for p in plan:
        private, public = ipaddress.IPv4Network(p.private_cidr), ipaddress.IPv4Network(p.public_cidr)
        assert private.num_addresses >= 8 * public.num_addresses  # pods need addresses, load balancers few
        assert public.prefixlen <= 27  # an NLB needs a /27 or larger


def test_subnet_plan_for_a_16():
    plan = network.plan_subnets("10.0.0.0/16", 3)
    assert [p.private_cidr for p in plan] == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    assert [p.public_cidr for p in plan] == ["10.0.128.0/24", "10.0.129.0/24", "10.0.130.0/24"]


def test_subnet_plan_rejects_bad_zone_counts():
    with pytest.raises(ValueError):
        network.plan_subnets("10.0.0.0/16", 5)


@pytest.mark.parametrize("mode,expected", [("perAz", [0, 1, 2]), ("single", [0, 0, 0])])
def test_nat_gateway_zone(mode, expected):
    assert [network.nat_gateway_zone(i, mode) for i in range(3)] == expected


def test_trust_policies():
    eks = json.loads(iam.eks_cluster_trust_policy())["Statement"][0]
    assert eks["Principal"] == {"Service": "eks.amazonaws.com"}
    assert set(eks["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
    pods = json.loads(iam.pod_identity_trust_policy())["Statement"][0]
    assert pods["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert json.loads(iam.ec2_node_trust_policy())["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_cluster_kms_policy_is_scoped_to_the_key():
    arn = "arn:aws:kms:us-east-1:111122223333:key/abc"
    (stmt,) = json.loads(iam.cluster_kms_policy(arn))["Statement"]
    assert stmt["Resource"] == arn and "*" not in json.dumps(stmt["Action"])


def test_efs_policy_denies_plaintext_and_requires_mount_targets():
    arn = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-1"
    allow, deny = json.loads(iam.efs_file_system_policy(arn))["Statement"]
    assert allow["Condition"] == {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert allow["Resource"] == deny["Resource"] == arn


@pytest.mark.parametrize("role", [None, "arn:aws:iam::111122223333:role/deployer"])
def test_kubeconfig_uses_exec_and_holds_no_credential(role):
    kc = json.loads(iam.kubeconfig("c1", "https://x.eks.amazonaws.com", "Q0E=", "eu-west-1", role))
    user = kc["users"][0]["user"]
    assert set(user) == {"exec"}
    args = user["exec"]["args"]
    assert args[:4] == ["eks", "get-token", "--cluster-name", "c1"] and "eu-west-1" in args
    assert ("--role-arn" in args) == (role is not None)
    assert kc["clusters"][0]["cluster"]["server"] == "https://x.eks.amazonaws.com"


def test_naming():
    assert naming.type_token("Cluster") == "llmtiers:index:Cluster"
    tags = naming.aws_tags("prod", "llm-prod", {"team": "ml"}, Name="x")
    assert tags["llm-tiers.io/environment"] == "prod" and tags["team"] == "ml" and tags["Name"] == "x"
    assert naming.k8s_labels("tgi", "chat")["app.kubernetes.io/part-of"] == "llm-tiers"


# ------------------------------------------------------------------------------------------ versions


@pytest.mark.parametrize("k8s", versions.SUPPORTED_KUBERNETES_VERSIONS)
def test_every_supported_kubernetes_version_pins_every_addon(k8s):
    pins = versions.eks_addon_versions(k8s)
    assert set(pins) == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver",
                         "aws-efs-csi-driver"}
    assert all(re.fullmatch(r"v\d+\.\d+\.\d+-eksbuild\.\d+", v) for v in pins.values()), pins
    assert pins["kube-proxy"].startswith(f"v{k8s}.")


def test_unknown_kubernetes_version_names_the_supported_ones():
    with pytest.raises(KeyError, match="supported: 1.33"):
        versions.eks_addon_versions("1.20")


def test_no_pin_is_latest_or_floating():
    for name, image in versions.IMAGES.items():
        repo, _, tag = image.rpartition(":")
        assert repo and "/" not in tag and tag and tag != "latest", f"image {name}: {image}"
    for name, chart in versions.CHARTS.items():
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", chart.version), f"chart {name}: {chart.version}"
    assert "@latest" not in versions.AL2023_AMI_ALIAS and re.fullmatch(r"al2023@v\d{8}", versions.AL2023_AMI_ALIAS)


def test_versions_are_pinned_only_in_the_versions_module():
    pattern = re.compile(r"eksbuild|ghcr\.io|docker\.io|public\.ecr\.aws|nvcr\.io|:latest\b|@v\d{8}")
    offenders = []
    for path in list((ROOT / "components").rglob("*.py")) + [ROOT / "__main__.py"]:
        if path.name == "versions.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and "noqa: pin" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offenders, "pins outside components/llm_tiers/versions.py:\n" + "\n".join(offenders)
