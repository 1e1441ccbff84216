"""The ``cluster`` section: VPC, EKS, the system node group, EFS."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union  # noqa: F401

from pydantic import Field, StringConstraints, field_validator, model_validator  # noqa: F401

# The shared types and patterns (and the modules the validators use), by name.
from llm_tiers.config.base import *  # noqa: F401,F403
from llm_tiers.config.base import _cidr, _Model  # noqa: F401


class SystemNodeGroupConfig(_Model):
    """The managed node group that runs controllers (Karpenter, ESO, Prometheus, gateway)."""

    instance_types: list[Annotated[str, StringConstraints(pattern=INSTANCE_TYPE)]] = Field(
        default_factory=lambda: ["m7i.xlarge"],
        min_length=1,
        description="EC2 instance types for the system nodes (on-demand, AL2023), from the system catalog in "
        "`components/llm_tiers/cluster/system_capacity.py`. `desiredSize` nodes of each listed type must hold every "
        "system pod: a stack that does not fit is refused (see docs/components/cluster.md).",
    )
    min_size: int = Field(2, ge=1, description="Minimum number of system nodes.")
    desired_size: int = Field(
        2,
        ge=1,
        description="Number of system nodes the group runs (between min and max); nothing scales the "
        "group (Karpenter manages only GPU nodes), so the system pods must fit on this many.",
    )
    max_size: int = Field(4, ge=1, description="Maximum number of system nodes.")
    disk_size_gib: int = Field(
        50, alias="diskSizeGiB", ge=20, le=1000, description="Encrypted gp3 root volume size (GiB)."
    )


class EfsConfig(_Model):
    """The EFS file system that holds every tier's weight cache."""

    throughput_mode: Literal["elastic", "bursting"] = Field(
        "elastic", description="EFS throughput mode. `elastic` suits bursty multi-GB weight loads."
    )
    storage_class_name: Annotated[str, StringConstraints(pattern=DNS_LABEL)] = Field(
        "efs-weights", description="Name of the Kubernetes StorageClass for weight caches (ReadWriteMany)."
    )
    reclaim_policy: Literal["Delete", "Retain"] = Field(
        "Delete", description="What happens to a tier's cache directory when its PVC is deleted."
    )


class OperatorAccessConfig(_Model):
    """How an operator reaches a private API endpoint (docs/components/cluster.md "Operator access")."""

    mode: Literal["none", "ssm"] = Field(
        "none",
        description="`ssm`: the stack creates one small instance in a private subnet, managed by AWS "
        "Systems Manager, with no inbound rule, no SSH key and no public address; operators "
        "forward a local port through it to the private API endpoint with `aws ssm "
        "start-session` (the `operatorAccess` output prints the command) and authenticate to "
        "EKS with their own role from `adminRoleArns`. Its IAM role has only "
        "AmazonSSMManagedInstanceCore and no EKS access entry (it relays TCP, it never calls the "
        "Kubernetes API). `none`: no access path is created; with a private endpoint only "
        "networks connected to the VPC (the CI runner) reach the API.",
    )
    instance_type: Annotated[str, StringConstraints(pattern=INSTANCE_TYPE)] = Field(
        "t4g.nano",
        description="EC2 instance type of the relay (`ssm`): a port forward needs almost nothing; "
        "Graviton (`t4g`, `c7g`, ...) types run the arm64 AMI, others the x86_64 one.",
    )

    # That plan.md can price the type is the cluster domain's rule (cluster/rules.py: relay types).


ControlPlaneLogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]


class ClusterConfig(_Model):
    """The VPC, EKS control plane, system node group and EFS weight store."""

    name: Optional[Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=38)]] = Field(
        None, description="EKS cluster name. Default: `llm-<environment>`."
    )
    kubernetes_version: str = Field(
        versions.DEFAULT_KUBERNETES_VERSION,
        description="EKS Kubernetes minor version; one of the versions with add-on pins in "
        "`components/llm_tiers/versions.py`.",
    )
    vpc_cidr: Cidr = Field("10.0.0.0/16", description="IPv4 CIDR of the VPC (a /16 to /20).")
    availability_zones: Optional[list[Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")]]] = (
        Field(
            None,
            min_length=2,
            max_length=4,
            description="Availability zones to use (2-4). Default: the region's first three available zones. "
            "Pin them when a GPU instance type is only offered in some zones.",
        )
    )
    nat_gateways: Literal["single", "perAz"] = Field(
        "perAz",
        description="`perAz`: a NAT gateway per zone (production); `single`: one shared NAT "
        "gateway (cheaper, a zone outage cuts egress).",
    )
    endpoint_public_access: bool = Field(
        False,
        description="Expose the Kubernetes API endpoint publicly (restricted to `publicAccessCidrs`). "
        "The private endpoint is always on.",
    )
    public_access_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="CIDR blocks allowed to reach the public API endpoint. Required when "
        "`endpointPublicAccess` is true; must be empty otherwise.",
    )
    admin_role_arns: list[Annotated[str, StringConstraints(pattern=ROLE_ARN)]] = Field(
        ...,
        min_length=1,
        description="IAM role ARNs granted cluster-admin through EKS access entries (no aws-auth ConfigMap). "
        "The identity running `pulumi up` gets no implicit admin.",
    )
    kubeconfig_role_arn: Optional[RoleArn] = Field(
        None,
        description="Role the Kubernetes provider and the exported kubeconfig assume "
        "(`aws eks get-token --role-arn`); must be one of `adminRoleArns`. Default: the "
        "identity running Pulumi, which must then itself be in `adminRoleArns`.",
    )
    control_plane_log_types: list[ControlPlaneLogType] = Field(
        default_factory=lambda: ["api", "audit", "authenticator", "controllerManager", "scheduler"],  # type: ignore[arg-type]
        description="Control-plane log types sent to CloudWatch Logs.",
    )
    log_retention_days: int = Field(
        90, description="Retention of the control-plane log group, in days (a CloudWatch-allowed value)."
    )
    system_node_group: SystemNodeGroupConfig = Field(
        default_factory=SystemNodeGroupConfig, description="The system node group."
    )
    efs: EfsConfig = Field(default_factory=EfsConfig, description="The weight-cache file system.")
    operator_access: OperatorAccessConfig = Field(
        default_factory=OperatorAccessConfig,
        description="How an operator reaches the API endpoint when it is private (plan.md says which applies).",
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Extra AWS tags on every AWS resource.")
