"""GpuCapacity: Karpenter (controller, interruption queue, node role) with one NodePool + EC2NodeClass
per GPU class, and the NVIDIA device plugin on GPU nodes.

Pass the cluster's Kubernetes provider in ``opts.providers``; manifests and policies come from the pure
module ``karpenter``; chart versions from ``versions``.
"""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
from collections.abc import Sequence
from typing import Any, Optional, Required, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from llm_tiers import arguments
from llm_tiers.pod_identity import pod_identity_role
from llm_tiers import helm
from llm_tiers import iam
from llm_tiers.gpu import karpenter
from llm_tiers.gpu import rules
from llm_tiers import naming
from llm_tiers.cluster import system_capacity as sc
from llm_tiers import timing
from llm_tiers.config.specs import GpuClassSpec

KARPENTER_NAMESPACE = "kube-system"  # where Karpenter's docs run it (API priority and fairness rules)
KARPENTER_SERVICE_ACCOUNT = "karpenter"
_NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")


class GpuCapacityArgs(TypedDict, total=False):
    """Inputs of :class:`GpuCapacity`."""

    cluster_name: Required[pulumi.Input[str]]
    """EKS cluster name (also the Karpenter discovery tag value the Cluster put on subnets and SGs). Pass the
    Cluster's ``cluster_name`` Output, so the access entry and the Pod Identity association wait for it."""
    region: Required[str]
    """AWS region of the cluster (also the controller's ``AWS_REGION``: it cannot reach IMDS)."""
    gpu_classes: Required[dict[str, GpuClassSpec]]
    """GPU classes by name (the ``gpuClasses`` config section; checked as the stack file's); one NodePool +
    EC2NodeClass each."""
    system_node_selector: pulumi.Input[dict[str, str]]
    """nodeSelector that keeps the Karpenter controller on nodes Karpenter does not manage (the Cluster's
    ``system_node_selector``). Default: none (``kubernetes.io/os: linux`` only)."""
    environment: Optional[str]
    """Environment name for tags. Default: none (no ``environment`` tag)."""
    tags: dict[str, str]
    """Extra AWS tags (also put on the EC2 instances Karpenter launches). Default: none."""
    name_prefix: Optional[str]
    """Prefix of AWS names (the cluster name as a plain string). Default: ``cluster_name`` when it is a plain
    string; required when it is an Output."""
    weight_sync_jobs: int
    """How many weight-sync Jobs the tiers run (``system_capacity.tier_releases``): above 0, a CPU NodePool
    ``weight-sync`` (and its EC2NodeClass) holds them, sized to run them all at once; pass
    ``sync_scheduling`` to every ModelTier. 0: no such pool (the sync Jobs run wherever their tier puts them).
    Default: ``0``."""


class GpuCapacity(pulumi.ComponentResource):
    """GPU nodes on demand, one class per NodePool. See docs/components/gpu-capacity.md.

    Python callers may also pass (keyword) ``depends_on`` (install the charts after these, e.g.
    ``cluster.nodes_ready``) and ``egress`` (the private subnets' NAT gateways and routes, ``cluster.egress``:
    Karpenter must reach EC2 until its last node is terminated, so it is deleted before them). Both order the
    charts the same way: other languages pass the Cluster (or those resources) in the resource option
    ``dependsOn``, which the component passes on to its charts."""

    node_role_arn: pulumi.Output[str]
    """IAM role of the GPU nodes Karpenter launches."""
    node_role_name: pulumi.Output[str]
    """Name of that role (the EC2NodeClasses' `role`)."""
    controller_role_arn: pulumi.Output[str]
    """Karpenter's EKS Pod Identity role."""
    interruption_queue_name: pulumi.Output[str]
    """SQS queue of spot, rebalance, health and state-change events."""
    sync_scheduling: dict[str, Any]
    """nodeSelector and tolerations of the weight-sync Jobs (the ``weight-sync`` NodePool), or empty: pass them
    to every ModelTier's ``sync_node_selector`` and ``sync_tolerations``."""
    gpu_classes: list[str]
    """The GPU classes, each with its NodePool."""

    def __init__(self, resource_name: str, args: GpuCapacityArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 depends_on: Sequence[pulumi.Resource] = (), egress: Sequence[pulumi.Resource] = ()):
        # Every problem at its args path, before anything (this component included) is registered.
        arguments.refuse("GpuCapacity", resource_name, rules.capacity_args_issues(args))
        super().__init__(naming.type_token("GpuCapacity"), resource_name, None, opts)
        gpu_classes, _ = rules.gpu_classes_of(args["gpu_classes"], "args.gpu_classes")
        region = args["region"]
        cluster = args["cluster_name"]
        name = naming.name_prefix(cluster, args.get("name_prefix"))
        tags = naming.aws_tags(args.get("environment"), name, dict(arguments.get(args, "tags", {})))
        selector = arguments.get(args, "system_node_selector", {})
        weight_sync_jobs = arguments.get(args, "weight_sync_jobs", 0)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        account_id = aws.get_caller_identity_output(opts=invoke).account_id

        # ------------------------------------------------------------ node role (GPU nodes)
        node_role = aws.iam.Role(f"{resource_name}-node", name=f"{name}-karpenter-node",
                                 assume_role_policy=iam.ec2_node_trust_policy(), tags=tags, opts=child)
        for policy in _NODE_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{resource_name}-node-{policy}", role=node_role.name,
                policy_arn=partition.apply(lambda p, policy=policy: iam.managed_policy_arn(p, policy)), opts=child)  # type: ignore[misc]
        node_access = aws.eks.AccessEntry(f"{resource_name}-node", cluster_name=cluster,
                                          principal_arn=node_role.arn, type="EC2_LINUX", tags=tags, opts=child)

        # ------------------------------------------------------------ interruption queue
        queue = aws.sqs.Queue(f"{resource_name}-interruption", name=name, message_retention_seconds=300,
                              sqs_managed_sse_enabled=True, tags=tags, opts=child)
        aws.sqs.QueuePolicy(f"{resource_name}-interruption", queue_url=queue.url,
                            policy=queue.arn.apply(karpenter.interruption_queue_policy), opts=child)
        for suffix, source, detail_type in karpenter.INTERRUPTION_EVENTS:
            rule = aws.cloudwatch.EventRule(
                f"{resource_name}-{suffix}", name=f"{name}-karpenter-{suffix}"[:64],
                description=f"Karpenter interruption handling for {name}: {detail_type}",
                event_pattern=karpenter.event_pattern(source, detail_type), tags=tags, opts=child)
            aws.cloudwatch.EventTarget(f"{resource_name}-{suffix}", rule=rule.name, arn=queue.arn,
                                       target_id="KarpenterInterruptionQueueTarget", opts=child)

        # ------------------------------------------------------------ controller identity
        identity = pod_identity_role(
            f"{resource_name}-controller", f"{name}-karpenter", cluster_name=cluster, namespace=KARPENTER_NAMESPACE,
            service_account=KARPENTER_SERVICE_ACCOUNT, tags=tags, opts=child,
            policy=pulumi.Output.all(partition, account_id, node_role.arn, queue.arn, cluster).apply(
                lambda v: karpenter.controller_policy(v[0], region, v[1], v[4], v[2], v[3])))

        # ------------------------------------------------------------ charts
        after = [*depends_on, *egress, *arguments.resources(opts.depends_on if opts else None)]
        crds = helm.release(f"{resource_name}-karpenter-crd", "karpenter-crd", name="karpenter-crd",
                            namespace=KARPENTER_NAMESPACE, values={},
                            opts=pulumi.ResourceOptions(parent=self, depends_on=after))
        controller = helm.release(
            f"{resource_name}-karpenter", "karpenter", name="karpenter", namespace=KARPENTER_NAMESPACE,
            skip_crds=True,
            values={
                "settings": {"clusterName": cluster, "interruptionQueue": queue.name},
                # System nodes allow one IMDS hop, so pods cannot read the region from IMDS, and the controller
                # panics without it (aws/karpenter-provider-aws pkg/operator/operator.go @v1.14.1). The chart
                # sets none; controller.env is appended to the container (charts/karpenter templates/deployment.yaml).
                # Requests counted by the system capacity check (components/llm_tiers/cluster/system_capacity.py).
                "controller": {"env": [{"name": "AWS_REGION", "value": region}],
                               "resources": sc.KARPENTER.resources()},
                "serviceAccount": {"name": KARPENTER_SERVICE_ACCOUNT},
                "replicas": sc.KARPENTER_REPLICAS,
                # Never on nodes Karpenter manages (the chart's default affinity also says so).
                "nodeSelector": ({"kubernetes.io/os": "linux", **selector} if isinstance(selector, dict) else
                                 pulumi.Output.from_input(selector).apply(
                                     lambda s: {"kubernetes.io/os": "linux", **s})),
                "podDisruptionBudget": {"name": "karpenter", "maxUnavailable": 1},
            },
            opts=pulumi.ResourceOptions(parent=self,
                                        depends_on=[*after, crds, *identity.ready, node_access]))
        device_plugin = helm.release(
            f"{resource_name}-nvidia-device-plugin", "nvidia-device-plugin", name="nvidia-device-plugin",
            namespace=KARPENTER_NAMESPACE,
            values={
                # Only on GPU nodes of a class (the chart's default affinity needs NFD labels we do not run).
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [
                        {"key": karpenter.GPU_CLASS_LABEL, "operator": "Exists"}]}]}}},
                "tolerations": [{"key": karpenter.GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}],
                "failOnInitError": True,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=after))

        # ------------------------------------------------------------ one NodePool + EC2NodeClass per class
        # Custom resources are not awaited unless asked (pulumi-kubernetes metadata/overrides.go ReadyCondition):
        # both wait for Ready (node class resolved subnets, security groups, AMI, instance profile). Deleting
        # either waits for its NodeClaims: pulumi-kubernetes deletes with Foreground propagation, and the
        # NodeClaims are owned by their NodePool, whose EC2NodeClass finalizer waits for them too
        # (aws/karpenter-provider-aws pkg/controllers/nodeclass/controller.go). The controller, its identity
        # and the subnets' egress are their dependencies, so they outlive every GPU node.
        ready_timeouts = pulumi.CustomTimeouts(create=timing.duration(timing.CUSTOM_RESOURCE_READY_SECONDS),
                                               update=timing.duration(timing.CUSTOM_RESOURCE_READY_SECONDS),
                                               delete=timing.duration(timing.GPU_NODE_DRAIN_SECONDS))
        self._node_pools: dict[str, k8s.apiextensions.CustomResource] = {}
        for class_name, cls in sorted(gpu_classes.items()):
            node_class = pulumi.Output.all(node_role.name, cluster).apply(
                lambda v, c=class_name, x=cls: karpenter.ec2_node_class(c, x, v[1], v[0], tags))  # type: ignore[misc]
            ec2_class = k8s.apiextensions.CustomResource(
                f"{resource_name}-{class_name}-nodeclass", api_version=karpenter.NODECLASS_API, kind="EC2NodeClass",
                metadata=node_class["metadata"], spec=node_class["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[crds, controller], custom_timeouts=ready_timeouts))
            pool = karpenter.node_pool(class_name, cls)
            self._node_pools[class_name] = k8s.apiextensions.CustomResource(
                f"{resource_name}-{class_name}-nodepool", api_version=karpenter.NODEPOOL_API, kind="NodePool",
                metadata=pool["metadata"], spec=pool["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[crds, controller, ec2_class],
                                            custom_timeouts=ready_timeouts))

        # The weight-sync Jobs' own CPU capacity (karpenter.sync_node_pool), so the system nodes need not hold them.
        self.sync_scheduling = {}
        if weight_sync_jobs > 0:
            sync_class = pulumi.Output.all(node_role.name, cluster).apply(
                lambda v: karpenter.sync_node_class(v[1], v[0], tags))
            sync_ec2_class = k8s.apiextensions.CustomResource(
                f"{resource_name}-{karpenter.SYNC_POOL}-nodeclass", api_version=karpenter.NODECLASS_API,
                kind="EC2NodeClass", metadata=sync_class["metadata"], spec=sync_class["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[crds, controller], custom_timeouts=ready_timeouts))
            sync_pool = karpenter.sync_node_pool(karpenter.sync_cpu_limit(weight_sync_jobs,
                                                                          sc.WEIGHT_SYNC.cpu_m))
            self._node_pools[karpenter.SYNC_POOL] = k8s.apiextensions.CustomResource(
                f"{resource_name}-{karpenter.SYNC_POOL}-nodepool", api_version=karpenter.NODEPOOL_API, kind="NodePool",
                metadata=sync_pool["metadata"], spec=sync_pool["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[crds, controller, sync_ec2_class],
                                            custom_timeouts=ready_timeouts))
            self.sync_scheduling = karpenter.sync_scheduling()

        self.node_role_arn = node_role.arn
        self.node_role_name = node_role.name
        self.controller_role_arn = identity.role.arn
        self.interruption_queue_name = queue.name
        self._ready: list[pulumi.Resource] = [*self._node_pools.values(), device_plugin]
        self.gpu_classes = sorted(gpu_classes)
        self.register_outputs({
            "nodeRoleArn": self.node_role_arn,
            "controllerRoleArn": self.controller_role_arn,
            "interruptionQueueName": self.interruption_queue_name,
            "gpuClasses": self.gpu_classes,
        })

    @property
    def node_pools(self) -> dict[str, k8s.apiextensions.CustomResource]:
        """NodePool per GPU class name (and ``weight-sync``'s)."""
        return self._node_pools

    @property
    def ready(self) -> list[pulumi.Resource]:
        """Depend on these before scheduling GPU workloads (NodePools, device plugin)."""
        return self._ready
