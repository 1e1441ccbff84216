"""Cluster: VPC, EKS control plane, access entries, add-ons, system node group, EFS weight store, and
the Kubernetes provider every later component uses.

A thin ComponentResource: addresses, policies and names come from the pure modules ``network``,
``iam`` and ``naming``; versions from ``versions``.
"""

from __future__ import annotations

import json

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from llm_tiers import iam
from llm_tiers import naming
from llm_tiers.cluster import network
from llm_tiers.cluster import operator_access
from llm_tiers import versions
from llm_tiers.config.schema import ClusterConfig

# Add-ons that must exist before nodes join (networking, kube-proxy, credentials for pods).
_BEFORE_NODES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
# Add-on settings (JSON the add-on's schema accepts). The VPC CNI enforces NetworkPolicies only with its
# network policy agent on: without it every NetworkPolicy the platform writes (tier isolation, the
# gateway's namespace) would be accepted by the API and silently ignored.
ADDON_CONFIGURATION: dict[str, dict[str, str]] = {
    "vpc-cni": {"enableNetworkPolicy": "true"},
}
# Add-ons that need running nodes to become healthy.
_AFTER_NODES = ("coredns", "aws-ebs-csi-driver", "aws-efs-csi-driver")
# Add-on -> (service account, AWS managed policy) for its EKS Pod Identity role.
_ADDON_IDENTITIES = {
    "vpc-cni": ("aws-node", "AmazonEKS_CNI_Policy"),
    "aws-ebs-csi-driver": ("ebs-csi-controller-sa", "AmazonEBSCSIDriverPolicy"),
    "aws-efs-csi-driver": ("efs-csi-controller-sa", "service-role/AmazonEFSCSIDriverPolicy"),
}
_NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")
_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"


@dataclass(frozen=True)
class ClusterArgs:
    """Inputs of :class:`Cluster`."""

    name: str
    """EKS cluster name; also the prefix of every AWS name and the Karpenter discovery tag value."""
    region: str
    """AWS region (used in the kubeconfig's ``aws eks get-token`` call)."""
    settings: ClusterConfig
    """Network, control plane, node group and EFS settings (the ``cluster`` config section)."""
    environment: Optional[str] = None
    """Environment name written into tags (omitted when None)."""
    availability_zones: Optional[list[str]] = None
    """Zones to use; default: ``settings.availabilityZones`` or the region's first three available zones."""
    tags: dict[str, str] = field(default_factory=dict)
    """Extra tags on every AWS resource (merged over ``settings.tags``)."""
    protect: bool = False
    """Protect the stateful resources (EKS cluster, EFS file system, KMS key): ``pulumi destroy`` and any
    change that would replace them stop with an error until the protection is lifted."""


class Cluster(pulumi.ComponentResource):
    """An EKS cluster ready for GPU inference tiers. See docs/components/cluster.md."""

    cluster_name: pulumi.Output[str]
    """EKS cluster name."""
    endpoint: pulumi.Output[str]
    """Kubernetes API endpoint."""
    kubeconfig: pulumi.Output[str]
    """JSON kubeconfig authenticating with `aws eks get-token` (no credential inside)."""
    provider: k8s.Provider
    """Kubernetes provider for this cluster; pass it to later components in `opts.providers`."""
    vpc_id: pulumi.Output[str]
    """VPC id."""
    private_subnet_ids: list[pulumi.Output[str]]
    """Private subnets (nodes, pods, EFS mount targets), one per zone."""
    public_subnet_ids: list[pulumi.Output[str]]
    """Public subnets (load balancers only), one per zone."""
    cluster_security_group_id: pulumi.Output[str]
    """EKS-managed cluster security group (tagged for Karpenter discovery)."""
    node_role_arn: pulumi.Output[str]
    """IAM role of the system node group."""
    node_role_name: pulumi.Output[str]
    """Name of that role."""
    kms_key_arn: pulumi.Output[str]
    """KMS key that envelope-encrypts Kubernetes secrets."""
    efs_file_system_id: pulumi.Output[str]
    """EFS file system holding the weight caches."""
    weights_storage_class: str
    """Name of the ReadWriteMany StorageClass for weight caches."""
    block_storage_class: str
    """Name of the default (encrypted gp3) StorageClass."""
    retained_block_storage_class: str
    """Name of an encrypted gp3 StorageClass whose volumes outlive their claims (reclaimPolicy Retain)."""
    system_node_selector: dict[str, str]
    """nodeSelector that places a pod on the system node group."""
    nodes_ready: list[pulumi.Resource]
    """Depend on these before installing workloads that need running nodes (Helm releases). The node group
    depends on the private subnets' egress, so whatever depends on it keeps egress until it is deleted."""
    egress: list[pulumi.Resource]
    """NAT gateways, route tables and their associations: the private subnets' way out (ECR, the Hub, AWS
    APIs). Depend on these from anything that needs AWS APIs while it is deleted (Karpenter)."""
    storage_ready: list[pulumi.Resource]
    """The StorageClasses (the EFS one after its mount targets): depend on these from claims."""
    weights_storage_ready: list[pulumi.Resource]
    """The weights StorageClass alone (what a tier's weights PVC waits for)."""
    operator_access: pulumi.Output
    """Which operator access path applies (``cluster.operatorAccess``, the endpoint's exposure) and, with the SSM
    relay, its instance, the port-forward and kubectl commands and the IAM policy operators need."""

    def __init__(self, resource_name: str, args: ClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(naming.type_token("Cluster"), resource_name, None, opts)
        s = args.settings
        name = args.name
        tags = naming.aws_tags(args.environment, name, {**s.tags, **args.tags})
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        # ---------------------------------------------------------------- network
        zones = args.availability_zones or s.availability_zones
        if zones:
            zone_names: list[pulumi.Input[str]] = list(zones)
        else:
            available = aws.get_availability_zones_output(
                state="available",
                filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
                opts=pulumi.InvokeOutputOptions(parent=self))
            zone_names = [available.names[i] for i in range(network.DEFAULT_ZONE_COUNT)]
        plan = network.plan_subnets(s.vpc_cidr, len(zone_names))

        vpc = aws.ec2.Vpc(f"{resource_name}-vpc", cidr_block=s.vpc_cidr, enable_dns_hostnames=True,
                          enable_dns_support=True, tags={**tags, "Name": name}, opts=child)
        igw = aws.ec2.InternetGateway(f"{resource_name}-igw", vpc_id=vpc.id, tags={**tags, "Name": name}, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{resource_name}-public", vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={**tags, "Name": f"{name}-public"}, opts=child)

        public_subnets, private_subnets, nat_gateways = [], [], []
        egress: list[pulumi.Resource] = [igw, public_rt]
        for p in plan:
            zone = zone_names[p.zone_index]
            suffix = f"{p.zone_index}"
            pub = aws.ec2.Subnet(
                f"{resource_name}-public-{suffix}", vpc_id=vpc.id, cidr_block=p.public_cidr,
                availability_zone=zone, map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{name}-public-{suffix}", "kubernetes.io/role/elb": "1"}, opts=child)
            egress.append(aws.ec2.RouteTableAssociation(f"{resource_name}-public-{suffix}", subnet_id=pub.id,
                                                        route_table_id=public_rt.id, opts=child))
            public_subnets.append(pub)
            if network.nat_gateway_zone(p.zone_index, s.nat_gateways) == p.zone_index:
                eip = aws.ec2.Eip(f"{resource_name}-nat-{suffix}", domain="vpc",
                                  tags={**tags, "Name": f"{name}-nat-{suffix}"}, opts=child)
                nat_gateways.append(aws.ec2.NatGateway(
                    f"{resource_name}-nat-{suffix}", allocation_id=eip.id, subnet_id=pub.id,
                    tags={**tags, "Name": f"{name}-nat-{suffix}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw])))
        for p in plan:
            suffix = f"{p.zone_index}"
            nat = nat_gateways[network.nat_gateway_zone(p.zone_index, s.nat_gateways)]
            priv = aws.ec2.Subnet(
                f"{resource_name}-private-{suffix}", vpc_id=vpc.id, cidr_block=p.private_cidr,
                availability_zone=zone_names[p.zone_index],
                tags={**tags, "Name": f"{name}-private-{suffix}", "kubernetes.io/role/internal-elb": "1",
                      naming.KARPENTER_DISCOVERY_TAG: name}, opts=child)
            rt = aws.ec2.RouteTable(
                f"{resource_name}-private-{suffix}", vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags={**tags, "Name": f"{name}-private-{suffix}"}, opts=child)
            egress += [rt, aws.ec2.RouteTableAssociation(f"{resource_name}-private-{suffix}", subnet_id=priv.id,
                                                         route_table_id=rt.id, opts=child)]
            private_subnets.append(priv)
        egress += nat_gateways
        protect = pulumi.ResourceOptions(parent=self, protect=args.protect)

        # ---------------------------------------------------------------- control plane
        key = aws.kms.Key(f"{resource_name}-secrets", description=f"EKS secrets envelope encryption for {name}",
                          enable_key_rotation=True, deletion_window_in_days=30, tags=tags, opts=protect)
        aws.kms.Alias(f"{resource_name}-secrets", name=f"alias/{name}-eks-secrets", target_key_id=key.key_id,
                      opts=child)
        log_group = aws.cloudwatch.LogGroup(
            f"{resource_name}-control-plane", name=f"/aws/eks/{name}/cluster",
            retention_in_days=s.log_retention_days, tags=tags, opts=child)

        cluster_role = aws.iam.Role(f"{resource_name}-cluster", name=f"{name}-cluster",
                                    assume_role_policy=iam.eks_cluster_trust_policy(), tags=tags, opts=child)
        cluster_policies = [
            aws.iam.RolePolicyAttachment(
                f"{resource_name}-cluster-policy", role=cluster_role.name,
                policy_arn=partition.apply(lambda p: iam.managed_policy_arn(p, "AmazonEKSClusterPolicy")),
                opts=child),
            aws.iam.RolePolicy(f"{resource_name}-cluster-kms", role=cluster_role.id,
                               policy=key.arn.apply(iam.cluster_kms_policy), opts=child),
        ]

        eks = aws.eks.Cluster(
            f"{resource_name}-eks", name=name, role_arn=cluster_role.arn, version=s.kubernetes_version,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=[sn.id for sn in private_subnets],
                endpoint_private_access=True,
                endpoint_public_access=s.endpoint_public_access,
                public_access_cidrs=list(s.public_access_cidrs) if s.endpoint_public_access else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]),
            enabled_cluster_log_types=list(s.control_plane_log_types),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False),
            # The add-ons below are EKS-managed and pinned; EKS must not install unmanaged copies.
            bootstrap_self_managed_addons=False,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=versions.EKS_SUPPORT_TYPE),
            tags=tags,
            # EKS keeps a cluster in its VPC (subnets update in place only within it): new subnets mean a new
            # cluster, so say so to the engine instead of letting the update fail at AWS. Its name is fixed, so
            # the old one must go first (protect: true refuses either way).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, *cluster_policies], protect=args.protect,
                                        replace_on_changes=["vpcConfig.subnetIds"], delete_before_replace=True))
        cluster_sg = eks.vpc_config.cluster_security_group_id
        aws.ec2.Tag(f"{resource_name}-sg-discovery", resource_id=cluster_sg, key=naming.KARPENTER_DISCOVERY_TAG,
                    value=name, opts=child)

        admin_access = []
        for i, arn in enumerate(s.admin_role_arns):
            entry = aws.eks.AccessEntry(f"{resource_name}-admin-{i}", cluster_name=eks.name, principal_arn=arn,
                                        type="STANDARD", tags=tags, opts=child)
            admin_access.append(aws.eks.AccessPolicyAssociation(
                f"{resource_name}-admin-{i}", cluster_name=eks.name, principal_arn=entry.principal_arn,
                policy_arn=partition.apply(
                    lambda p: f"arn:{p}:eks::aws:cluster-access-policy/{_ADMIN_ACCESS_POLICY}"),
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"), opts=child))

        # ---------------------------------------------------------------- operator access (cluster.operatorAccess)
        self.operator_access: pulumi.Output = pulumi.Output.from_input(operator_access.summary(
            s.operator_access.mode, s.endpoint_public_access, list(s.public_access_cidrs),
            s.operator_access.instance_type))
        if s.operator_access.mode == "ssm":
            self.operator_access = self._ssm_relay(resource_name, name, args.region, s, vpc, private_subnets,
                                                   cluster_sg, eks, tags, partition, child)

        # ---------------------------------------------------------------- add-ons
        addon_versions = versions.eks_addon_versions(s.kubernetes_version)

        def addon(addon_name: str, depends_on: list[pulumi.Resource]) -> aws.eks.Addon:
            identities = None
            if addon_name in _ADDON_IDENTITIES:
                sa, policy = _ADDON_IDENTITIES[addon_name]
                role = aws.iam.Role(f"{resource_name}-{addon_name}", name=f"{name}-{addon_name}",
                                    assume_role_policy=iam.pod_identity_trust_policy(), tags=tags, opts=child)
                attachment = aws.iam.RolePolicyAttachment(
                    f"{resource_name}-{addon_name}", role=role.name,
                    policy_arn=partition.apply(lambda p: iam.managed_policy_arn(p, policy)), opts=child)
                identities = [aws.eks.AddonPodIdentityAssociationArgs(role_arn=role.arn, service_account=sa)]
                depends_on = [*depends_on, attachment]
            return aws.eks.Addon(
                f"{resource_name}-{addon_name}", cluster_name=eks.name, addon_name=addon_name,
                addon_version=addon_versions[addon_name], resolve_conflicts_on_create="OVERWRITE",
                configuration_values=(json.dumps(ADDON_CONFIGURATION[addon_name], sort_keys=True)
                                      if addon_name in ADDON_CONFIGURATION else None),
                resolve_conflicts_on_update="OVERWRITE", pod_identity_associations=identities, tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on))

        base_addons = [addon(a, []) for a in _BEFORE_NODES]

        # ---------------------------------------------------------------- system node group
        node_role = aws.iam.Role(f"{resource_name}-node", name=f"{name}-node",
                                 assume_role_policy=iam.ec2_node_trust_policy(), tags=tags, opts=child)
        node_policies = [
            aws.iam.RolePolicyAttachment(
                f"{resource_name}-node-{policy}", role=node_role.name,
                policy_arn=partition.apply(lambda p, policy=policy: iam.managed_policy_arn(p, policy)), opts=child)
            for policy in _NODE_POLICIES
        ]
        ng = s.system_node_group
        launch_template = aws.ec2.LaunchTemplate(
            f"{resource_name}-system", name=f"{name}-system",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1),
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name="/dev/xvda",
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=ng.disk_size_gib, volume_type="gp3", encrypted="true", delete_on_termination="true"),
            )],
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(
                resource_type=rt, tags={**tags, "Name": f"{name}-system"}) for rt in ("instance", "volume")],
            update_default_version=True, tags=tags, opts=child)
        node_group = aws.eks.NodeGroup(
            f"{resource_name}-system", cluster_name=eks.name, node_group_name=f"{name}-system",
            node_role_arn=node_role.arn, subnet_ids=[sn.id for sn in private_subnets],
            ami_type="AL2023_x86_64_STANDARD", capacity_type="ON_DEMAND", instance_types=list(ng.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=ng.min_size, desired_size=ng.desired_size, max_size=ng.max_size),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=launch_template.id, version=launch_template.latest_version.apply(str)),
            labels={naming.NODE_ROLE_LABEL: naming.SYSTEM_NODE_ROLE},
            tags=tags,
            # Nodes join only with egress (ECR pulls, the EKS and STS APIs): create after it, delete before it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*node_policies, *base_addons, *egress]))
        late_addons = [addon(a, [node_group]) for a in _AFTER_NODES]

        # ---------------------------------------------------------------- EFS weight store
        efs_sg = aws.ec2.SecurityGroup(
            f"{resource_name}-efs", name=f"{name}-efs", vpc_id=vpc.id,
            description=f"NFS from {name} nodes to the weights file system",
            ingress=[aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=2049, to_port=2049, security_groups=[cluster_sg],
                description="NFS from the EKS cluster security group (all nodes)")],
            tags={**tags, "Name": f"{name}-efs"}, opts=child)
        efs = aws.efs.FileSystem(
            f"{resource_name}-weights", encrypted=True, performance_mode="generalPurpose",
            throughput_mode=s.efs.throughput_mode, tags={**tags, "Name": f"{name}-weights"}, opts=protect)
        aws.efs.BackupPolicy(f"{resource_name}-weights", file_system_id=efs.id,
                             backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="DISABLED"), opts=child)
        aws.efs.FileSystemPolicy(f"{resource_name}-weights", file_system_id=efs.id,
                                 policy=efs.arn.apply(iam.efs_file_system_policy), opts=child)
        mount_targets = [
            aws.efs.MountTarget(f"{resource_name}-weights-{i}", file_system_id=efs.id, subnet_id=sn.id,
                                security_groups=[efs_sg.id], opts=child)
            for i, sn in enumerate(private_subnets)
        ]

        # ---------------------------------------------------------------- Kubernetes provider
        kubeconfig = pulumi.Output.all(eks.name, eks.endpoint, eks.certificate_authority.data).apply(
            lambda v: iam.kubeconfig(v[0], v[1], v[2], args.region, s.kubeconfig_role_arn))
        provider = k8s.Provider(
            f"{resource_name}-k8s", kubeconfig=kubeconfig, enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=admin_access))
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)

        weights_sc = k8s.storage.v1.StorageClass(
            f"{resource_name}-weights-sc",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=s.efs.storage_class_name,
                                                labels=naming.k8s_labels("weights-cache", name)),
            provisioner="efs.csi.aws.com",
            parameters={
                "provisioningMode": "efs-ap",
                "fileSystemId": efs.id,
                "directoryPerms": "700",
                "basePath": "/weights",
                "subPathPattern": "${.PVC.namespace}/${.PVC.name}",
                "ensureUniqueDirectory": "true",
            },
            mount_options=["tls"],
            reclaim_policy=s.efs.reclaim_policy,
            volume_binding_mode="Immediate",
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=mount_targets)))
        block_class, retained_class = "gp3-encrypted", "gp3-encrypted-retain"
        gp3 = dict(provisioner="ebs.csi.aws.com",
                   parameters={"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
                   volume_binding_mode="WaitForFirstConsumer", allow_volume_expansion=True)
        retained_sc = k8s.storage.v1.StorageClass(
            f"{resource_name}-gp3-retain-sc",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=retained_class,
                                                labels=naming.k8s_labels("block-storage", name)),
            reclaim_policy="Retain", **gp3, opts=k8s_opts)
        block_sc = k8s.storage.v1.StorageClass(
            f"{resource_name}-gp3-sc",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=block_class, labels=naming.k8s_labels("block-storage", name),
                annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
            reclaim_policy="Delete", **gp3, opts=k8s_opts)

        # ---------------------------------------------------------------- outputs
        self.cluster_name = eks.name
        self.endpoint = eks.endpoint
        self.kubeconfig = kubeconfig
        self.provider = provider
        self.vpc_id = vpc.id
        self.private_subnet_ids = [sn.id for sn in private_subnets]
        self.public_subnet_ids = [sn.id for sn in public_subnets]
        self.cluster_security_group_id = cluster_sg
        self.node_role_arn = node_role.arn
        self.node_role_name = node_role.name
        self.kms_key_arn = key.arn
        self.efs_file_system_id = efs.id
        self.weights_storage_class = s.efs.storage_class_name
        self.block_storage_class = block_class
        self.retained_block_storage_class = retained_class
        self.system_node_selector = {naming.NODE_ROLE_LABEL: naming.SYSTEM_NODE_ROLE}
        self.nodes_ready = [node_group, *late_addons]
        self.egress = egress
        self.storage_ready = [weights_sc, block_sc, retained_sc]
        self.weights_storage_ready = [weights_sc]  # what a weights PVC uses (ModelTierArgs.storage_depends_on)
        self.register_outputs({
            "operatorAccess": self.operator_access,
            "clusterName": self.cluster_name,
            "endpoint": self.endpoint,
            "kubeconfig": self.kubeconfig,
            "vpcId": self.vpc_id,
            "privateSubnetIds": self.private_subnet_ids,
            "publicSubnetIds": self.public_subnet_ids,
            "clusterSecurityGroupId": self.cluster_security_group_id,
            "nodeRoleArn": self.node_role_arn,
            "kmsKeyArn": self.kms_key_arn,
            "efsFileSystemId": self.efs_file_system_id,
            "weightsStorageClass": self.weights_storage_class,
        })

    def _ssm_relay(self, resource_name: str, name: str, region: str, s: ClusterConfig, vpc: aws.ec2.Vpc,
                   private_subnets: list, cluster_sg: pulumi.Output, eks: aws.eks.Cluster, tags: dict[str, str],
                   partition: pulumi.Output, child: pulumi.ResourceOptions) -> pulumi.Output:
        """The Session Manager relay (components/llm_tiers/cluster/operator_access.py): an instance with no
        inbound rule, an SSM-only role and no EKS access entry; the cluster security group admits HTTPS from
        it alone."""
        o = s.operator_access
        role = aws.iam.Role(f"{resource_name}-operator-access", name=f"{name}-operator-access",
                            assume_role_policy=operator_access.instance_trust_policy(), tags=tags, opts=child)
        aws.iam.RolePolicyAttachment(
            f"{resource_name}-operator-access-ssm", role=role.name,
            policy_arn=partition.apply(lambda p: iam.managed_policy_arn(p, "AmazonSSMManagedInstanceCore")),
            opts=child)
        profile = aws.iam.InstanceProfile(f"{resource_name}-operator-access", name=f"{name}-operator-access",
                                          role=role.name, tags=tags, opts=child)
        sg = aws.ec2.SecurityGroup(
            f"{resource_name}-operator-access", name=f"{name}-operator-access", vpc_id=vpc.id,
            description="SSM relay to the EKS API: no inbound, HTTPS out only",
            egress=[aws.ec2.SecurityGroupEgressArgs(
                protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"],
                description="HTTPS: SSM endpoints (through NAT) and the EKS API endpoint")],
            tags={**tags, "Name": f"{name}-operator-access"}, opts=child)
        aws.ec2.SecurityGroupRule(
            f"{resource_name}-api-from-operator-access", type="ingress", security_group_id=cluster_sg,
            source_security_group_id=sg.id, protocol="tcp", from_port=443, to_port=443,
            description="EKS API from the SSM relay", opts=child)
        ami = aws.ec2.get_ami_output(
            owners=[operator_access.AMI_OWNER], most_recent=False,
            filters=[aws.ec2.GetAmiFilterArgs(name="name", values=[operator_access.ami_name(o.instance_type)])],
            opts=pulumi.InvokeOutputOptions(parent=self))
        instance = aws.ec2.Instance(
            f"{resource_name}-operator-access", ami=ami.id, instance_type=o.instance_type,
            subnet_id=private_subnets[0].id, vpc_security_group_ids=[sg.id], iam_instance_profile=profile.name,
            associate_public_ip_address=False, monitoring=False,
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(http_tokens="required", http_put_response_hop_limit=1,
                                                                 http_endpoint="enabled"),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(volume_type="gp3", encrypted=True,
                                                                  volume_size=operator_access.ROOT_VOLUME_GIB),
            tags={**tags, "Name": f"{name}-operator-access"},
            # The AMI is pinned by name; a new pin replaces the relay (it holds nothing).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[eks]))
        return pulumi.Output.all(instance.id, eks.endpoint, instance.arn, partition).apply(lambda v: {
            **operator_access.summary(o.mode, s.endpoint_public_access, list(s.public_access_cidrs), o.instance_type,
                                      v[0]),
            **operator_access.commands(v[0], v[1], region, name),
            # Attach to the operators' own role(s): what they need to open the port forward, and nothing more.
            "operatorPolicy": operator_access.session_policy(v[2], v[3], region)})
