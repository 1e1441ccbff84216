"""The stack config as data: the typed schema of every section (``schema``), the problems found in one (``issues``),
and the sections as plain typed dictionaries for component args (``specs``). Imports no domain package;
``llm_tiers.stack`` parses a stack against it and runs every domain's rules."""

from llm_tiers.config.schema import (ClusterConfig, ConfigError, ConfigIssue, GatewayConfig, GpuClassConfig,
                                     StackConfig, TenantConfig, TierConfig)

__all__ = ["ClusterConfig", "ConfigError", "ConfigIssue", "GatewayConfig", "GpuClassConfig", "StackConfig",
           "TenantConfig", "TierConfig"]
