"""The smallest useful program: one tier (fixed replicas, no autoscaler) behind the gateway, one tenant."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pulumi  # noqa: E402
import pulumi_kubernetes as k8s  # noqa: E402
import pulumi_random as random  # noqa: E402

from components import Gateway, GatewayArgs, ModelTier, ModelTierArgs, Namespaces  # noqa: E402
from components.config import GatewayConfig, TenantConfig, TierConfig, TlsConfig  # noqa: E402
from components.models_lock import load  # noqa: E402

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
chat = ModelTier("chat", ModelTierArgs(tier=tier, lock=load(Path(__file__).resolve().parents[2] / "models.lock.json")
                                       .models[tier.model_id], instance_types=["g6.xlarge"], autoscaling=False,
                                       depends_on=namespaces.resources), opts=opts)
Gateway("gateway", GatewayArgs(settings=GatewayConfig(hostname=config.require("hostname"),
                                                      tls=TlsConfig(certificate_arn=config.require("certificateArn"))),
                               tiers=[tier], tenants=[TenantConfig(name="me", tiers=["chat"])], monitoring=False,
                               tier_services={"chat": chat.service}, depends_on=[*namespaces.resources, keys]),
        opts=opts)
pulumi.export("apiKey", pulumi.Output.secret(pulumi.Output.concat("sk-", key.result)))  # `pulumi stack output --show-secrets apiKey`
