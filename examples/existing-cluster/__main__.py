"""Bring your own cluster: observability, the gateway and one model tier on an existing Kubernetes cluster
given by kubeconfig. No AWS resource is created: tenant keys live in a Kubernetes Secret made here, and
GPU nodes must already carry the label ``llm-tiers.io/gpu-class=l4`` and the taint
``nvidia.com/gpu=true:NoSchedule`` (what the GpuCapacity component would give them)."""

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from llm_tiers import (Gateway, GatewayArgs, ModelTier, ModelTierArgs, Namespaces, Observability, ObservabilityArgs)
from llm_tiers import arguments
from llm_tiers.tiers.lock_spec import lock_spec
from llm_tiers.config.schema import TierConfig
from llm_tiers.tiers.models_lock import load
from llm_tiers.naming import GATEWAY_NAMESPACE

config = pulumi.Config()
provider = k8s.Provider("existing-cluster", kubeconfig=config.require_secret("kubeconfig"))
on_cluster = pulumi.ResourceOptions(providers=[provider])

tier = TierConfig(name="chat", model_id="Qwen/Qwen2.5-7B-Instruct", gpu_class="l4", max_input_tokens=4096,
                  max_total_tokens=8192, replicas={"min": 1, "max": 3})
lock = load(Path(__file__).resolve().parents[2] / "models.lock.json")

namespaces = Namespaces("namespaces", opts=on_cluster)
key = random.RandomPassword("team-a-key", length=48, special=False)
keys = k8s.core.v1.Secret(
    "tenant-keys", metadata={"name": "tenant-api-keys", "namespace": GATEWAY_NAMESPACE},
    string_data={"team-a": pulumi.Output.concat("sk-", key.result)},
    opts=pulumi.ResourceOptions(provider=provider, depends_on=namespaces.resources))
observability = Observability(
    "observability",
    ObservabilityArgs(tiers=[arguments.spec_of(tier)], storage_class=config.require("blockStorageClass")),
    opts=on_cluster,
    depends_on=namespaces.resources,
)
# The tier's ScaledObject and PodMonitor need KEDA and the Prometheus operator: create it after them.
chat = ModelTier(
    "chat",
    ModelTierArgs(
        tier=arguments.spec_of(tier),
        lock=lock_spec(lock.models[tier.model_id]),
        instance_types=["g6.xlarge", "g6.2xlarge"],
        storage_class=config.require("weightsStorageClass"),
    ),
    opts=on_cluster,
    depends_on=[*namespaces.resources, *observability.ready],
)
gateway = Gateway(
    "gateway",
    GatewayArgs(
        settings={"hostname": config.require("hostname"), "tls": {"certificate_arn": config.require("certificateArn")}},
        tiers=[arguments.spec_of(tier)],
        tenants=[{"name": "team-a", "tiers": ["chat"]}],
    ),
    opts=on_cluster,
    tier_services={"chat": chat.service},
    depends_on=[keys, *observability.ready],
)

pulumi.export("baseUrl", gateway.base_url)  # OpenAI base_url; model="chat"
pulumi.export("inClusterUrl", chat.service_url)
