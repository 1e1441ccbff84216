"""The stack configuration schema: one typed model for everything in ``stacks/Pulumi.<stack>.yaml``.

Data only: the models of every section (``llm_tiers.config.<section>``), gathered here with ``StackConfig``; it
imports no domain package. ``llm_tiers.stack.parse`` validates a stack against it and then runs every domain's
rules, raising ``ConfigError`` with every problem at its key path.

Keys are camelCase (as Pulumi config usually is); unknown keys are errors so typos cannot pass silently;
defaults live here and nowhere else. The config reference in docs/config.md is generated from the field
descriptions below (``python -m llm_tiers.cli.config_docs``) and a test keeps it current.

Secret values (the Hugging Face token, alert receiver URLs) are not part of this model: they are read
with ``pulumi.Config.get_secret`` by ``llm_tiers.stack.load`` and stay ``Output`` secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from llm_tiers.config.base import *  # noqa: F401,F403  (patterns and types, re-exported)
from llm_tiers.config.base import _cidr, _Model  # noqa: F401
from llm_tiers.config.cluster import *  # noqa: F401,F403
from llm_tiers.config.gpu import *  # noqa: F401,F403
from llm_tiers.config.secrets import *  # noqa: F401,F403
from llm_tiers.config.observability import *  # noqa: F401,F403
from llm_tiers.config.gateway import *  # noqa: F401,F403
from llm_tiers.config.tiers import *  # noqa: F401,F403
from llm_tiers.config.cost import CostConfig  # noqa: F401
from llm_tiers.config.benchmark import BenchmarkConfig  # noqa: F401
from llm_tiers.config.issues import ConfigError, ConfigIssue  # noqa: F401  (re-exported)


# --------------------------------------------------------------------------------------------------
# The whole stack
# --------------------------------------------------------------------------------------------------


class StackConfig(_Model):
    """Every key of the project's config namespace (`<project>:<key>` in the stack file)."""

    environment: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{0,11}$")] = Field(
        ..., description="Environment name (`dev`, `staging`, `prod`, ...): used in names and tags.")
    cluster: ClusterConfig = Field(..., description="VPC, EKS, node group, EFS.")
    gpu_classes: dict[Name, GpuClassConfig] = Field(
        ..., min_length=1, description="GPU node classes by name (e.g. `l4`, `l40s`, `h100`).")
    secret_store: SecretStoreConfig = Field(default_factory=SecretStoreConfig, description="Secret store.")
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig, description="Observability.")
    gateway: GatewayConfig = Field(..., description="The API gateway.")
    tenants: list[TenantConfig] = Field(default_factory=list, description=(
        "API tenants. Hard limit (Envoy Gateway v1.9: 256 rate-limit rules per BackendTrafficPolicy, one policy "
        "per route): a tier may be granted to at most 128 tenants, 85 when they all have `limits.tokensPerMinute` "
        "(2 request rules per tenant and tier, 1 token rule per tenant); more tenants in total are fine, the "
        "gateway splits its routes (docs/components/gateway.md, route groups)."))
    tiers: list[TierConfig] = Field(default_factory=list, description=(
        "Model tiers. No limit on their number: the gateway puts them on as many AIGatewayRoutes (15 rules each) "
        "as the per-object limits need."))
    model_policy: ModelPolicyConfig = Field(default_factory=ModelPolicyConfig, description="Model policy.")
    protect: bool = Field(
        False, description="Protect the stateful resources: the EKS cluster, the EFS weight store, the KMS keys and "
        "the Secrets Manager secrets get Pulumi's `protect` (`pulumi destroy`, and any change that would replace "
        "them, stop with an error until `pulumi state unprotect`), and Prometheus's volume uses a StorageClass "
        "with reclaimPolicy Retain, so its EBS volume outlives the stack.")
    benchmark: BenchmarkConfig = Field(default_factory=BenchmarkConfig,
                                       description="GuideLLM benchmark Jobs per tier (opt-in, one run per runId).")
    cost: CostConfig = Field(default_factory=CostConfig,
                             description="Assumptions of plan.md's cost per token and managed-endpoint break-even.")

    @property
    def cluster_name(self) -> str:
        return self.cluster.name or f"llm-{self.environment}"


# Secret keys: read with get_secret, never part of StackConfig, listed so that they are not "unknown".
SECRET_KEYS: dict[str, str] = {
    "hfToken": "Hugging Face access token for gated models (`pulumi config set --secret hfToken`).",
    "alertReceiverUrls": "Map of alert receiver name to its webhook/integration URL, as a secret "
                         "(`pulumi config set --secret --path 'alertReceiverUrls.oncall' <url>`).",
    "fallbackApiKeys": "Map of fallback API key name (`tiers[].fallback.apiKeySecret`) to the provider's API key, as "
                       "a secret (`pulumi config set --secret --path 'fallbackApiKeys.<name>' <key>`).",
}


def fallback_key_names(values: Mapping[str, Any]) -> list[str]:
    """The ``apiKeySecret`` names the raw ``tiers`` config asks for (sorted, each once)."""
    tiers = values.get("tiers") or []
    names = {((t.get("fallback") or {}) if isinstance(t, dict) else {}).get("apiKeySecret") for t in tiers
             if isinstance(t, dict)}
    return sorted(n for n in names if isinstance(n, str) and n)


def secret_placeholders(values: Mapping[str, Any], placeholder: str = "render-placeholder") -> dict[str, Any]:
    """Stand-in values for the secret keys, shaped as the stack needs them (for offline renders, where the
    stack's encrypted values cannot be decrypted): a token, and a URL per configured alert receiver."""
    receivers = ((values.get("observability") or {}).get("alertmanager") or {}).get("receivers") or []
    out: dict[str, Any] = {"hfToken": f"{placeholder}-hfToken"}
    names = [r.get("name") for r in receivers if isinstance(r, dict) and r.get("name")]
    if names:
        out["alertReceiverUrls"] = {n: f"https://{placeholder}.invalid/{n}" for n in names}
    keys = fallback_key_names(values)
    if keys:
        out["fallbackApiKeys"] = {n: f"{placeholder}-{n}" for n in keys}
    return out


# Errors (ConfigIssue, ConfigError) live in llm_tiers.config.issues; the rules in each domain's ``rules`` module;
# parsing a whole stack (schema, then every domain's rules) in llm_tiers.stack.
