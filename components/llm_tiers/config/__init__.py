"""The stack config: the typed schema (``schema``) and the loader that reads it from Pulumi (``stack``)."""

from llm_tiers.config.schema import (ClusterConfig, ConfigError, ConfigIssue, GatewayConfig, GpuClassConfig,
                                     StackConfig, TenantConfig, TierConfig, parse)

__all__ = ["ClusterConfig", "ConfigError", "ConfigIssue", "GatewayConfig", "GpuClassConfig", "StackConfig",
           "TenantConfig", "TierConfig", "parse"]
