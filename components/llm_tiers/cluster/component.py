"""Cluster: VPC, EKS control plane, access entries, add-ons, system node group, EFS weight store, and
the Kubernetes provider every later component uses.

A thin ComponentResource: addresses, policies, add-ons, StorageClasses and names come from the pure modules
``network``, ``layout``, ``iam`` and ``naming``; versions from ``versions``; its args' checks from ``rules``; the
SSM relay's resources from ``relay``.
"""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
from typing import Any, Optional, Required, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from llm_tiers import arguments
from llm_tiers import iam
from llm_tiers import naming
from llm_tiers.cluster import layout
from llm_tiers.cluster import network
from llm_tiers.cluster import operator_access
from llm_tiers.cluster import relay
from llm_tiers.cluster import rules
from llm_tiers import versions
from llm_tiers.config.specs import ClusterSpec


class ClusterArgs(TypedDict, total=False):
    """Inputs of :class:`Cluster`."""

    name: Required[str]
    """EKS cluster name; also the prefix of every AWS name and the Karpenter discovery tag value (a DNS label of at
    most 38 characters)."""
    region: Required[str]
    """AWS region (used in the kubeconfig's ``aws eks get-token`` call; pinned zones must be in it)."""
    settings: Required[ClusterSpec]
    """Network, control plane, node group and EFS settings (the ``cluster`` config section; checked as the stack
    file's). ``admin_role_arns`` is required in it; every other key has the section's default."""
    environment: Optional[str]
    """Environment name written into tags. Default: none (no ``environment`` tag)."""
    availability_zones: Optional[list[str]]
    """Zones to use (2-4, in ``region``). Default: ``settings.availability_zones``, else the region's first three
    available zones."""
    tags: dict[str, str]
    """Extra tags on every AWS resource (merged over ``settings.tags``). Default: none."""
    protect: bool
    """Protect the stateful resources (EKS cluster, EFS file system, KMS key): ``pulumi destroy`` and any
    change that would replace them stop with an error until the protection is lifted. Default: ``False``."""


class Cluster(pulumi.ComponentResource):
    """An EKS cluster ready for GPU inference tiers. See docs/components/cluster.md.

    Its Kubernetes ``provider`` and the resources to wait for (``nodes_ready``, ``egress``, ``storage_ready``,
    ``weights_storage_ready``) are Python properties; a program in another language builds its own Kubernetes
    provider from the ``kubeconfig`` output and waits on the Cluster itself (``dependsOn``)."""

    cluster_name: pulumi.Output[str]
    """EKS cluster name."""
    endpoint: pulumi.Output[str]
    """Kubernetes API endpoint."""
    kubeconfig: pulumi.Output[str]
    """JSON kubeconfig authenticating with `aws eks get-token` (no credential inside)."""
    vpc_id: pulumi.Output[str]
    """VPC id."""
    private_subnet_ids: list[pulumi.Output[str]]
    """Private subnets (nodes, pods, EFS mount targets), one per zone."""
    private_route_table_ids: list[pulumi.Output[str]]
    """Route tables of the private subnets (one per zone): an S3 gateway endpoint goes on them."""
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
    operator_access: pulumi.Output[dict[str, Any]]
    """Which operator access path applies (``cluster.operatorAccess``, the endpoint's exposure) and, with the SSM
    relay, its instance, the port-forward and kubectl commands and the IAM policy operators need."""

    def __init__(self, resource_name: str, args: ClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        # Every problem at its args path, before anything (this component included) is registered.
        arguments.refuse("Cluster", resource_name, rules.args_issues(args))
        super().__init__(naming.type_token("Cluster"), resource_name, None, opts)
        s = rules.settings_of(args)
        name = args["name"]
        region = args["region"]
        protect_stateful = arguments.get(args, "protect", False)
        tags = naming.aws_tags(args.get("environment"), name, {**s.tags, **arguments.get(args, "tags", {})})
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        # ---------------------------------------------------------------- network
        zones = args.get("availability_zones") or s.availability_zones
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

        public_subnets, private_subnets, nat_gateways, private_route_tables = [], [], [], []
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
            private_route_tables.append(rt)
            egress += [rt, aws.ec2.RouteTableAssociation(f"{resource_name}-private-{suffix}", subnet_id=priv.id,
                                                         route_table_id=rt.id, opts=child)]
            private_subnets.append(priv)
        egress += nat_gateways
        protect = pulumi.ResourceOptions(parent=self, protect=protect_stateful)

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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, *cluster_policies],
                                        protect=protect_stateful,
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
                policy_arn=partition.apply(layout.admin_access_policy_arn),
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"), opts=child))

        # ---------------------------------------------------------------- operator access (cluster.operatorAccess)
        self.operator_access = pulumi.Output.from_input(operator_access.summary(
            s.operator_access.mode, s.endpoint_public_access, list(s.public_access_cidrs),
            s.operator_access.instance_type))
        if s.operator_access.mode == "ssm":
            self.operator_access = relay.ssm_relay(self, resource_name, name, region, s, vpc, private_subnets,
                                                   cluster_sg, eks, tags, partition)

        # ---------------------------------------------------------------- add-ons
        addon_versions = versions.eks_addon_versions(s.kubernetes_version)

        def addon(addon_name: str, depends_on: list[pulumi.Resource]) -> aws.eks.Addon:
            identities = None
            if addon_name in layout.ADDON_IDENTITIES:
                sa, policy = layout.ADDON_IDENTITIES[addon_name]
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
                configuration_values=layout.addon_configuration_values(addon_name),
                resolve_conflicts_on_update="OVERWRITE", pod_identity_associations=identities, tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on))

        base_addons = [addon(a, []) for a in layout.BEFORE_NODES]

        # ---------------------------------------------------------------- system node group
        node_role = aws.iam.Role(f"{resource_name}-node", name=f"{name}-node",
                                 assume_role_policy=iam.ec2_node_trust_policy(), tags=tags, opts=child)
        node_policies = [
            aws.iam.RolePolicyAttachment(
                f"{resource_name}-node-{policy}", role=node_role.name,
                policy_arn=partition.apply(lambda p, policy=policy: iam.managed_policy_arn(p, policy)), opts=child)  # type: ignore[misc]
            for policy in layout.NODE_POLICIES
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
        late_addons = [addon(a, [node_group]) for a in layout.AFTER_NODES]

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
            lambda v: iam.kubeconfig(v[0], v[1], v[2], region, s.kubeconfig_role_arn))
        provider = k8s.Provider(
            f"{resource_name}-k8s", kubeconfig=kubeconfig, enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=admin_access))
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)

        weights_sc = k8s.storage.v1.StorageClass(
            f"{resource_name}-weights-sc",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=s.efs.storage_class_name,
                                                labels=naming.k8s_labels("weights-cache", name)),
            provisioner="efs.csi.aws.com",
            parameters=layout.weights_storage_class_parameters(efs.id),
            mount_options=["tls"],
            reclaim_policy=s.efs.reclaim_policy,
            volume_binding_mode="Immediate",
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=mount_targets)))
        def gp3(key: str, retained: bool) -> k8s.storage.v1.StorageClass:
            spec = layout.gp3_storage_class(name, retained)
            return k8s.storage.v1.StorageClass(f"{resource_name}-{key}", **{
                **spec, "metadata": k8s.meta.v1.ObjectMetaArgs(**spec["metadata"])}, opts=k8s_opts)

        retained_sc = gp3("gp3-retain-sc", retained=True)
        block_sc = gp3("gp3-sc", retained=False)

        # ---------------------------------------------------------------- outputs
        self.cluster_name = eks.name
        self.endpoint = eks.endpoint
        self.kubeconfig = kubeconfig
        self._k8s_provider = provider
        self.vpc_id = vpc.id
        self.private_subnet_ids = [sn.id for sn in private_subnets]
        self.private_route_table_ids = [rt.id for rt in private_route_tables]
        self.public_subnet_ids = [sn.id for sn in public_subnets]
        self.cluster_security_group_id = cluster_sg
        self.node_role_arn = node_role.arn
        self.node_role_name = node_role.name
        self.kms_key_arn = key.arn
        self.efs_file_system_id = efs.id
        self.weights_storage_class = s.efs.storage_class_name
        self.block_storage_class = layout.BLOCK_CLASS
        self.retained_block_storage_class = layout.RETAINED_BLOCK_CLASS
        self.system_node_selector = {naming.NODE_ROLE_LABEL: naming.SYSTEM_NODE_ROLE}
        self._nodes_ready: list[pulumi.Resource] = [node_group, *late_addons]
        self._egress = egress
        self._storage_ready: list[pulumi.Resource] = [weights_sc, block_sc, retained_sc]
        self._weights_storage_ready: list[pulumi.Resource] = [weights_sc]  # what a weights PVC uses
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

    @property
    def provider(self) -> k8s.Provider:
        """Kubernetes provider for this cluster; pass it to later components in ``opts.providers``."""
        return self._k8s_provider

    @property
    def nodes_ready(self) -> list[pulumi.Resource]:
        """Depend on these before installing workloads that need running nodes (Helm releases). The node group
        depends on the private subnets' egress, so whatever depends on it keeps egress until it is deleted."""
        return self._nodes_ready

    @property
    def egress(self) -> list[pulumi.Resource]:
        """NAT gateways, route tables and their associations: the private subnets' way out (ECR, the Hub, AWS
        APIs). Depend on these from anything that needs AWS APIs while it is deleted (Karpenter)."""
        return self._egress

    @property
    def storage_ready(self) -> list[pulumi.Resource]:
        """The StorageClasses (the EFS one after its mount targets): depend on these from claims."""
        return self._storage_ready

    @property
    def weights_storage_ready(self) -> list[pulumi.Resource]:
        """The weights StorageClass alone (what a tier's weights PVC waits for)."""
        return self._weights_storage_ready
