"""LLM tiers on EKS: one stack per environment.

Reads like the architecture (README "Architecture"): validated config in, components composed, outputs out.
"""

import pulumi

from llm_tiers import (Benchmark, Cluster, Dns, Evaluation, Gateway, GpuCapacity, LoadBalancerController, ModelTier,
                       Namespaces, Observability, SecretStore, Tracing, WarmCapacity, WeightMirror)
from llm_tiers import naming
from llm_tiers.cost import bill, measurements, throughput
from llm_tiers.evaluation import report as eval_report
from llm_tiers.gateway import aigw, dns
from llm_tiers.preview import preflight
from llm_tiers.stack import args
from llm_tiers.stack import system_capacity
from llm_tiers.stack.load import load
from llm_tiers.stack.plan import tier_plan

# Validate the whole stack config before anything is registered (errors name every key path).
settings = load()
cfg = settings.config
for warning in settings.warnings:
    pulumi.log.warn(warning)
# The gateway objects the config sizes, validated as the API server would (CRD limits and CEL rules) before
# anything is registered, wherever the pinned CRDs are at hand (llm_tiers.preview.preflight).
preflight.run(cfg)
# A committed benchmark and eval summary (stacks/measurements/<stack>.yaml) replaces the roofline where it has
# numbers; a stale or malformed one stops here, before anything is registered.
measured = measurements.load_or_refuse(cfg, pulumi.get_stack())

cluster = Cluster("cluster", args.cluster(settings))
on_cluster = pulumi.ResourceOptions(providers=[cluster.provider])

gpu = GpuCapacity("gpu", args.gpu_capacity(settings, cluster), opts=on_cluster,
                  depends_on=cluster.nodes_ready, egress=cluster.egress)
namespaces = Namespaces("namespaces", args.namespaces(settings), opts=on_cluster)
secrets = SecretStore("secrets", args.secret_store(settings, cluster), opts=on_cluster,
                      depends_on=[*cluster.nodes_ready, *namespaces.resources])
observability = Observability("observability", args.observability(settings, cluster), opts=on_cluster,
                              depends_on=[*cluster.nodes_ready, *cluster.storage_ready, *namespaces.resources])

# With tracing on: an OpenTelemetry Collector the engines and Envoy send spans to; it adds tier, engine, model
# (and Envoy tags the tenant) before exporting to observability.tracing.otlpEndpoint.
tracing_args = args.tracing(settings, cluster)
collector = tracing_args and Tracing("tracing", tracing_args, opts=on_cluster,
                                     depends_on=[*cluster.nodes_ready, *namespaces.resources])
# The Envoy clusters that carry each tier's traffic: a scaled-to-zero tier wakes on the requests counted there.
clusters = aigw.tier_clusters(cfg.tiers, cfg.gateway, naming.GATEWAY_NAMESPACE, cfg.tenants)


def benchmark(t, deployments, depends_on):
    """GuideLLM Jobs for a tier a team asked to benchmark (benchmark.tiers): one per release and benchmark.runId."""
    return Benchmark(f"benchmark-{t.name}", args.benchmark(settings, t, cluster), opts=on_cluster,
                     deployments=deployments, depends_on=depends_on)


def evaluated(t):
    """A tier with `eval` (in benchmark.tiers, which the config check requires): its benchmark and quality evals
    are created before its Service, which waits for the promotion gate when `serve` is `candidate`."""

    def before_switch(deployments):
        bench = benchmark(t, deployments, [*cluster.weights_storage_ready, *namespaces.resources])
        ev = Evaluation(f"eval-{t.name}", args.evaluation(settings, t, cluster), opts=on_cluster,
                        deployments=deployments, depends_on=[*namespaces.resources, *bench.ready])
        return ev.switch_after

    return before_switch


# The in-region S3 copy of the locked revisions, when a tier loads from it (weightsFrom nvme or s3): its sync Job
# uploads there, its pods read from there at the node's network speed (tiers/storage.py).
mirror_args = args.weight_mirror(settings, cluster)
mirror = mirror_args and WeightMirror("weight-mirror", mirror_args)

# One ModelTier per tier: weights cache + sync Job per release, engine Deployment(s), Service, PDB, NetworkPolicy,
# ScaledObject(s) and PodMonitor. Each step waits only for what it uses: the weights PVC for storage, the sync Job
# for the hf-token Secret, the engine for GPU nodes (and the collector), the scaler and PodMonitor for KEDA and
# Prometheus (tests/test_rollout.py checks it).
tiers = {
    t.name: ModelTier(
        f"tier-{t.name}", args.model_tier(settings, t, cluster, secrets, gpu, collector, clusters[t.name], mirror),
        opts=on_cluster, before_switch=evaluated(t) if t.eval is not None else None,
        depends_on=list(namespaces.resources), storage_depends_on=cluster.weights_storage_ready,
        sync_depends_on=[*secrets.hf_token_ready, *(mirror.ready if mirror and t.weights_from != "efs" else [])],
        serve_depends_on=[*gpu.ready, *(collector.ready if collector else [])],
        monitoring_depends_on=observability.ready)
    for t in cfg.tiers
}

# Warm GPU capacity (gpuClasses.<class>.warmNodes): idle nodes held by placeholder pods that run the class's engine
# images, so a tier waking from zero preempts one and skips the node launch and the image pull (gpu/warm.py).
warm_args = args.warm_capacity(settings)
if warm_args:
    WarmCapacity("warm-capacity", warm_args, opts=on_cluster, depends_on=[*namespaces.resources, *gpu.ready])

# GuideLLM Jobs for the tiers a team asked to benchmark (benchmark.tiers): one per release and benchmark.runId.
for t in (t for t in cfg.tiers if t.name in cfg.benchmark.tiers and t.eval is None):
    benchmark(t, tiers[t.name].deployments, [tiers[t.name].service])

# The NLB's controller (the in-tree one ignores the gateway's annotations; gateway/load_balancer_controller.py).
load_balancers = LoadBalancerController("load-balancers", args.load_balancer_controller(settings, cluster),
                                        opts=on_cluster, depends_on=cluster.nodes_ready)
gateway = Gateway("gateway", args.gateway(settings, cluster, collector), opts=on_cluster,
                  tier_services={name: tier.service for name, tier in tiers.items()},
                  load_balancer_controller=load_balancers.ready,
                  depends_on=[*cluster.nodes_ready, *namespaces.resources, *secrets.ready, *observability.ready,
                              *([collector] if collector else [])])

# The API's DNS record: kept by ExternalDNS in the configured zone, or created by hand (README "First day").
dns_args = args.dns(settings, cluster)
records = dns_args and Dns("dns", dns_args, opts=on_cluster,
                           depends_on=[*cluster.nodes_ready, *namespaces.resources, *gateway.api_ready])

pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("clusterEndpoint", cluster.endpoint)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("operatorAccess", cluster.operator_access)  # which access path applies (plan.md), and its commands
pulumi.export("vpcId", cluster.vpc_id)
pulumi.export("privateSubnetIds", cluster.private_subnet_ids)
pulumi.export("efsFileSystemId", cluster.efs_file_system_id)
pulumi.export("weightsStorageClass", cluster.weights_storage_class)
pulumi.export("weightMirrorBucket", mirror.bucket_name if mirror else None)  # tiers with weightsFrom nvme or s3
pulumi.export("nodeRoleArn", cluster.node_role_arn)
pulumi.export("gpuNodeRoleArn", gpu.node_role_arn)
pulumi.export("tenantKeySecretArns", secrets.tenant_secret_arns)  # ARNs only; see README to read a key
pulumi.export("baseUrl", gateway.base_url)  # OpenAI base_url of every tier; model=<tier> (or an alias)
pulumi.export("models", gateway.models)
pulumi.export("baseUrls", gateway.base_urls)  # deprecated per-tier URLs, while gateway.perTierUrls
pulumi.export("gatewayAddress", gateway.address)  # the NLB's DNS name: what gateway.hostname must resolve to
pulumi.export("dns", dns.dns_output(cfg.gateway.hostname, gateway.address, records or None))
pulumi.export("tierServiceUrls", {name: tier.service_url for name, tier in tiers.items()})
pulumi.export("tierServing", {name: tier.serving for name, tier in tiers.items()})  # model, revision, engine
pulumi.export("tierPlan", tier_plan(cfg, settings.plans, {m: e.revision for m, e in settings.lock.models.items()}))
pulumi.export("systemCapacity", system_capacity.report(cfg))  # requested vs allocatable per system node
# What the stack costs at replicas.min and replicas.max, fixed costs included (plan.md opens with it).
stack_bill = bill.stack_bill(cfg, settings.lock.models, settings.region, has_hf_token=settings.hf_token is not None)
pulumi.export("bill", stack_bill.to_output())
# Decode tokens/s per replica (HBM roofline), $/1M output tokens and the managed-endpoint break-even (plan.md).
pulumi.export(
    "tokenCost",
    throughput.to_output(
        cfg,
        throughput.apply_measurements(
            cfg, throughput.tier_token_costs(cfg, settings.plans, list(stack_bill.tiers)), measured
        ),
        stack_bill,
    ),
)
# Per tier with a candidate and `eval`: what the promotion gate checks, and the last committed results.
pulumi.export("promotionGate", eval_report.gate_plan(cfg, measured))
