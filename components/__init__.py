"""Pulumi components for LLM inference tiers on Amazon EKS.

Each component is a ``pulumi.ComponentResource`` with typed args that never reads stack config; pure
helpers (config schema, versions, naming, network and IAM documents) sit beside them.
"""

from .cluster import Cluster, ClusterArgs
from .config import ClusterConfig, ConfigError, GpuClassConfig, StackConfig
from .dns import Dns, DnsArgs
from .gateway import Gateway, GatewayArgs
from .gpu_capacity import GpuCapacity, GpuCapacityArgs
from .model_tier import ModelTier, ModelTierArgs
from .namespaces import Namespaces, NamespacesArgs
from .observability import Observability, ObservabilityArgs
from .secret_store import SecretStore, SecretStoreArgs, TenantKeyArgs

__all__ = ["Cluster", "ClusterArgs", "ClusterConfig", "ConfigError", "Dns", "DnsArgs", "Gateway", "GatewayArgs", "GpuCapacity", "GpuCapacityArgs",
           "GpuClassConfig", "ModelTier", "ModelTierArgs", "Namespaces", "NamespacesArgs", "Observability",
           "ObservabilityArgs", "SecretStore", "SecretStoreArgs", "StackConfig",
           "TenantKeyArgs"]
