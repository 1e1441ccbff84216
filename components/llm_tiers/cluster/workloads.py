"""The Cluster's own system pods (pure): the EKS add-ons it installs, as the system capacity check counts them
(``llm_tiers.stack.system_capacity`` sums every component's workloads and fits them on the system nodes)."""

from __future__ import annotations

from llm_tiers.cluster.system_capacity import (AWS_NODE, COREDNS, EBS_CSI_CONTROLLER, EBS_CSI_NODE, EFS_CSI_CONTROLLER,
                                               EFS_CSI_NODE, EKS_ADDON_CONTROLLER_REPLICAS, KUBE_PROXY,
                                               POD_IDENTITY_AGENT, Workload)


def node_agents() -> list[Workload]:
    """Per node (system nodes too): the EKS add-on agents."""
    return [
        Workload("aws-node", "eks-addon:vpc-cni", AWS_NODE, kind="DaemonSet", placement="daemonset"),
        Workload("kube-proxy", "eks-addon:kube-proxy", KUBE_PROXY, kind="DaemonSet", placement="daemonset"),
        Workload("eks-pod-identity-agent", "eks-addon:eks-pod-identity-agent", POD_IDENTITY_AGENT, kind="DaemonSet",
                 placement="daemonset"),
        Workload("ebs-csi-node", "eks-addon:aws-ebs-csi-driver", EBS_CSI_NODE, kind="DaemonSet", placement="daemonset"),
        Workload("efs-csi-node", "eks-addon:aws-efs-csi-driver", EFS_CSI_NODE, kind="DaemonSet", placement="daemonset"),
    ]


def controllers() -> list[Workload]:
    """The EKS add-ons' controllers."""
    return [
        Workload("coredns", "eks-addon:coredns", COREDNS, EKS_ADDON_CONTROLLER_REPLICAS, "preferred"),
        Workload("ebs-csi-controller", "eks-addon:aws-ebs-csi-driver", EBS_CSI_CONTROLLER,
                 EKS_ADDON_CONTROLLER_REPLICAS, "preferred"),
        Workload("efs-csi-controller", "eks-addon:aws-efs-csi-driver", EFS_CSI_CONTROLLER,
                 EKS_ADDON_CONTROLLER_REPLICAS),
    ]
