"""The cluster's pure pieces (no resources): which EKS add-ons run before and after the system nodes, their
settings and Pod Identity roles, the node role's managed policies, and the StorageClasses' definitions.
``cluster/component.py`` registers them; tests read them here."""

from __future__ import annotations

import json
from typing import Any, Optional

from llm_tiers import naming

# Add-ons that must exist before nodes join (networking, kube-proxy, credentials for pods).
BEFORE_NODES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
# Add-on settings (JSON the add-on's schema accepts). The VPC CNI enforces NetworkPolicies only with its
# network policy agent on: without it every NetworkPolicy the platform writes (tier isolation, the
# gateway's namespace) would be accepted by the API and silently ignored.
ADDON_CONFIGURATION: dict[str, dict[str, str]] = {
    "vpc-cni": {"enableNetworkPolicy": "true"},
}
# Add-ons that need running nodes to become healthy.
AFTER_NODES = ("coredns", "aws-ebs-csi-driver", "aws-efs-csi-driver")
# Add-on -> (service account, AWS managed policy) for its EKS Pod Identity role.
ADDON_IDENTITIES = {
    "vpc-cni": ("aws-node", "AmazonEKS_CNI_Policy"),
    "aws-ebs-csi-driver": ("ebs-csi-controller-sa", "AmazonEBSCSIDriverPolicy"),
    "aws-efs-csi-driver": ("efs-csi-controller-sa", "service-role/AmazonEFSCSIDriverPolicy"),
}
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")
ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"

BLOCK_CLASS = "gp3-encrypted"
"""The default StorageClass (encrypted gp3, volumes deleted with their claims)."""
RETAINED_BLOCK_CLASS = "gp3-encrypted-retain"
"""An encrypted gp3 StorageClass whose volumes outlive their claims (reclaimPolicy Retain)."""


def addon_configuration_values(addon_name: str) -> Optional[str]:
    """The add-on's ``configuration_values`` JSON, or None when it runs with its defaults."""
    if addon_name not in ADDON_CONFIGURATION:
        return None
    return json.dumps(ADDON_CONFIGURATION[addon_name], sort_keys=True)


def admin_access_policy_arn(partition: str) -> str:
    """The EKS access policy the admin roles get (cluster scope)."""
    return f"arn:{partition}:eks::aws:cluster-access-policy/{ADMIN_ACCESS_POLICY}"


def weights_storage_class_parameters(file_system_id: Any) -> dict[str, Any]:
    """The EFS CSI driver's parameters of the weights StorageClass: one access point per claim, under
    ``/weights/<namespace>/<claim>``."""
    return {
        "provisioningMode": "efs-ap",
        "fileSystemId": file_system_id,
        "directoryPerms": "700",
        "basePath": "/weights",
        "subPathPattern": "${.PVC.namespace}/${.PVC.name}",
        "ensureUniqueDirectory": "true",
    }


def gp3_storage_class(cluster_name: str, retained: bool) -> dict[str, Any]:
    """The keyword args of an encrypted gp3 StorageClass (the default one, or the retained one); ``metadata`` holds
    the keyword args of its ObjectMeta."""
    metadata: dict[str, Any] = {"name": RETAINED_BLOCK_CLASS if retained else BLOCK_CLASS,
                                "labels": naming.k8s_labels("block-storage", cluster_name)}
    if not retained:
        metadata["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    return {"metadata": metadata, "provisioner": "ebs.csi.aws.com",
            "parameters": {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
            "volume_binding_mode": "WaitForFirstConsumer", "allow_volume_expansion": True,
            "reclaim_policy": "Retain" if retained else "Delete"}
