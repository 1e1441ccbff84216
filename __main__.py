"""LLM tiers on EKS: one stack per environment.

Reads like the architecture (DESIGN.md section 1): validated config in, components composed, outputs out.
"""

import pulumi

from components import Cluster, ClusterArgs, GpuCapacity, GpuCapacityArgs
from components.plan import tier_plan
from components.stack_config import load

# Validate the whole stack config before anything is registered (errors name every key path).
settings = load()
cfg = settings.config

cluster = Cluster(
    "cluster",
    ClusterArgs(name=cfg.cluster_name, region=settings.region, settings=cfg.cluster,
                environment=cfg.environment),
)

on_cluster = pulumi.ResourceOptions(providers=[cluster.provider])

gpu = GpuCapacity(
    "gpu",
    GpuCapacityArgs(cluster_name=cfg.cluster_name, region=settings.region, gpu_classes=cfg.gpu_classes,
                    system_node_selector=cluster.system_node_selector, depends_on=cluster.nodes_ready,
                    environment=cfg.environment, tags=cfg.cluster.tags),
    opts=on_cluster,
)

# SecretStore, Observability, Gateway and ModelTier x N plug in here (issues #4-#7), each taking the
# cluster's provider and its own config section.

pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("clusterEndpoint", cluster.endpoint)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("vpcId", cluster.vpc_id)
pulumi.export("privateSubnetIds", cluster.private_subnet_ids)
pulumi.export("efsFileSystemId", cluster.efs_file_system_id)
pulumi.export("weightsStorageClass", cluster.weights_storage_class)
pulumi.export("nodeRoleArn", cluster.node_role_arn)
pulumi.export("gpuNodeRoleArn", gpu.node_role_arn)
pulumi.export("tierPlan", tier_plan(cfg))
