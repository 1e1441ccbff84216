"""LLM tiers on EKS: one stack per environment.

Reads like the architecture (README "Architecture"): validated config in, components composed, outputs out.
"""

from pathlib import Path

import pulumi

from llm_tiers import (Benchmark, BenchmarkArgs, Cluster, ClusterArgs, Dns, DnsArgs, Evaluation, EvaluationArgs,
                       Gateway, GatewayArgs,
                       GpuCapacity, GpuCapacityArgs, LoadBalancerController, LoadBalancerControllerArgs, ModelTier,
                       ModelTierArgs, Namespaces, Observability, ObservabilityArgs,
                       SecretStore, SecretStoreArgs, TenantKeyArgs, Tracing, TracingArgs, WarmCapacity,
                       WarmCapacityArgs)
from llm_tiers import arguments
from llm_tiers import naming
from llm_tiers.preview import preflight
from llm_tiers.benchmark import manifests as benchmark_manifests
from llm_tiers.stack import system_capacity
from llm_tiers.config.schema import release_engine
from llm_tiers.stack.load import load
from llm_tiers.cost import bill, measurements, throughput
from llm_tiers.evaluation import manifests as eval_manifests
from llm_tiers.evaluation import report as eval_report
from llm_tiers.gpu import warm
from llm_tiers.tiers import engines
from llm_tiers.tiers.lock_spec import lock_spec
from llm_tiers.gateway import aigw, dns
from llm_tiers.namespaces import platform_namespaces
from llm_tiers.gateway.component import TraceTarget
from llm_tiers.stack.plan import replica_prices, tier_plan
from llm_tiers.tracing import manifests as tracing_manifests

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

cluster = Cluster(
    "cluster",
    ClusterArgs(name=cfg.cluster_name, region=settings.region, settings=arguments.spec_of(cfg.cluster),
                environment=cfg.environment, protect=cfg.protect),
)

on_cluster = pulumi.ResourceOptions(providers=[cluster.provider])

gpu_classes = {name: arguments.spec_of(c) for name, c in cfg.gpu_classes.items()}
gpu = GpuCapacity(
    "gpu",
    GpuCapacityArgs(cluster_name=cluster.cluster_name, name_prefix=cfg.cluster_name, region=settings.region,
                    gpu_classes=gpu_classes, system_node_selector=cluster.system_node_selector,
                    weight_sync_jobs=len(system_capacity.tier_releases(cfg)),
                    environment=cfg.environment, tags=cfg.cluster.tags),
    opts=on_cluster, depends_on=cluster.nodes_ready, egress=cluster.egress,
)

namespaces = Namespaces("namespaces", platform_namespaces(cert_manager=cfg.gateway.tls.mode == "cert-manager",
                                                        external_dns=cfg.gateway.dns is not None,
                                                        node_cidrs=[cfg.cluster.vpc_cidr]),
                        opts=on_cluster)

secrets = SecretStore(
    "secrets",
    SecretStoreArgs(cluster_name=cluster.cluster_name, name_prefix=cfg.cluster_name, region=settings.region,
                    hf_token=settings.hf_token, protect=cfg.protect,
                    fallback_keys=settings.fallback_api_keys,
                    tenants=[TenantKeyArgs(name=t.name, rotate=t.rotate, keep_previous=not t.drop_previous_key)
                             for t in cfg.tenants],
                    refresh_interval=cfg.secret_store.refresh_interval,
                    recovery_window_days=cfg.secret_store.recovery_window_days,
                    system_node_selector=cluster.system_node_selector,
                    environment=cfg.environment, tags=cfg.cluster.tags),
    opts=on_cluster, depends_on=[*cluster.nodes_ready, *namespaces.resources],
)

# Each configured receiver's URL, a secret Output of its own (load() refused a receiver without one).
receiver_urls = settings.alert_receiver_urls
observability = Observability(
    "observability",
    ObservabilityArgs(
        settings=arguments.spec_of(cfg.observability),
        tiers=[arguments.spec_of(t) for t in cfg.tiers],
        storage_class=cluster.retained_block_storage_class if cfg.protect else cluster.block_storage_class,
        replica_prices=replica_prices(cfg),
        fallback_prices={
            t.name: p
            for t in cfg.tiers
            if t.fallback is not None
            for p in [throughput.managed_price(cfg, t.name)]
            if p is not None
        },
        system_node_selector=cluster.system_node_selector,
        alert_receiver_urls={
            r.name: receiver_urls.apply(lambda m, n=r.name: (m or {}).get(n, ""))
            for r in cfg.observability.alertmanager.receivers
        }
        if receiver_urls is not None
        else {},
    ),
    opts=on_cluster,
    depends_on=[*cluster.nodes_ready, *cluster.storage_ready, *namespaces.resources],
)

# One ModelTier per tier: weights cache + sync Job per release, TGI Deployment(s), Service, PDB,
# NetworkPolicy, ScaledObject(s) and PodMonitor. Every model is in the lock (load() refused the stack otherwise).
# A scaled-to-zero tier wakes on the requests counted at the gateway's Envoy clusters for it.
tracing = cfg.observability.tracing
# With tracing on: an OpenTelemetry Collector the engines and Envoy send spans to; it adds tier, engine, model
# (and Envoy tags the tenant) before exporting to observability.tracing.otlpEndpoint.
collector = (
    Tracing(
        "tracing",
        TracingArgs(
            export_endpoint=tracing.otlp_endpoint or "",
            system_node_selector=cluster.system_node_selector,
            node_cidrs=[cfg.cluster.vpc_cidr],
        ),
        opts=on_cluster,
        depends_on=[*cluster.nodes_ready, *namespaces.resources],
    )
    if tracing.enabled
    else None
)
clusters = aigw.tier_clusters(cfg.tiers, cfg.gateway, naming.GATEWAY_NAMESPACE, cfg.tenants)


def benchmark(t, deployments, depends_on):
    """GuideLLM Jobs for a tier a team asked to benchmark (benchmark.tiers): one per release and benchmark.runId."""
    return Benchmark(
        f"benchmark-{t.name}",
        BenchmarkArgs(
            tier=arguments.spec_of(t),
            releases=benchmark_manifests.release_specs(t, settings.lock.models),
            settings=arguments.spec_of(cfg.benchmark),
            storage_class=cluster.weights_storage_class,
            node_selector=cluster.system_node_selector,
        ),
        opts=on_cluster,
        deployments=deployments,
        depends_on=depends_on,
    )


def evaluated(t):
    """A tier with `eval` (in benchmark.tiers, which the config check requires): its benchmark and quality evals
    are created before its Service, which waits for the promotion gate when `serve` is `candidate`."""

    def before_switch(deployments):
        bench = benchmark(t, deployments, [*cluster.weights_storage_ready, *namespaces.resources])
        es = t.eval.eval_set
        ev = Evaluation(
            f"eval-{t.name}",
            EvaluationArgs(
                tier=arguments.spec_of(t),
                releases=eval_manifests.release_specs(t, settings.lock.models),
                run_id=cfg.benchmark.run_id,
                benchmark_seconds=benchmark_manifests.run_seconds(cfg.benchmark),
                eval_set=Path(es.file).read_text() if es is not None and es.file else None,
                node_selector=cluster.system_node_selector,
            ),
            opts=on_cluster,
            deployments=deployments,
            depends_on=[*namespaces.resources, *bench.ready],
        )
        return ev.switch_after

    return before_switch


tiers = {
    t.name: ModelTier(
        f"tier-{t.name}",
        ModelTierArgs(
            tier=arguments.spec_of(t),
            lock=lock_spec(settings.lock.models[t.model_id]),
            candidate_lock=(
                lock_spec(settings.lock.models[t.candidate.model_id or t.model_id]) if t.candidate else None
            ),
            instance_types=cfg.gpu_classes[t.gpu_class].instance_types,
            allowed_licenses=cfg.model_policy.allowed_licenses,
            storage_class=cluster.weights_storage_class,
            hf_token_secret=secrets.hf_token_k8s_secret,
            # The weight-sync Jobs run on their own Karpenter CPU NodePool, not the system nodes.
            sync_node_selector=gpu.sync_scheduling["nodeSelector"],
            sync_tolerations=gpu.sync_scheduling["tolerations"],
            otlp_endpoint=collector.otlp_endpoint if collector else None,
            admit_benchmark=t.name in cfg.benchmark.tiers,
            gateway_clusters=clusters[t.name],
        ),
        opts=on_cluster,
        # Each step waits only for what it uses: the weights PVC for storage, the sync Job for
        # the hf-token Secret, the engine for GPU nodes (and the collector), the scaler and
        # PodMonitor for KEDA and Prometheus (tests/test_rollout.py checks it).
        before_switch=evaluated(t) if t.eval is not None else None,
        depends_on=list(namespaces.resources),
        storage_depends_on=cluster.weights_storage_ready,
        sync_depends_on=secrets.hf_token_ready,
        serve_depends_on=[*gpu.ready, *(collector.ready if collector else [])],
        monitoring_depends_on=observability.ready,
    )
    for t in cfg.tiers
}

# Warm GPU capacity (gpuClasses.<class>.warmNodes): idle nodes held by placeholder pods that run the class's engine
# images, so a tier waking from zero preempts one and skips the node launch and the image pull (gpu/warm.py).
warm_images = warm.class_images(
    cfg.gpu_classes,
    cfg.tiers,
    lambda t, rel: (
        (t.candidate.image if rel == "candidate" and t.candidate.image else None)
        or engines.image(release_engine(t, rel))
    ),
)
if warm_images:
    WarmCapacity(
        "warm-capacity",
        WarmCapacityArgs(gpu_classes=gpu_classes, images=warm_images),
        opts=on_cluster,
        depends_on=[*namespaces.resources, *gpu.ready],
    )

# GuideLLM Jobs for the tiers a team asked to benchmark (benchmark.tiers): one per release and benchmark.runId.
for t in (t for t in cfg.tiers if t.name in cfg.benchmark.tiers and t.eval is None):
    benchmark(t, tiers[t.name].deployments, [tiers[t.name].service])

# The NLB's controller (the in-tree one ignores the gateway's annotations; gateway/load_balancer_controller.py).
load_balancers = LoadBalancerController(
    "load-balancers",
    LoadBalancerControllerArgs(
        cluster_name=cluster.cluster_name,
        vpc_id=cluster.vpc_id,
        region=settings.region,
        name_prefix=cfg.cluster_name,
        system_node_selector=cluster.system_node_selector,
        environment=cfg.environment,
        tags=cfg.cluster.tags,
    ),
    opts=on_cluster,
    depends_on=cluster.nodes_ready,
)

gateway = Gateway(
    "gateway",
    GatewayArgs(
        settings=arguments.spec_of(cfg.gateway),
        tiers=[arguments.spec_of(t) for t in cfg.tiers],
        tenants=[arguments.spec_of(t) for t in cfg.tenants],
        system_node_selector=cluster.system_node_selector,
        node_cidrs=[cfg.cluster.vpc_cidr],
        trace_to=TraceTarget(
            name=collector.service_name, namespace=collector.namespace, port=tracing_manifests.GRPC_PORT
        )
        if collector
        else None,
        trace_sampling_percent=tracing.sampling_percent,
        trace_collector_labels=tracing_manifests.POD_LABELS if collector else {},
    ),
    opts=on_cluster,
    tier_services={name: tier.service for name, tier in tiers.items()},
    load_balancer_controller=load_balancers.ready,
    depends_on=[
        *cluster.nodes_ready,
        *namespaces.resources,
        *secrets.ready,
        *observability.ready,
        *([collector] if collector else []),
    ],
)

# The API's DNS record: kept by ExternalDNS in the configured zone, or created by hand (README "First day").
records = cfg.gateway.dns and Dns(
    "dns",
    DnsArgs(
        cluster_name=cluster.cluster_name,
        name_prefix=cfg.cluster_name,
        region=settings.region,
        hosted_zone_id=cfg.gateway.dns.hosted_zone_id,
        zone_name=cfg.gateway.dns.zone_name,
        hostnames=[cfg.gateway.hostname],
        txt_owner_id=cfg.gateway.dns.txt_owner_id or cfg.cluster_name,
        system_node_selector=cluster.system_node_selector,
        node_cidrs=[cfg.cluster.vpc_cidr],
        environment=cfg.environment,
        tags=cfg.cluster.tags,
    ),
    opts=on_cluster,
    depends_on=[*cluster.nodes_ready, *namespaces.resources, *gateway.api_ready],
)

pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("clusterEndpoint", cluster.endpoint)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("operatorAccess", cluster.operator_access)  # which access path applies (plan.md), and its commands
pulumi.export("vpcId", cluster.vpc_id)
pulumi.export("privateSubnetIds", cluster.private_subnet_ids)
pulumi.export("efsFileSystemId", cluster.efs_file_system_id)
pulumi.export("weightsStorageClass", cluster.weights_storage_class)
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
