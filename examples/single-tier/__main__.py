"""The smallest useful program: one tier (fixed replicas, no autoscaler) behind the gateway, one tenant."""

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from llm_tiers import Gateway, GatewayArgs, ModelTier, ModelTierArgs, Namespaces
from llm_tiers.config.schema import GatewayConfig, TenantConfig, TierConfig, TlsConfig
from llm_tiers.arguments import spec_of
from llm_tiers.tiers.lock_spec import lock_spec
from llm_tiers.tiers.models_lock import load

config = pulumi.Config()
provider = k8s.Provider("cluster", kubeconfig=config.require_secret("kubeconfig"))
opts = pulumi.ResourceOptions(providers=[provider])

tier = TierConfig(name="chat", model_id="Qwen/Qwen2.5-7B-Instruct", gpu_class="l4", max_input_tokens=4096,
                  max_total_tokens=8192)
namespaces = Namespaces("namespaces", opts=opts)
key = random.RandomPassword("key", length=48, special=False)
keys = k8s.core.v1.Secret("tenant-keys", metadata={"name": "tenant-api-keys", "namespace": "llm-gateway"},
                          string_data={"me": pulumi.Output.concat("sk-", key.result)},
                          opts=pulumi.ResourceOptions(provider=provider, depends_on=namespaces.resources))
# ModelTier takes plain data: the tier's keys and the model's models.lock.json entry as they stand.
chat = ModelTier("chat", ModelTierArgs(tier=spec_of(tier), lock=lock_spec(load(
                     Path(__file__).resolve().parents[2] / "models.lock.json").models[tier.model_id]),
                                       instance_types=["g6.xlarge"], autoscaling=False),
                 opts=opts, depends_on=namespaces.resources)
Gateway("gateway", GatewayArgs(settings=GatewayConfig(hostname=config.require("hostname"),
                                                      tls=TlsConfig(certificate_arn=config.require("certificateArn"))),
                               tiers=[tier], tenants=[TenantConfig(name="me", tiers=["chat"])], monitoring=False,
                               tier_services={"chat": chat.service}, depends_on=[*namespaces.resources, keys]),
        opts=opts)
pulumi.export("apiKey", pulumi.Output.secret(pulumi.Output.concat("sk-", key.result)))  # `pulumi stack output --show-secrets apiKey`
