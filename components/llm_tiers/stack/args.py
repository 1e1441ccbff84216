"""The stack's config mapped to each component's args: the one place that knows which stack key feeds which arg.

``__main__.py`` composes the components in the order of the architecture; every function here takes the validated
stack (``StackSettings``) and what earlier components expose (their Outputs and names), and returns the plain
args the component then checks itself. Sections pass as their spec dictionaries (``arguments.spec_of``), so a
component validates exactly what the stack file said, defaults included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from llm_tiers import (BenchmarkArgs, ClusterArgs, DnsArgs, EvaluationArgs, GatewayArgs, GpuCapacityArgs,
                       LoadBalancerControllerArgs, ModelTierArgs, NamespacesArgs, ObservabilityArgs, SecretStoreArgs,
                       TenantKeyArgs, TracingArgs, WarmCapacityArgs, WeightMirrorArgs)
from llm_tiers import arguments
from llm_tiers.benchmark import manifests as benchmark_manifests
from llm_tiers.config.schema import TierConfig, release_engine
from llm_tiers.cost import throughput
from llm_tiers.evaluation import manifests as eval_manifests
from llm_tiers.gateway.component import TraceTarget
from llm_tiers.gpu import warm
from llm_tiers.namespaces import platform_namespaces
from llm_tiers.stack import system_capacity
from llm_tiers.stack.load import StackSettings
from llm_tiers.stack.plan import replica_prices
from llm_tiers.tiers import engines
from llm_tiers.tiers.lock_spec import lock_spec
from llm_tiers.tiers import storage
from llm_tiers.tracing import manifests as tracing_manifests


def cluster(s: StackSettings) -> ClusterArgs:
    cfg = s.config
    return ClusterArgs(name=cfg.cluster_name, region=s.region, settings=arguments.spec_of(cfg.cluster),
                       environment=cfg.environment, protect=cfg.protect)


def gpu_classes(s: StackSettings) -> dict[str, Any]:
    return {name: arguments.spec_of(c) for name, c in s.config.gpu_classes.items()}


def gpu_capacity(s: StackSettings, cluster: Any) -> GpuCapacityArgs:
    cfg = s.config
    return GpuCapacityArgs(cluster_name=cluster.cluster_name, name_prefix=cfg.cluster_name, region=s.region,
                           gpu_classes=gpu_classes(s), system_node_selector=cluster.system_node_selector,
                           weight_sync_jobs=len(system_capacity.tier_releases(cfg)),
                           environment=cfg.environment, tags=cfg.cluster.tags)


def namespaces(s: StackSettings) -> NamespacesArgs:
    cfg = s.config
    return platform_namespaces(cert_manager=cfg.gateway.tls.mode == "cert-manager",
                               external_dns=cfg.gateway.dns is not None, node_cidrs=[cfg.cluster.vpc_cidr])


def secret_store(s: StackSettings, cluster: Any) -> SecretStoreArgs:
    cfg = s.config
    return SecretStoreArgs(cluster_name=cluster.cluster_name, name_prefix=cfg.cluster_name, region=s.region,
                           hf_token=s.hf_token, protect=cfg.protect, fallback_keys=s.fallback_api_keys,  # type: ignore[typeddict-item]
                           tenants=[TenantKeyArgs(name=t.name, rotate=t.rotate, keep_previous=not t.drop_previous_key)
                                    for t in cfg.tenants],
                           refresh_interval=cfg.secret_store.refresh_interval,
                           recovery_window_days=cfg.secret_store.recovery_window_days,
                           system_node_selector=cluster.system_node_selector,
                           environment=cfg.environment, tags=cfg.cluster.tags)


def observability(s: StackSettings, cluster: Any) -> ObservabilityArgs:
    cfg = s.config
    urls = s.alert_receiver_urls
    # Each configured receiver's URL, a secret Output of its own (load() refused a receiver without one).
    receiver_urls = ({r.name: urls.apply(lambda m, n=r.name: (m or {}).get(n, ""))  # type: ignore[misc]
                      for r in cfg.observability.alertmanager.receivers} if urls is not None else {})
    return ObservabilityArgs(
        settings=arguments.spec_of(cfg.observability), tiers=[arguments.spec_of(t) for t in cfg.tiers],
        storage_class=cluster.retained_block_storage_class if cfg.protect else cluster.block_storage_class,
        replica_prices=replica_prices(cfg),
        fallback_prices={t.name: p for t in cfg.tiers if t.fallback is not None
                         for p in [throughput.managed_price(cfg, t.name)] if p is not None},
        system_node_selector=cluster.system_node_selector, alert_receiver_urls=receiver_urls)  # type: ignore[typeddict-item]


def tracing(s: StackSettings, cluster: Any) -> Optional[TracingArgs]:
    """The collector's args, or None without ``observability.tracing.enabled``."""
    cfg = s.config
    t = cfg.observability.tracing
    if not t.enabled:
        return None
    return TracingArgs(export_endpoint=t.otlp_endpoint or "", system_node_selector=cluster.system_node_selector,
                       node_cidrs=[cfg.cluster.vpc_cidr])


def weight_mirror(s: StackSettings, cluster: Any) -> Optional[WeightMirrorArgs]:
    """The S3 weight mirror's args when any tier loads from it (``weightsFrom: nvme`` or ``s3``), else None."""
    cfg = s.config
    if not storage.uses_mirror([t.weights_from for t in cfg.tiers]):
        return None
    return WeightMirrorArgs(region=s.region, name_prefix=cfg.cluster_name, vpc_id=cluster.vpc_id,
                            route_table_ids=cluster.private_route_table_ids, protect=cfg.protect,
                            force_destroy=not cfg.protect, environment=cfg.environment, tags=cfg.cluster.tags)


def model_tier(s: StackSettings, t: TierConfig, cluster: Any, secrets: Any, gpu: Any, collector: Any,
               gateway_clusters: list[str], mirror: Any = None) -> ModelTierArgs:
    cfg, models = s.config, s.lock.models
    return ModelTierArgs(
        weight_mirror={"bucket_name": mirror.bucket_name, "bucket_arn": mirror.bucket_arn, "region": s.region,
                       "cluster_name": cluster.cluster_name, "name_prefix": cfg.cluster_name}
        if mirror is not None and t.weights_from != "efs" else None,
        tier=arguments.spec_of(t), lock=lock_spec(models[t.model_id]),  # type: ignore[typeddict-item]
        candidate_lock=lock_spec(models[t.candidate.model_id or t.model_id]) if t.candidate else None,  # type: ignore[typeddict-item]
        instance_types=cfg.gpu_classes[t.gpu_class].instance_types,
        allowed_licenses=cfg.model_policy.allowed_licenses, storage_class=cluster.weights_storage_class,
        hf_token_secret=secrets.hf_token_k8s_secret,
        # The weight-sync Jobs run on their own Karpenter CPU NodePool, not the system nodes.
        sync_node_selector=gpu.sync_scheduling["nodeSelector"], sync_tolerations=gpu.sync_scheduling["tolerations"],
        otlp_endpoint=collector.otlp_endpoint if collector else None,
        admit_benchmark=t.name in cfg.benchmark.tiers, gateway_clusters=gateway_clusters)


def benchmark(s: StackSettings, t: TierConfig, cluster: Any) -> BenchmarkArgs:
    return BenchmarkArgs(tier=arguments.spec_of(t), releases=benchmark_manifests.release_specs(t, s.lock.models),  # type: ignore[typeddict-item]
                         settings=arguments.spec_of(s.config.benchmark), storage_class=cluster.weights_storage_class,
                         node_selector=cluster.system_node_selector)


def evaluation(s: StackSettings, t: TierConfig, cluster: Any) -> EvaluationArgs:
    cfg = s.config
    es = t.eval.eval_set if t.eval is not None else None
    return EvaluationArgs(tier=arguments.spec_of(t), releases=eval_manifests.release_specs(t, s.lock.models),  # type: ignore[typeddict-item]
                          run_id=cfg.benchmark.run_id, benchmark_seconds=benchmark_manifests.run_seconds(cfg.benchmark),  # type: ignore[typeddict-item]
                          eval_set=Path(es.file).read_text() if es is not None and es.file else None,
                          node_selector=cluster.system_node_selector)


def warm_capacity(s: StackSettings) -> Optional[WarmCapacityArgs]:
    """The placeholders' args (each class with ``warmNodes``, the engine images its tiers run), or None."""
    cfg = s.config
    images = warm.class_images(cfg.gpu_classes, cfg.tiers, lambda t, rel: (
        (t.candidate.image if rel == "candidate" and t.candidate.image else None)
        or engines.image(release_engine(t, rel))))
    return WarmCapacityArgs(gpu_classes=gpu_classes(s), images=images) if images else None


def load_balancer_controller(s: StackSettings, cluster: Any) -> LoadBalancerControllerArgs:
    cfg = s.config
    return LoadBalancerControllerArgs(cluster_name=cluster.cluster_name, vpc_id=cluster.vpc_id, region=s.region,
                                      name_prefix=cfg.cluster_name, system_node_selector=cluster.system_node_selector,
                                      environment=cfg.environment, tags=cfg.cluster.tags)


def gateway(s: StackSettings, cluster: Any, collector: Any) -> GatewayArgs:
    cfg = s.config
    trace_to = (TraceTarget(name=collector.service_name, namespace=collector.namespace,
                            port=tracing_manifests.GRPC_PORT) if collector else None)
    return GatewayArgs(settings=arguments.spec_of(cfg.gateway), tiers=[arguments.spec_of(t) for t in cfg.tiers],
                       tenants=[arguments.spec_of(t) for t in cfg.tenants],
                       system_node_selector=cluster.system_node_selector, node_cidrs=[cfg.cluster.vpc_cidr],
                       trace_to=trace_to, trace_sampling_percent=cfg.observability.tracing.sampling_percent,
                       trace_collector_labels=tracing_manifests.POD_LABELS if collector else {})


def dns(s: StackSettings, cluster: Any) -> Optional[DnsArgs]:
    """ExternalDNS's args for ``gateway.dns``, or None (the record is then created by hand)."""
    cfg = s.config
    zone = cfg.gateway.dns
    if zone is None:
        return None
    return DnsArgs(cluster_name=cluster.cluster_name, name_prefix=cfg.cluster_name, region=s.region,
                   hosted_zone_id=zone.hosted_zone_id, zone_name=zone.zone_name, hostnames=[cfg.gateway.hostname],
                   txt_owner_id=zone.txt_owner_id or cfg.cluster_name,
                   system_node_selector=cluster.system_node_selector, node_cidrs=[cfg.cluster.vpc_cidr],
                   environment=cfg.environment, tags=cfg.cluster.tags)
