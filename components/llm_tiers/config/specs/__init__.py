"""The stack config's sections as plain typed dictionaries: the shape components take a section in.

GENERATED from the models in ``llm_tiers.config`` by ``python -m llm_tiers.cli.arg_specs --write`` (one module per
section); a test fails when it is stale. Do not edit by hand.

Keys are the Python (snake_case) names of the stack file's camelCase keys (``max_total_tokens`` is
``maxTotalTokens``); Pulumi's component provider publishes them in camelCase again, so a TypeScript, Go or YAML
program writes the stack file's keys (an acronym is camel-cased: ``storageGiB`` is ``storageGib`` there). A key
not marked ``Required`` may be left out: the component fills in the default its description names. Each component
validates the value against the section's model (ranges, patterns, cross-field rules) before it registers anything,
and names a bad key at its ``args.`` path.
"""

from llm_tiers.config.specs.cluster import ClusterSpec, EfsSpec, OperatorAccessSpec, SystemNodeGroupSpec
from llm_tiers.config.specs.gpu import GpuClassSpec
from llm_tiers.config.specs.secrets import SecretStoreSpec
from llm_tiers.config.specs.observability import AlertReceiverSpec, AlertmanagerSpec, ObservabilitySpec, PrometheusSpec, TracingSpec
from llm_tiers.config.specs.gateway import DnsSpec, GatewaySpec, LimitsSpec, RateLimitingSpec, TenantSpec, TlsSpec
from llm_tiers.config.specs.tiers import AutoscalingSpec, EvalSetSpec, EvalSpec, FallbackSpec, GateSpec, LmEvalSpec, ModelPolicySpec, ReleaseSpec, ReplicasSpec, SloSpec, TierSpec
from llm_tiers.config.specs.benchmark import BenchmarkSpec

__all__ = ["AlertReceiverSpec", "AlertmanagerSpec", "AutoscalingSpec", "BenchmarkSpec", "ClusterSpec", "DnsSpec", "EfsSpec", "EvalSetSpec", "EvalSpec", "FallbackSpec", "GateSpec", "GatewaySpec", "GpuClassSpec", "LimitsSpec", "LmEvalSpec", "ModelPolicySpec", "ObservabilitySpec", "OperatorAccessSpec", "PrometheusSpec", "RateLimitingSpec", "ReleaseSpec", "ReplicasSpec", "SecretStoreSpec", "SloSpec", "SystemNodeGroupSpec", "TenantSpec", "TierSpec", "TlsSpec", "TracingSpec"]
