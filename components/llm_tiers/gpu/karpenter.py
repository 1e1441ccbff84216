"""Karpenter manifests and policies for GPU classes (pure: dicts and JSON, no Pulumi resources).

One NodePool + EC2NodeClass per GPU class. Tiers select a class by the ``llm-tiers.io/gpu-class`` label
and tolerate the ``nvidia.com/gpu`` taint (``tier_scheduling``), so a tier never lands on another class
and nothing else lands on GPU nodes.
"""

from __future__ import annotations

import email
import json
import math
from typing import Any

import yaml

from llm_tiers import naming
from llm_tiers import versions
from llm_tiers.config.schema import GpuClassConfig
from llm_tiers.iam import policy_document as _doc

GPU_CLASS_LABEL = f"{naming.LABEL_DOMAIN}/gpu-class"
# On a class's warm-capacity placeholder Deployment (gpu/warm.py): the class whose nodes it holds.
WARM_CAPACITY_LABEL = f"{naming.LABEL_DOMAIN}/warm-capacity"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
GPU_RESOURCE = "nvidia.com/gpu"
NODEPOOL_API = "karpenter.sh/v1"
NODECLASS_API = "karpenter.k8s.aws/v1"

# Nodes are replaced monthly so AMI and kernel patches land; a node being replaced is drained within
# this budget (PDBs of the tiers are honoured until the grace period ends).
EXPIRE_AFTER = "720h"
# GPU nodes' root volume (gp3): the engine image unpacks here, so it gets more than gp3's baseline IOPS and
# throughput (both billed above the baseline, components/llm_tiers/cost/bill.py).
ROOT_VOLUME_IOPS = 6000
ROOT_VOLUME_MIBPS = 500
TERMINATION_GRACE_PERIOD = "2h"

# ------------------------------------------------------------------------------------ image pull
# ``gpuClasses.<class>.imagePull: soci-parallel``: the class's nodes pull images with the SOCI snapshotter in parallel
# pull/unpack mode. Every AL2023 EKS AMI carries the snapshotter (awslabs/amazon-eks-ami v20260724
# templates/al2023/provisioners/install-worker.sh: ``dnf install -y soci-snapshotter``, its socket enabled) and
# nodeadm switches containerd to it when the NodeConfig sets the ``FastImagePull`` feature gate (nodeadm/api/v1alpha1/
# nodeconfig_types.go: ``+kubebuilder:validation:Enum={InstanceIdNodeName,FastImagePull}``; nodeadm/doc/examples.md,
# "Enabling fast image pull (experimental)"; added in v20250813, PR #2352, under this name since v20250821, #2381).
# nodeadm writes the snapshotter's config itself (nodeadm/internal/containerd/snapshotter/soci-snapshotter.config.toml:
# ``[pull_modes.parallel_pull_unpack] enable = true``, 20 concurrent 16 MB range downloads and 12 unpacks per image,
# unpigz) and containerd's ``snapshotter = "soci"`` (config.template.toml), but only on a machine with at least 4 vCPUs
# and 7 GiB of memory (nodeadm/internal/containerd/config.go ``UseSOCISnapshotter``); below that it ignores the gate.
# A registry that does not answer with ``Accept-Ranges: bytes`` gets one request per layer, still in parallel
# (awslabs/soci-snapshotter v0.15.0 fs/parallel_artifact_fetcher.go), and every blob's digest is verified.
NODE_CONFIG_API = "node.eks.aws/v1alpha1"
NODE_CONFIG_CONTENT_TYPE = "application/node.eks.aws"  # nodeadm/internal/configprovider/userdata.go nodeConfigMediaType
FAST_IMAGE_PULL_GATE = "FastImagePull"
# nodeadm's thresholds for the gate (``UseSOCISnapshotter``: online memory >= 7 GiB and >= 4000 millicores).
FAST_IMAGE_PULL_MIN_VCPUS = 4
FAST_IMAGE_PULL_MIN_MEMORY_GIB = 8  # nominal; the kernel shows a little less than the type's memory (7 GiB threshold)
# The root volume of a soci-parallel class: parallel pull writes every layer to disk before unpacking it, so nodeadm
# asks for "at least 600MiB/s throughput ... Higher values up to 1000MiB/s and 16k IOPs may result in better
# performance" (nodeadm/doc/examples.md at v20260724); the measured halving of the pull time
# (timing.SOCI_PARALLEL_PULL_TIME) was on gp3 at 16,000 IOPS and 1,000 MiB/s (aws-samples/karpenter-blueprints
# blueprints/soci-snapshotter/README.md), gp3's maximum (the EC2NodeClass CRD of Karpenter v1.14.1: "3,000-16,000
# IOPS", throughput "Maximum value of 1000").
FAST_PULL_ROOT_VOLUME_IOPS = 16000
FAST_PULL_ROOT_VOLUME_MIBPS = 1000
# Karpenter v1.14.1 merges a custom AL2023 userData's MIME parts before its own NodeConfig
# (pkg/providers/amifamily/bootstrap/nodeadm.go ``Script``; mime/mime.go parses it with Go's net/mail and
# mime/multipart), and nodeadm merges every ``application/node.eks.aws`` part (internal/configprovider/mime.go
# ``ParseMultipart``, internal/api/merge.go), so this part only adds the gate to the cluster settings Karpenter writes.
_MIME_BOUNDARY = "//"


def fast_image_pull_user_data() -> str:
    """The EC2NodeClass ``userData`` of a soci-parallel class: a MIME multi-part document with one NodeConfig that
    sets nodeadm's FastImagePull gate (the layout of nodeadm's docs and of Karpenter's own archive)."""
    return (f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{_MIME_BOUNDARY}"\n\n'
            f"--{_MIME_BOUNDARY}\nContent-Type: {NODE_CONFIG_CONTENT_TYPE}\n\n"
            f"---\napiVersion: {NODE_CONFIG_API}\nkind: NodeConfig\nspec:\n  featureGates:\n"
            f"    {FAST_IMAGE_PULL_GATE}: true\n\n--{_MIME_BOUNDARY}--\n")


def root_volume_performance(image_pull: str = "containerd") -> tuple[int, int]:
    """(IOPS, MiB/s) of a GPU node's gp3 root volume for the class's image-pull mode."""
    if image_pull == "soci-parallel":
        return FAST_PULL_ROOT_VOLUME_IOPS, FAST_PULL_ROOT_VOLUME_MIBPS
    return ROOT_VOLUME_IOPS, ROOT_VOLUME_MIBPS


def image_pull_of(node_class: dict[str, Any]) -> str:
    """The image-pull mode a rendered EC2NodeClass declares (read back by the rollout plan): ``soci-parallel`` when
    its userData carries a NodeConfig that sets the FastImagePull gate, else ``containerd``. A MIME document's
    ``application/node.eks.aws`` parts are read, anything else as one YAML document, as Karpenter v1.14.1 tells them
    apart (pkg/providers/amifamily/bootstrap/nodeadm.go ``parseUserData``)."""
    user_data = ((node_class or {}).get("spec") or {}).get("userData")
    if not user_data:
        return "containerd"
    if user_data.lstrip().startswith(("MIME-Version:", "Content-Type:")):
        parts = [str(p.get_payload()) for p in email.message_from_string(user_data).walk()
                 if p.get_content_type() == NODE_CONFIG_CONTENT_TYPE]
    else:
        parts = [user_data]
    for part in parts:
        for doc in yaml.safe_load_all(part):
            if isinstance(doc, dict) and doc.get("kind") == "NodeConfig":
                gates = (doc.get("spec") or {}).get("featureGates") or {}
                if gates.get(FAST_IMAGE_PULL_GATE) is True:
                    return "soci-parallel"
    return "containerd"


def tier_scheduling(gpu_class: str) -> dict[str, Any]:
    """The nodeSelector and tolerations a tier's pods need to run on (only) its GPU class."""
    return {
        "nodeSelector": {GPU_CLASS_LABEL: gpu_class},
        "tolerations": [{"key": GPU_TAINT["key"], "operator": "Equal", "value": GPU_TAINT["value"],
                         "effect": GPU_TAINT["effect"]}],
    }


def ec2_node_class(class_name: str, cls: GpuClassConfig, cluster_name: str, node_role_name: str,
                   tags: dict[str, str]) -> dict[str, Any]:
    """EC2NodeClass: AL2023 (NVIDIA variant chosen by Karpenter for GPU types) at a pinned release, IMDSv2
    with hop limit 1, an encrypted gp3 root volume, subnets and security groups found by the discovery tag
    the Cluster component sets; with ``imagePull: soci-parallel``, nodeadm's FastImagePull gate in userData and a
    faster root volume (see "image pull" above)."""
    discovery = {"tags": {naming.KARPENTER_DISCOVERY_TAG: cluster_name}}
    iops, mibps = root_volume_performance(cls.image_pull)
    return {
        "apiVersion": NODECLASS_API,
        "kind": "EC2NodeClass",
        "metadata": {"name": class_name, "labels": naming.k8s_labels("gpu-capacity", class_name),
                     "annotations": {naming.WAIT_FOR: "condition=Ready"}},
        "spec": {
            "role": node_role_name,
            "amiSelectorTerms": [{"alias": versions.AL2023_AMI_ALIAS}],
            "subnetSelectorTerms": [discovery],
            "securityGroupSelectorTerms": [discovery],
            "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled",
                                "httpPutResponseHopLimit": 1, "httpTokens": "required"},
            "blockDeviceMappings": [{
                "deviceName": "/dev/xvda",
                "rootVolume": True,
                "ebs": {"volumeSize": f"{cls.root_volume_gib}Gi", "volumeType": "gp3", "encrypted": True,
                        "deleteOnTermination": True, "iops": iops, "throughput": mibps},
            }],
            "tags": {**tags, GPU_CLASS_LABEL: class_name},
            # Only a soci-parallel class carries userData (a change of it, or of the volume, drifts the class's
            # nodes: neither field is hash:"ignore" in Karpenter v1.14.1 pkg/apis/v1/ec2nodeclass.go).
            **({"userData": fast_image_pull_user_data()} if cls.image_pull == "soci-parallel" else {}),
            # instanceStore raid0: every NVMe instance-store disk in one RAID0 array holding /var/lib/kubelet and
            # /var/lib/containerd (and, on AL2023, /var/log/pods and the SOCI snapshotter's store), and the node's
            # ephemeral-storage capacity set to the instance store's size (Karpenter v1.14.1
            # pkg/apis/v1/ec2nodeclass.go InstanceStorePolicyRAID0; pkg/providers/amifamily/bootstrap/nodeadm.go writes
            # localStorage.strategy RAID0 into its NodeConfig, the last part of the userData, so it also holds with
            # the FastImagePull part above; pkg/providers/instancetype/types.go ephemeralStorage()).
            **({"instanceStorePolicy": "RAID0"} if cls.instance_store == "raid0" else {}),
        },
    }


def node_pool(class_name: str, cls: GpuClassConfig) -> dict[str, Any]:
    """NodePool for one GPU class.

    Disruption: only *empty* nodes are consolidated (``WhenEmpty``), so a node serving a stream is never
    taken away for bin-packing; at most one node of the class is disrupted at a time; drift and expiry
    replace nodes gracefully within ``TERMINATION_GRACE_PERIOD``, honouring the tiers' PDBs.
    """
    return {
        "apiVersion": NODEPOOL_API,
        "kind": "NodePool",
        "metadata": {"name": class_name, "labels": naming.k8s_labels("gpu-capacity", class_name),
                     "annotations": {naming.WAIT_FOR: "condition=Ready"}},
        "spec": {
            "template": {
                "metadata": {"labels": {GPU_CLASS_LABEL: class_name}},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": class_name},
                    "requirements": [
                        {"key": "node.kubernetes.io/instance-type", "operator": "In",
                         "values": list(cls.instance_types)},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": list(cls.capacity_types)},
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                    ],
                    "taints": [dict(GPU_TAINT)],
                    "expireAfter": EXPIRE_AFTER,
                    "terminationGracePeriod": TERMINATION_GRACE_PERIOD,
                },
            },
            "limits": {GPU_RESOURCE: str(cls.max_gpus)},
            "disruption": {
                "consolidationPolicy": "WhenEmpty",
                "consolidateAfter": cls.consolidate_after,
                "budgets": [{"nodes": "1"}],
            },
        },
    }


# ------------------------------------------------------------------------------------ weight-sync capacity
# The weight-sync Jobs (one per tier release; the first `pulumi up` starts them all at once) run on CPU nodes
# of their own NodePool, not on the system node group: the system nodes do not grow with the number of
# tiers, and Karpenter launches as many sync nodes as the Jobs need and removes them once empty.
SYNC_POOL = "weight-sync"
SYNC_NODE_LABEL = {naming.NODE_ROLE_LABEL: SYNC_POOL}
SYNC_TAINT = {"key": f"{naming.LABEL_DOMAIN}/weight-sync", "value": "true", "effect": "NoSchedule"}
SYNC_ROOT_VOLUME_GIB = 100  # the engine image (~10 GB unpacked, timing.ENGINE_IMAGE_BYTES) with room to spare
SYNC_CONSOLIDATE_AFTER = "5m"


def sync_scheduling() -> dict[str, Any]:
    """The nodeSelector and tolerations of a weight-sync Job's pod (only the weight-sync NodePool's nodes)."""
    return {"nodeSelector": dict(SYNC_NODE_LABEL),
            "tolerations": [{"key": SYNC_TAINT["key"], "operator": "Equal", "value": SYNC_TAINT["value"],
                             "effect": SYNC_TAINT["effect"]}]}


def sync_cpu_limit(jobs: int, cpu_m_per_job: int) -> int:
    """vCPUs the weight-sync NodePool may launch: every sync Job at once (its CPU request), plus one vCPU per
    Job for the DaemonSets and kube-reserved on the nodes that hold them, at least 8 (one xlarge-2xlarge node)."""
    return max(8, math.ceil(jobs * (cpu_m_per_job + 1000) / 1000))


def sync_node_class(cluster_name: str, node_role_name: str, tags: dict[str, str]) -> dict[str, Any]:
    """The weight-sync nodes' EC2NodeClass: as the GPU classes' (AL2023, IMDSv2 hop limit 1, encrypted gp3,
    discovery-tag subnets and security groups; Karpenter picks the standard AMI variant for CPU types)."""
    # RAID0: a type with an instance store (c6id, m6id, ...) downloads onto its NVMe, and Karpenter counts that as the
    # node's ephemeral storage, so a mirrored 70B revision (its sync pod requests the disk) gets a node that holds it;
    # a type without one keeps the root volume (nodeadm finds no disk and changes nothing).
    spec = ec2_node_class(SYNC_POOL, GpuClassConfig.model_validate({"instanceTypes": ["m7i.xlarge"], "maxGpus": 1,
                                                                    "rootVolumeGiB": SYNC_ROOT_VOLUME_GIB,
                                                                    "instanceStore": "raid0"}),
                          cluster_name, node_role_name, tags)
    spec["metadata"]["labels"] = naming.k8s_labels("weight-sync-capacity", SYNC_POOL)
    spec["spec"]["tags"] = {**tags, naming.NODE_ROLE_LABEL: SYNC_POOL}
    return spec


def sync_node_pool(cpu_limit: int) -> dict[str, Any]:
    """NodePool of the weight-sync Jobs: on-demand c/m instances of generation 6 or later with 4-16 vCPUs,
    tainted so nothing else lands there, consolidated once empty (a sync Job runs minutes to an hour, then
    the node goes)."""
    return {
        "apiVersion": NODEPOOL_API,
        "kind": "NodePool",
        "metadata": {"name": SYNC_POOL, "labels": naming.k8s_labels("weight-sync-capacity", SYNC_POOL),
                     "annotations": {naming.WAIT_FOR: "condition=Ready"}},
        "spec": {
            "template": {
                "metadata": {"labels": dict(SYNC_NODE_LABEL)},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": SYNC_POOL},
                    "requirements": [
                        {"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": ["c", "m"]},
                        {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["5"]},
                        {"key": "karpenter.k8s.aws/instance-cpu", "operator": "In", "values": ["4", "8", "16"]},
                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                    ],
                    "taints": [dict(SYNC_TAINT)],
                    "expireAfter": EXPIRE_AFTER,
                    "terminationGracePeriod": TERMINATION_GRACE_PERIOD,
                },
            },
            "limits": {"cpu": str(cpu_limit)},
            "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": SYNC_CONSOLIDATE_AFTER},
        },
    }


# ---------------------------------------------------------------------------------------------- IAM

# EventBridge rules that feed the interruption queue: (rule suffix, source, detail-type).
INTERRUPTION_EVENTS = (
    ("scheduled-change", "aws.health", "AWS Health Event"),
    ("spot-interruption", "aws.ec2", "EC2 Spot Instance Interruption Warning"),
    ("rebalance", "aws.ec2", "EC2 Instance Rebalance Recommendation"),
    ("instance-state-change", "aws.ec2", "EC2 Instance State-change Notification"),
    ("capacity-reservation-interruption", "aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
)


def event_pattern(source: str, detail_type: str) -> str:
    return json.dumps({"source": [source], "detail-type": [detail_type]}, sort_keys=True)


def interruption_queue_policy(queue_arn: str) -> str:
    """Only EventBridge (and SQS itself) may send; nothing may use the queue without TLS."""
    return _doc([
        {"Sid": "AllowEventBridge", "Effect": "Allow",
         "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
         "Action": "sqs:SendMessage", "Resource": queue_arn},
        {"Sid": "DenyHTTP", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": queue_arn,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ])


def controller_policy(partition: str, region: str, account_id: str, cluster_name: str, node_role_arn: str,
                      queue_arn: str) -> str:
    """The Karpenter v1 controller policy (getting-started CloudFormation of v1.14), scoped to this
    cluster: EC2 writes only on resources tagged for the cluster and a NodePool, PassRole only for the GPU
    node role, instance-profile writes only on profiles tagged for the cluster and region, queue actions
    only on this queue. Read-only discovery calls are region-scoped where AWS supports a condition."""
    ec2 = f"arn:{partition}:ec2:{region}"
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned"}
    request_owned = {f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}": "owned",
                     "aws:RequestTag/eks:eks-cluster-name": cluster_name}
    tagged_kinds = ["fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request"]
    instance_profile = f"arn:{partition}:iam::{account_id}:instance-profile/*"
    return _doc([
        {"Sid": "AllowScopedEC2InstanceAccessActions", "Effect": "Allow",
         "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
         "Resource": [f"{ec2}::image/*", f"{ec2}::snapshot/*", f"{ec2}:*:security-group/*", f"{ec2}:*:subnet/*",
                      f"{ec2}:*:capacity-reservation/*", f"{ec2}:*:placement-group/*"]},
        {"Sid": "AllowScopedEC2LaunchTemplateAccessActions", "Effect": "Allow",
         "Action": ["ec2:RunInstances", "ec2:CreateFleet"], "Resource": f"{ec2}:*:launch-template/*",
         "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowScopedEC2InstanceActionsWithTags", "Effect": "Allow",
         "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
         "Resource": [f"{ec2}:*:{k}/*" for k in tagged_kinds],
         "Condition": {"StringEquals": request_owned, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowScopedResourceCreationTagging", "Effect": "Allow", "Action": "ec2:CreateTags",
         "Resource": [f"{ec2}:*:{k}/*" for k in tagged_kinds],
         "Condition": {"StringEquals": {**request_owned,
                                        "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                       "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowScopedResourceTagging", "Effect": "Allow", "Action": "ec2:CreateTags",
         "Resource": f"{ec2}:*:instance/*",
         "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                       "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                       "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim",
                                                                     "Name"]}}},
        {"Sid": "AllowScopedDeletion", "Effect": "Allow",
         "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
         "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
         "Condition": {"StringEquals": owned, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowPassingInstanceRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": node_role_arn,
         "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}}},
        {"Sid": "AllowScopedInstanceProfileCreationActions", "Effect": "Allow", "Action": "iam:CreateInstanceProfile",
         "Resource": instance_profile,
         "Condition": {"StringEquals": {**request_owned, "aws:RequestTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "AllowScopedInstanceProfileTagActions", "Effect": "Allow", "Action": "iam:TagInstanceProfile",
         "Resource": instance_profile,
         "Condition": {"StringEquals": {**owned, "aws:ResourceTag/topology.kubernetes.io/region": region,
                                        **request_owned, "aws:RequestTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                                      "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "AllowScopedInstanceProfileActions", "Effect": "Allow",
         "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
         "Resource": instance_profile,
         "Condition": {"StringEquals": {**owned, "aws:ResourceTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "AllowInstanceProfileReadActions", "Effect": "Allow", "Action": "iam:GetInstanceProfile",
         "Resource": instance_profile},
        {"Sid": "AllowUnscopedInstanceProfileListAction", "Effect": "Allow", "Action": "iam:ListInstanceProfiles",
         "Resource": "*"},
        {"Sid": "AllowAPIServerEndpointDiscovery", "Effect": "Allow", "Action": "eks:DescribeCluster",
         "Resource": f"arn:{partition}:eks:{region}:{account_id}:cluster/{cluster_name}"},
        {"Sid": "AllowInterruptionQueueActions", "Effect": "Allow",
         "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], "Resource": queue_arn},
        {"Sid": "AllowRegionalReadActions", "Effect": "Allow",
         "Action": ["ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances",
                    "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets"],
         "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": region}}},
        {"Sid": "AllowSSMReadActions", "Effect": "Allow", "Action": "ssm:GetParameter",
         "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*"},
        {"Sid": "AllowPricingReadActions", "Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "*"},
    ])
