"""LoadBalancerController: the AWS Load Balancer Controller, which creates and deletes the gateway's NLB.

Why this controller and not the one EKS runs anyway. The legacy ("in-tree") service controller of
kubernetes/cloud-provider-aws (v1.34.3, pkg/providers/v1/aws.go and aws_loadbalancer.go) reads its own annotation
set: ``aws-load-balancer-internal`` for the scheme (``aws-load-balancer-scheme`` is not among its constants),
registers every node as an instance target behind node ports, writes client CIDRs into the nodes' security
group and has no NLB security group, no IP targets, no TLS policy per listener beyond the annotation and no
pod readiness gates; AWS gives it critical fixes only. The AWS Load Balancer Controller (kubernetes-sigs/
aws-load-balancer-controller v3.5.0) gives the NLB its own security group built from
``loadBalancerSourceRanges``, registers the Envoy pods themselves (IP targets, health-checked on Envoy's
readiness port, so a draining proxy leaves the NLB before it stops) and holds a finalizer on the Service until
the NLB is deleted. The cost is one more controller with an IAM role, which this component scopes to its own
cluster and VPC.

Every value below is a key of helm/aws-load-balancer-controller/values.yaml at tag v3.5.0; every annotation
``service_annotations`` sets is read by that version (pkg/annotations/constants.go; docs/guide/service/
annotations.md).

* ``clusterName``, ``region``, ``vpcId`` explicit: system nodes allow one metadata hop, so the pod cannot
  reach IMDS (docs/deploy/installation.md "Using the Amazon EC2 instance metadata server version 2").
* Credentials by EKS Pod Identity (same page, "Option B: Recommended, Pod Identity").
* ``enableServiceMutatorWebhook: false``: the webhook would give every LoadBalancer Service without a class
  this controller's class; the gateway sets ``loadBalancerClass`` itself, and nothing else in the cluster
  changes controller behind its owner's back (docs/guide/service/annotations.md "Legacy Cloud Provider").
* ``createIngressClassResource: false`` and feature gates ``ALBGatewayAPI``/``NLBGatewayAPI`` off
  (docs/deploy/configurations.md "Feature Gates": both default true in v3.5.0): no Ingress or Gateway API
  load balancers here; Envoy Gateway owns the Gateway API. ``ServiceTypeLoadBalancerOnly`` on.
* The IAM policy is upstream's docs/install/iam_policy.json cut to NLBs, with every resource condition on the
  controller's tag ``elbv2.k8s.aws/cluster`` pinned to this cluster's name (pkg/deploy/tracking/provider.go
  tags everything it creates with it) and the security-group ingress rules it writes on the nodes' group
  limited to this VPC (``ec2:Vpc``, the scoping docs/deploy/installation.md recommends). Dropped: WAF, Shield,
  Cognito, ACM and IAM server-certificate reads (ALB Ingress features), ALB listener rules.
"""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any, Optional, Required, TypedDict

import pulumi
import pulumi_aws as aws

from llm_tiers.pod_identity import pod_identity_role
from llm_tiers import arguments
from llm_tiers import helm
from llm_tiers import iam
from llm_tiers import naming
from llm_tiers.cluster import system_capacity as sc
from llm_tiers.gateway import rules

RELEASE = "aws-load-balancer-controller"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
NAMESPACE = "kube-system"
LOAD_BALANCER_CLASS = "service.k8s.aws/nlb"   # the controller's default --load-balancer-class
TAG = "elbv2.k8s.aws/cluster"
# Namespace label that makes the controller's pod webhook add a target-health readiness gate to the pods it
# registers: a new Envoy pod counts as ready only once the NLB sees it healthy (docs/deploy/pod_readiness_gate.md).
READINESS_GATE_LABEL = ("elbv2.k8s.aws/pod-readiness-gate-inject", "enabled")
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"   # TLS 1.2+ (the annotation's default allows TLS 1.0)

_P = "service.beta.kubernetes.io/"
# Every annotation the gateway's Service may carry, as named in pkg/annotations/constants.go at v3.5.0
# (SvcLBSuffix*; prefix service.beta.kubernetes.io).
READ_BY_CONTROLLER = frozenset(_P + a for a in (
    "aws-load-balancer-scheme", "aws-load-balancer-nlb-target-type", "aws-load-balancer-attributes",
    "aws-load-balancer-target-group-attributes", "aws-load-balancer-healthcheck-protocol",
    "aws-load-balancer-healthcheck-port", "aws-load-balancer-healthcheck-path", "aws-load-balancer-ssl-cert",
    "aws-load-balancer-ssl-ports", "aws-load-balancer-ssl-negotiation-policy", "aws-load-balancer-backend-protocol"))


# ---------------------------------------------------------------------------------------------- pure


def service_annotations(scheme: str, tls_mode: str, certificate_arn: Optional[str], probe_port: int) -> dict[str, str]:
    """The NLB of the gateway's Service, in annotations the AWS Load Balancer Controller v3.5.0 reads.

    ``scheme``: ``internal`` or ``internet-facing`` (its default is internal). IP targets, health checks on
    Envoy's readiness endpoint (``/ready`` on ``probe_port``: envoyproxy/gateway v1.9.0
    internal/xds/bootstrap/bootstrap.go EnvoyReadinessPort/Path, served by a ``health_check`` filter that answers
    503 once the shutdown manager posts ``healthcheck/fail`` at drain, internal/cmd/envoy/shutdown_manager.go;
    the health-check port defaults to the health-check node port under ``externalTrafficPolicy: Local``, so it is
    set, docs/guide/service/annotations.md "healthcheck-port"), cross-zone
    load balancing, client addresses kept (``preserve_client_ip``: Envoy and its logs see the client, and the
    NLB's security group applies ``loadBalancerSourceRanges``). ``acm``: TLS listener on 443 with the ACM
    certificate and a TLS 1.2+ policy, plain TCP to Envoy; ``cert-manager``: TCP passthrough, Envoy terminates."""
    if scheme not in ("internal", "internet-facing"):
        raise ValueError(f"unknown scheme {scheme!r}")
    a = {
        _P + "aws-load-balancer-scheme": scheme,
        _P + "aws-load-balancer-nlb-target-type": "ip",
        _P + "aws-load-balancer-attributes": "load_balancing.cross_zone.enabled=true",
        _P + "aws-load-balancer-target-group-attributes": "preserve_client_ip.enabled=true",
        _P + "aws-load-balancer-healthcheck-protocol": "HTTP",
        _P + "aws-load-balancer-healthcheck-port": str(probe_port),
        _P + "aws-load-balancer-healthcheck-path": "/ready",
    }
    if tls_mode == "acm":
        if not certificate_arn:
            raise ValueError("tls mode acm needs a certificate ARN")
        a.update({
            _P + "aws-load-balancer-ssl-cert": certificate_arn,
            _P + "aws-load-balancer-ssl-ports": "443",
            _P + "aws-load-balancer-ssl-negotiation-policy": TLS_POLICY,
            _P + "aws-load-balancer-backend-protocol": "tcp",
        })
    elif tls_mode != "cert-manager":
        raise ValueError(f"unknown tls mode {tls_mode!r}")
    assert set(a) <= READ_BY_CONTROLLER
    return a


def policy(cluster_name: str, vpc_id: str, region: str, partition: str = "aws") -> str:
    """The controller's IAM policy: NLBs, target groups and security groups tagged for this cluster only."""
    ec2 = f"arn:{partition}:ec2:{region}:*"
    elb = f"arn:{partition}:elasticloadbalancing:{region}:*"
    vpc = f"{ec2}:vpc/{vpc_id}"
    sg = f"{ec2}:security-group/*"
    mine = {"StringEquals": {f"aws:ResourceTag/{TAG}": cluster_name}}
    tagging_mine = {"StringEquals": {f"aws:RequestTag/{TAG}": cluster_name}}
    nlb = [f"{elb}:loadbalancer/net/*/*", f"{elb}:targetgroup/*/*"]
    listeners = [f"{elb}:listener/net/*/*/*"]
    return iam.policy_document([
        {"Sid": "ServiceLinkedRole", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
         "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
        {"Sid": "Describe", "Effect": "Allow", "Resource": "*", "Action": [
            "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
            "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
            "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
            "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetSecurityGroupsForVpc",
            "ec2:DescribeIpamPools", "ec2:DescribeRouteTables", "ec2:GetCoipPoolUsage", "ec2:DescribeCoipPools",
            "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
            "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
            "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
            "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
            "elasticloadbalancing:DescribeCapacityReservation"]},
        # Backend rules on the nodes' (cluster) security group, which the controller did not create: this VPC only.
        {"Sid": "IngressRulesInThisVpc", "Effect": "Allow", "Resource": sg,
         "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
         "Condition": {"ArnEquals": {"ec2:Vpc": vpc}}},
        {"Sid": "CreateSecurityGroupInThisVpc", "Effect": "Allow", "Action": "ec2:CreateSecurityGroup",
         "Resource": vpc},
        {"Sid": "CreateTaggedSecurityGroup", "Effect": "Allow", "Action": "ec2:CreateSecurityGroup",
         "Resource": sg, "Condition": tagging_mine},
        {"Sid": "TagOnCreate", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": sg,
         "Condition": {"StringEquals": {f"aws:RequestTag/{TAG}": cluster_name,
                                        "ec2:CreateAction": "CreateSecurityGroup"}}},
        {"Sid": "RetagOwnSecurityGroups", "Effect": "Allow", "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
         "Resource": sg, "Condition": {**mine, "Null": {f"aws:RequestTag/{TAG}": "true"}}},
        {"Sid": "ManageOwnSecurityGroups", "Effect": "Allow", "Resource": sg, "Condition": mine,
         "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress",
                    "ec2:DeleteSecurityGroup"]},
        {"Sid": "CreateTaggedLoadBalancers", "Effect": "Allow", "Resource": "*", "Condition": tagging_mine,
         "Action": ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"]},
        {"Sid": "TagOnCreateLoadBalancers", "Effect": "Allow", "Action": "elasticloadbalancing:AddTags",
         "Resource": nlb, "Condition": {"StringEquals": {
             f"aws:RequestTag/{TAG}": cluster_name,
             "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"]}}},
        {"Sid": "RetagOwnLoadBalancers", "Effect": "Allow", "Resource": nlb,
         "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
         "Condition": {**mine, "Null": {f"aws:RequestTag/{TAG}": "true"}}},
        {"Sid": "ManageOwnLoadBalancers", "Effect": "Allow", "Resource": nlb, "Condition": mine, "Action": [
            "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
            "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
            "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
            "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
            "elasticloadbalancing:ModifyCapacityReservation", "elasticloadbalancing:ModifyIpPools",
            "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"]},
        # Listeners carry no cluster tag condition upstream either; NLB listeners only.
        {"Sid": "Listeners", "Effect": "Allow", "Resource": [f"{elb}:loadbalancer/net/*/*", *listeners], "Action": [
            "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
            "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyListenerAttributes",
            "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
            "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"]},
    ])


def values(*, cluster_name: str, region: str, vpc_id: str, system: Mapping[str, str]) -> dict[str, Any]:
    """The chart's values (keys: helm/aws-load-balancer-controller/values.yaml at v3.5.0)."""
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": sc.AWS_LOAD_BALANCER_CONTROLLER_REPLICAS,
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "nodeSelector": dict(system),
        # Counted by the system capacity check (components/llm_tiers/cluster/system_capacity.py).
        "resources": sc.AWS_LOAD_BALANCER_CONTROLLER.resources(),
        "podDisruptionBudget": {"maxUnavailable": 1},
        "enableServiceMutatorWebhook": False,
        "createIngressClassResource": False,
        "controllerConfig": {"featureGates": {"ALBGatewayAPI": False, "NLBGatewayAPI": False,
                                              "ServiceTypeLoadBalancerOnly": True}},
    }


def nlb_guard(namespace: str, gateway_class: str) -> dict[str, Any]:
    """A ConfigMap the gateway's NLB Service is made a blocking dependent of (``gateway_manifests.envoy_proxy``).

    pulumi-kubernetes deletes with Foreground propagation and waits until an object is gone; this one then
    goes only after the Service, whose finalizer (``service.k8s.aws/resources``, controllers/service/
    service_controller.go at v3.5.0) the controller removes once the NLB is deleted. Since the controller and
    its IAM are this guard's dependencies, ``pulumi destroy`` cannot remove them (or the VPC after them) while the
    NLB exists. The Service keeps Envoy Gateway's own owner (the GatewayClass), so losing the guard alone never
    garbage-collects it."""
    name = f"{gateway_class}-nlb-guard"
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": naming.k8s_labels("gateway", name)},
            "data": {"purpose": "deleting this waits until the gateway's NLB Service (its dependent) is gone"}}


def guard_owner_reference(name: str, uid: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": uid, "blockOwnerDeletion": True}


def guard_rbac(namespace: str, guard: str, service_account: str = "envoy-gateway") -> list[dict[str, Any]]:
    """Lets Envoy Gateway's controller set ``blockOwnerDeletion`` to the guard (where the API server enforces
    OwnerReferencesPermissionEnforcement, that takes update on the owner's ``finalizers`` subresource)."""
    meta = {"name": f"{guard}-owner", "namespace": namespace, "labels": naming.k8s_labels("gateway", guard)}
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
         "rules": [{"apiGroups": [""], "resources": ["configmaps/finalizers"], "resourceNames": [guard],
                    "verbs": ["update"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": meta["name"]},
         "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}]},
    ]


# ---------------------------------------------------------------------------------------------- component


class LoadBalancerControllerArgs(TypedDict, total=False):
    """Inputs of :class:`LoadBalancerController`."""

    cluster_name: Required[pulumi.Input[str]]
    """EKS cluster (its ``--cluster-name`` and the Pod Identity association's cluster). Required."""
    vpc_id: Required[pulumi.Input[str]]
    """The cluster's VPC (``--aws-vpc-id``; the IAM policy's VPC). Required."""
    region: Required[str]
    """AWS region (``--aws-region``). Required."""
    system_node_selector: dict[str, str]
    """Where the controller runs. Default: any node."""
    environment: Optional[str]
    """Environment name for tags. Default: none."""
    tags: dict[str, str]
    """Extra AWS tags. Default: none."""
    name_prefix: Optional[str]
    """Prefix of AWS names (the cluster name as a plain string). Default: ``cluster_name`` if it is a plain string."""


class LoadBalancerController(pulumi.ComponentResource):
    """The AWS Load Balancer Controller. See docs/components/load-balancer-controller.md.

    Python callers may also pass ``depends_on`` (keyword): resources the controller is installed after (the system
    nodes). Other languages use the resource option ``dependsOn``, which the component passes on to its children the
    same way."""

    role_arn: pulumi.Output[str]
    """The controller's EKS Pod Identity role."""

    def __init__(self, resource_name: str, args: LoadBalancerControllerArgs,
                 opts: Optional[pulumi.ResourceOptions] = None, *, depends_on: Sequence[pulumi.Resource] = ()):
        # Every problem at its args path, before anything (this component included) is registered.
        arguments.refuse("LoadBalancerController", resource_name, rules.load_balancer_controller_args_issues(args))
        super().__init__(naming.type_token("LoadBalancerController"), resource_name, None, opts)
        a = SimpleNamespace(**{**rules.load_balancer_controller_resolved(args),
                               "depends_on": [*depends_on, *arguments.resources(opts.depends_on if opts else None)]})
        name = naming.name_prefix(a.cluster_name, a.name_prefix)
        tags = naming.aws_tags(a.environment, name, dict(a.tags))
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        identity = pod_identity_role(
            f"{resource_name}-role", f"{name}-aws-lb-controller", cluster_name=a.cluster_name,
            namespace=NAMESPACE, service_account=SERVICE_ACCOUNT, tags=tags, opts=child,
            policy=pulumi.Output.all(a.cluster_name, a.vpc_id, partition).apply(
                lambda v: policy(v[0], v[1], a.region, v[2])),
            policy_resource_name=f"{resource_name}-policy", association_resource_name=f"{resource_name}-identity")
        release = helm.release(
            f"{resource_name}-release", "aws-load-balancer-controller", name=RELEASE, namespace=NAMESPACE,
            values=pulumi.Output.all(a.cluster_name, a.vpc_id).apply(  # type: ignore[arg-type]
                lambda v: values(cluster_name=v[0], region=a.region, vpc_id=v[1],
                                 system=a.system_node_selector)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*a.depends_on, *identity.ready]))
        self.role_arn = identity.role.arn
        self._ready: list[pulumi.Resource] = [release, *identity.ready]
        self.register_outputs({"roleArn": self.role_arn})

    @property
    def ready(self) -> list[pulumi.Resource]:
        """The release, its IAM policy and Pod Identity association: create a LoadBalancer Service after these and
        delete it (and wait for its NLB to go) before them (``Gateway``'s ``load_balancer_controller``)."""
        return self._ready
