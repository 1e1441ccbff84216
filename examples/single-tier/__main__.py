"""The smallest useful program: one tier (fixed replicas, no autoscaler) behind the gateway, one tenant."""

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from llm_tiers import Gateway, GatewayArgs, ModelTier, ModelTierArgs, Namespaces
from llm_tiers import arguments
from llm_tiers.tiers.lock_spec import lock_spec
from llm_tiers.config.schema import TierConfig
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
chat = ModelTier("chat", ModelTierArgs(tier=arguments.spec_of(tier), lock=lock_spec(load(
                     Path(__file__).resolve().parents[2] / "models.lock.json").models[tier.model_id]),
                                       instance_types=["g6.xlarge"], autoscaling=False),
                 opts=opts, depends_on=namespaces.resources)
# An internal NLB (private addresses in the cluster's VPC): this example opens nothing to the internet. For an
# internet-facing one, also give the clients' CIDRs: "load_balancer_scheme": "internet-facing",
# "source_cidrs": ["203.0.113.0/24"] (the Gateway refuses internet-facing without them).
Gateway("gateway", GatewayArgs(settings={"hostname": config.require("hostname"), "load_balancer_scheme": "internal",
                                         "tls": {"certificate_arn": config.require("certificateArn")}},
                               tiers=[arguments.spec_of(tier)], tenants=[{"name": "me", "tiers": ["chat"]}],
                               monitoring=False),
        opts=opts, tier_services={"chat": chat.service}, depends_on=[*namespaces.resources, keys])
pulumi.export(
    "apiKey", pulumi.Output.secret(pulumi.Output.concat("sk-", key.result))
)  # `pulumi stack output --show-secrets apiKey`
