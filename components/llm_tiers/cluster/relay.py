"""The Session Manager relay of ``cluster.operatorAccess.mode: ssm`` (docs/components/cluster.md "Operator
access"): the Cluster's resources for it, over the pure ``operator_access`` module. Children of the Cluster, so
their URNs are the Cluster's children's."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from llm_tiers import iam
from llm_tiers.cluster import operator_access
from llm_tiers.config.schema import ClusterConfig


def ssm_relay(parent: pulumi.Resource, resource_name: str, name: str, region: str, s: ClusterConfig,
              vpc: aws.ec2.Vpc, private_subnets: list, cluster_sg: pulumi.Output, eks: aws.eks.Cluster,
              tags: dict[str, str], partition: pulumi.Output) -> pulumi.Output:
    """The Session Manager relay (components/llm_tiers/cluster/operator_access.py): an instance with no
    inbound rule, an SSM-only role and no EKS access entry; the cluster security group admits HTTPS from
    it alone. Its resources are children of ``parent`` (the Cluster)."""
    child = pulumi.ResourceOptions(parent=parent)
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
        opts=pulumi.InvokeOutputOptions(parent=parent))
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
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[eks]))
    return pulumi.Output.all(instance.id, eks.endpoint, instance.arn, partition).apply(lambda v: {
        **operator_access.summary(o.mode, s.endpoint_public_access, list(s.public_access_cidrs), o.instance_type,
                                  v[0]),
        **operator_access.commands(v[0], v[1], region, name),
        # Attach to the operators' own role(s): what they need to open the port forward, and nothing more.
        "operatorPolicy": operator_access.session_policy(v[2], v[3], region)})
