"""Pulumi components for LLM inference tiers on Amazon EKS.

Each component is a ``pulumi.ComponentResource`` with typed args that never reads stack config; pure
helpers (config schema, versions, naming, network and IAM documents) sit beside them.
"""

from llm_tiers.benchmark.component import Benchmark, BenchmarkArgs
from llm_tiers.cluster.component import Cluster, ClusterArgs
from llm_tiers.config.schema import ClusterConfig, ConfigError, GpuClassConfig, StackConfig
from llm_tiers.evaluation.component import Evaluation, EvaluationArgs
from llm_tiers.gateway.dns import Dns, DnsArgs
from llm_tiers.gateway.component import Gateway, GatewayArgs
from llm_tiers.gateway.load_balancer_controller import LoadBalancerController, LoadBalancerControllerArgs
from llm_tiers.gpu.component import GpuCapacity, GpuCapacityArgs
from llm_tiers.gpu.warm_component import WarmCapacity, WarmCapacityArgs
from llm_tiers.tiers.component import ModelTier, ModelTierArgs
from llm_tiers.namespaces import Namespaces, NamespacesArgs
from llm_tiers.observability.component import Observability, ObservabilityArgs
from llm_tiers.secrets.component import SecretStore, SecretStoreArgs, TenantKeyArgs
from llm_tiers.tracing.component import Tracing, TracingArgs

__all__ = ["Benchmark", "BenchmarkArgs", "Cluster", "ClusterArgs", "ClusterConfig", "ConfigError", "Dns", "DnsArgs",
           "Evaluation", "EvaluationArgs",
           "Gateway", "GatewayArgs", "GpuCapacity", "GpuCapacityArgs", "GpuClassConfig", "LoadBalancerController",
           "LoadBalancerControllerArgs", "ModelTier", "ModelTierArgs", "Namespaces", "NamespacesArgs", "Observability",
           "ObservabilityArgs", "SecretStore", "SecretStoreArgs", "StackConfig",
           "TenantKeyArgs", "Tracing", "TracingArgs", "WarmCapacity", "WarmCapacityArgs"]
