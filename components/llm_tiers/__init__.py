"""Pulumi components for LLM inference tiers on Amazon EKS.

Each component is a ``pulumi.ComponentResource`` with typed args that never reads stack config; pure
helpers (config schema, versions, naming, network and IAM documents) sit beside them.

The components are loaded on first use (PEP 562 ``__getattr__``): ``import llm_tiers`` or any pure module
(``llm_tiers.tiers.capacity``, ``llm_tiers.cost.prices``, ...) imports no cloud SDK; ``from llm_tiers import
ModelTier`` imports the tier's component module then. Type checkers read the names from the block below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llm_tiers.benchmark.component import Benchmark, BenchmarkArgs
    from llm_tiers.cluster.component import Cluster, ClusterArgs
    from llm_tiers.config.schema import ClusterConfig, ConfigError, GpuClassConfig, StackConfig
    from llm_tiers.evaluation.component import Evaluation, EvaluationArgs
    from llm_tiers.gateway.component import Gateway, GatewayArgs
    from llm_tiers.gateway.dns import Dns, DnsArgs
    from llm_tiers.gateway.load_balancer_controller import LoadBalancerController, LoadBalancerControllerArgs
    from llm_tiers.gpu.component import GpuCapacity, GpuCapacityArgs
    from llm_tiers.gpu.warm_component import WarmCapacity, WarmCapacityArgs
    from llm_tiers.mirror.component import WeightMirror, WeightMirrorArgs
    from llm_tiers.namespaces import Namespaces, NamespacesArgs
    from llm_tiers.observability.component import Observability, ObservabilityArgs
    from llm_tiers.secrets.component import SecretStore, SecretStoreArgs, TenantKeyArgs
    from llm_tiers.tiers.component import ModelTier, ModelTierArgs
    from llm_tiers.tracing.component import Tracing, TracingArgs

# Public name -> the module that defines it (the same modules as the TYPE_CHECKING imports above; a test checks both).
_HOMES = {
    "Benchmark": "llm_tiers.benchmark.component", "BenchmarkArgs": "llm_tiers.benchmark.component",
    "Cluster": "llm_tiers.cluster.component", "ClusterArgs": "llm_tiers.cluster.component",
    "ClusterConfig": "llm_tiers.config.schema", "ConfigError": "llm_tiers.config.schema",
    "GpuClassConfig": "llm_tiers.config.schema", "StackConfig": "llm_tiers.config.schema",
    "Evaluation": "llm_tiers.evaluation.component", "EvaluationArgs": "llm_tiers.evaluation.component",
    "Gateway": "llm_tiers.gateway.component", "GatewayArgs": "llm_tiers.gateway.component",
    "Dns": "llm_tiers.gateway.dns", "DnsArgs": "llm_tiers.gateway.dns",
    "LoadBalancerController": "llm_tiers.gateway.load_balancer_controller",
    "LoadBalancerControllerArgs": "llm_tiers.gateway.load_balancer_controller",
    "GpuCapacity": "llm_tiers.gpu.component", "GpuCapacityArgs": "llm_tiers.gpu.component",
    "WarmCapacity": "llm_tiers.gpu.warm_component", "WarmCapacityArgs": "llm_tiers.gpu.warm_component",
    "WeightMirror": "llm_tiers.mirror.component", "WeightMirrorArgs": "llm_tiers.mirror.component",
    "Namespaces": "llm_tiers.namespaces", "NamespacesArgs": "llm_tiers.namespaces",
    "Observability": "llm_tiers.observability.component", "ObservabilityArgs": "llm_tiers.observability.component",
    "SecretStore": "llm_tiers.secrets.component", "SecretStoreArgs": "llm_tiers.secrets.component",
    "TenantKeyArgs": "llm_tiers.secrets.component",
    "ModelTier": "llm_tiers.tiers.component", "ModelTierArgs": "llm_tiers.tiers.component",
    "Tracing": "llm_tiers.tracing.component", "TracingArgs": "llm_tiers.tracing.component",
}

__all__ = ["Benchmark", "BenchmarkArgs", "Cluster", "ClusterArgs", "ClusterConfig", "ConfigError", "Dns", "DnsArgs",
           "Evaluation", "EvaluationArgs",
           "Gateway", "GatewayArgs", "GpuCapacity", "GpuCapacityArgs", "GpuClassConfig", "LoadBalancerController",
           "LoadBalancerControllerArgs", "ModelTier", "ModelTierArgs", "Namespaces", "NamespacesArgs", "Observability",
           "ObservabilityArgs", "SecretStore", "SecretStoreArgs", "StackConfig",
           "TenantKeyArgs", "Tracing", "TracingArgs", "WarmCapacity", "WarmCapacityArgs", "WeightMirror",
           "WeightMirrorArgs"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
