"""The ``cluster`` config section(s) as plain typed dicts (generated: see ``llm_tiers.config.specs``)."""

# No ``from __future__ import annotations``: Pulumi's component provider reads these annotations at runtime.
from typing import Optional, Required, TypedDict


class SystemNodeGroupSpec(TypedDict, total=False):
    """``SystemNodeGroupConfig`` as plain data. The managed node group that runs controllers (Karpenter, ESO, Prometheus, gateway)."""
    instance_types: list[str]
    """EC2 instance types for the system nodes (on-demand, AL2023), from the system catalog in `components/llm_tiers/cluster/system_capacity.py`. `desiredSize` nodes of each listed type must hold every system pod: a stack that does not fit is refused (see docs/components/cluster.md). Default: ``['m7i.xlarge']``. (stack file key ``instanceTypes``)"""
    min_size: int
    """Minimum number of system nodes. Default: ``2``. (stack file key ``minSize``)"""
    desired_size: int
    """Number of system nodes the group runs (between min and max); nothing scales the group (Karpenter manages only GPU nodes), so the system pods must fit on this many. Default: ``2``. (stack file key ``desiredSize``)"""
    max_size: int
    """Maximum number of system nodes. Default: ``4``. (stack file key ``maxSize``)"""
    disk_size_gib: int
    """Encrypted gp3 root volume size (GiB). Default: ``50``. (stack file key ``diskSizeGiB``)"""


class EfsSpec(TypedDict, total=False):
    """``EfsConfig`` as plain data. The EFS file system that holds every tier's weight cache."""
    throughput_mode: str
    """EFS throughput mode. `elastic` suits bursty multi-GB weight loads. One of: ``elastic``, ``bursting``. Default: ``'elastic'``. (stack file key ``throughputMode``)"""
    storage_class_name: str
    """Name of the Kubernetes StorageClass for weight caches (ReadWriteMany). Default: ``'efs-weights'``. (stack file key ``storageClassName``)"""
    reclaim_policy: str
    """What happens to a tier's cache directory when its PVC is deleted. One of: ``Delete``, ``Retain``. Default: ``'Delete'``. (stack file key ``reclaimPolicy``)"""


class OperatorAccessSpec(TypedDict, total=False):
    """``OperatorAccessConfig`` as plain data. How an operator reaches a private API endpoint (docs/components/cluster.md "Operator access")."""
    mode: str
    """`ssm`: the stack creates one small instance in a private subnet, managed by AWS Systems Manager, with no inbound rule, no SSH key and no public address; operators forward a local port through it to the private API endpoint with `aws ssm start-session` (the `operatorAccess` output prints the command) and authenticate to EKS with their own role from `adminRoleArns`. Its IAM role has only AmazonSSMManagedInstanceCore and no EKS access entry (it relays TCP, it never calls the Kubernetes API). `none`: no access path is created; with a private endpoint only networks connected to the VPC (the CI runner) reach the API. One of: ``none``, ``ssm``. Default: ``'none'``. (stack file key ``mode``)"""
    instance_type: str
    """EC2 instance type of the relay (`ssm`): a port forward needs almost nothing; Graviton (`t4g`, `c7g`, ...) types run the arm64 AMI, others the x86_64 one. Default: ``'t4g.nano'``. (stack file key ``instanceType``)"""


class ClusterSpec(TypedDict, total=False):
    """``ClusterConfig`` as plain data. The VPC, EKS control plane, system node group and EFS weight store."""
    name: Optional[str]
    """EKS cluster name. Default: `llm-<environment>`. (stack file key ``name``)"""
    kubernetes_version: str
    """EKS Kubernetes minor version; one of the versions with add-on pins in `components/llm_tiers/versions.py`. Default: ``'1.34'``. (stack file key ``kubernetesVersion``)"""
    vpc_cidr: str
    """IPv4 CIDR of the VPC (a /16 to /20). Default: ``'10.0.0.0/16'``. (stack file key ``vpcCidr``)"""
    availability_zones: Optional[list[str]]
    """Availability zones to use (2-4). Default: the region's first three available zones. Pin them when a GPU instance type is only offered in some zones. (stack file key ``availabilityZones``)"""
    nat_gateways: str
    """`perAz`: a NAT gateway per zone (production); `single`: one shared NAT gateway (cheaper, a zone outage cuts egress). One of: ``single``, ``perAz``. Default: ``'perAz'``. (stack file key ``natGateways``)"""
    endpoint_public_access: bool
    """Expose the Kubernetes API endpoint publicly (restricted to `publicAccessCidrs`). The private endpoint is always on. Default: ``False``. (stack file key ``endpointPublicAccess``)"""
    public_access_cidrs: list[str]
    """CIDR blocks allowed to reach the public API endpoint. Required when `endpointPublicAccess` is true; must be empty otherwise. Default: empty. (stack file key ``publicAccessCidrs``)"""
    admin_role_arns: Required[list[str]]
    """IAM role ARNs granted cluster-admin through EKS access entries (no aws-auth ConfigMap). The identity running `pulumi up` gets no implicit admin. (stack file key ``adminRoleArns``)"""
    kubeconfig_role_arn: Optional[str]
    """Role the Kubernetes provider and the exported kubeconfig assume (`aws eks get-token --role-arn`); must be one of `adminRoleArns`. Default: the identity running Pulumi, which must then itself be in `adminRoleArns`. (stack file key ``kubeconfigRoleArn``)"""
    control_plane_log_types: list[str]
    """Control-plane log types sent to CloudWatch Logs. One of: ``api``, ``audit``, ``authenticator``, ``controllerManager``, ``scheduler``. Default: ``['api', 'audit', 'authenticator', 'controllerManager', 'scheduler']``. (stack file key ``controlPlaneLogTypes``)"""
    log_retention_days: int
    """Retention of the control-plane log group, in days (a CloudWatch-allowed value). Default: ``90``. (stack file key ``logRetentionDays``)"""
    system_node_group: SystemNodeGroupSpec
    """The system node group. (stack file key ``systemNodeGroup``)"""
    efs: EfsSpec
    """The weight-cache file system. (stack file key ``efs``)"""
    operator_access: OperatorAccessSpec
    """How an operator reaches the API endpoint when it is private (plan.md says which applies). (stack file key ``operatorAccess``)"""
    tags: dict[str, str]
    """Extra AWS tags on every AWS resource. Default: empty. (stack file key ``tags``)"""
