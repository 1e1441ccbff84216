"""The stack configuration schema: one typed model for everything in ``stacks/Pulumi.<stack>.yaml``.

Pure module (no Pulumi resources). ``parse()`` validates a mapping of config keys once, before any
resource is registered, and raises ``ConfigError`` listing every problem by key path with a hint, e.g.::

    tiers[1].maxTotalTokens: must be greater than maxInputTokens (4096); raise maxTotalTokens or lower maxInputTokens

Keys are camelCase (as Pulumi config usually is); unknown keys are errors so typos cannot pass silently;
defaults live here and nowhere else. The config reference in docs/config.md is generated from the field
descriptions below (``python -m llm_tiers.cli.config_docs``) and a test keeps it current.

Secret values (the Hugging Face token, alert receiver URLs) are not part of this model: they are read
with ``pulumi.Config.get_secret`` in ``components.stack_config`` and stay ``Output`` secrets.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.cluster import system_capacity
from llm_tiers.tiers import engines
from llm_tiers.tiers import vllm as vllm_engine
from llm_tiers import versions
from llm_tiers.tracing.rules import otlp_grpc_endpoint_problem  # noqa: F401  (moved; the observability check calls it)

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
from llm_tiers.config.issues import (ConfigError, ConfigIssue, _allowed_keys, _path_sort_key, _shown_input,  # noqa: F401
                                     issue_from_pydantic)


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


# Errors: ConfigIssue, ConfigError and the pydantic-error wording live in llm_tiers.config.issues (re-exported).


def _issue_from_pydantic(err: Mapping[str, Any]) -> ConfigIssue:
    return issue_from_pydantic(err, StackConfig)


# --------------------------------------------------------------------------------------------------
# Cross-field checks (everything a type alone cannot say)
# --------------------------------------------------------------------------------------------------


def _check_cidrs(values: Iterable[str], path: str) -> list[ConfigIssue]:
    """Each entry a CIDR, none listed twice (as the same network, however written)."""
    issues = []
    seen: dict[Any, int] = {}
    for i, value in enumerate(values):
        try:
            net = ipaddress.ip_network(_cidr(value), strict=False)
        except ValueError as exc:
            issues.append(ConfigIssue(f"{path}[{i}]", f"{value!r} is {exc}"))
            continue
        if net in seen:
            issues.append(ConfigIssue(f"{path}[{i}]", f"{value} is listed twice (first at {path}[{seen[net]}]); "
                                      "remove one"))
        seen.setdefault(net, i)
    return issues


def _check_cluster(c: ClusterConfig) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    if c.kubernetes_version not in versions.SUPPORTED_KUBERNETES_VERSIONS:
        issues.append(ConfigIssue(
            "cluster.kubernetesVersion",
            f"{c.kubernetes_version!r} is not supported; use one of "
            f"{', '.join(versions.SUPPORTED_KUBERNETES_VERSIONS)} (add-on pins live in components/llm_tiers/versions.py)"))
    try:
        vpc = ipaddress.IPv4Network(_cidr(c.vpc_cidr))
        if not 16 <= vpc.prefixlen <= 20:
            issues.append(ConfigIssue("cluster.vpcCidr", f"{c.vpc_cidr} is a /{vpc.prefixlen}; use a /16 to /20 "
                                      "so every zone gets a large private subnet for pod IPs"))
        if not vpc.is_private:
            issues.append(ConfigIssue("cluster.vpcCidr", f"{c.vpc_cidr} is not a private (RFC 1918) range"))
    except ValueError as exc:
        issues.append(ConfigIssue("cluster.vpcCidr", f"{c.vpc_cidr!r} is {exc}"))
    issues += _check_cidrs(c.public_access_cidrs, "cluster.publicAccessCidrs")
    try:
        vpc_net = ipaddress.ip_network(_cidr(c.vpc_cidr), strict=False)
        for i, value in enumerate(c.public_access_cidrs):
            try:
                net = ipaddress.ip_network(_cidr(value), strict=False)
            except ValueError:
                continue
            if net.version == vpc_net.version and net.overlaps(vpc_net):
                issues.append(ConfigIssue(f"cluster.publicAccessCidrs[{i}]", (
                    f"{value} overlaps the VPC ({c.vpc_cidr}): the public endpoint sees public source addresses "
                    "only (traffic from inside the VPC uses the private endpoint), so this entry admits no one it "
                    "means to; list the public CIDRs of your office / VPN / NAT gateways")))
    except ValueError:
        pass
    if c.endpoint_public_access and not c.public_access_cidrs:
        issues.append(ConfigIssue("cluster.publicAccessCidrs", "required when endpointPublicAccess is true: list "
                                  "the CIDRs allowed to reach the API (the AWS default is the whole internet)"))
    if not c.endpoint_public_access and c.public_access_cidrs:
        issues.append(ConfigIssue("cluster.publicAccessCidrs", "has no effect while endpointPublicAccess is false; "
                                  "remove it or set endpointPublicAccess: true"))
    if c.availability_zones and len(set(c.availability_zones)) != len(c.availability_zones):
        issues.append(ConfigIssue("cluster.availabilityZones", "lists a zone twice"))
    if c.log_retention_days not in LOG_RETENTION_DAYS:
        issues.append(ConfigIssue("cluster.logRetentionDays", f"{c.log_retention_days} is not a CloudWatch "
                                  f"retention; use one of {', '.join(map(str, LOG_RETENTION_DAYS))}"))
    ng = c.system_node_group
    if not ng.min_size <= ng.desired_size <= ng.max_size:
        issues.append(ConfigIssue("cluster.systemNodeGroup.desiredSize",
                                  f"must be between minSize ({ng.min_size}) and maxSize ({ng.max_size}); "
                                  f"got {ng.desired_size}"))
    if c.kubeconfig_role_arn and c.kubeconfig_role_arn not in c.admin_role_arns:
        issues.append(ConfigIssue("cluster.kubeconfigRoleArn", "must be one of adminRoleArns, or the Kubernetes "
                                  "provider cannot manage the cluster"))
    if len(set(c.admin_role_arns)) != len(c.admin_role_arns):
        issues.append(ConfigIssue("cluster.adminRoleArns", "lists a role twice"))
    if len(set(c.control_plane_log_types)) != len(c.control_plane_log_types):
        issues.append(ConfigIssue("cluster.controlPlaneLogTypes", "lists a log type twice"))
    return issues


def _check_gpu_class(name: str, cls: GpuClassConfig) -> list[ConfigIssue]:
    path = f"gpuClasses.{name}.instanceTypes"
    issues: list[ConfigIssue] = []
    if len(set(cls.instance_types)) != len(cls.instance_types):
        issues.append(ConfigIssue(path, "lists an instance type twice"))
    unknown = False
    for j, itype in enumerate(cls.instance_types):
        try:
            gpu_catalog.lookup(itype)
        except gpu_catalog.UnknownInstanceType as exc:
            unknown = True
            issues.append(ConfigIssue(f"{path}[{j}]", f"{exc.args[0]}; add it to components/llm_tiers/gpu/catalog.py "
                                      "with its GPU model, count, memory and price"))
    if not unknown:
        try:
            gpu_catalog.class_gpu(list(cls.instance_types))
        except ValueError as exc:
            issues.append(ConfigIssue(path, f"{exc}; split it into one class per GPU model"))
    return issues


def _duplicates(names: list[str]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        seen.setdefault(n, []).append(i)
    return {n: idx for n, idx in seen.items() if len(idx) > 1}


def _check_tier(i: int, t: TierConfig, gpu_classes: Optional[Mapping[str, GpuClassConfig]]) -> list[ConfigIssue]:
    p = f"tiers[{i}]"
    issues: list[ConfigIssue] = []
    if t.max_total_tokens <= t.max_input_tokens:
        issues.append(ConfigIssue(f"{p}.maxTotalTokens", f"must be greater than maxInputTokens "
                                  f"({t.max_input_tokens}); raise maxTotalTokens or lower maxInputTokens"))
    if t.max_batch_prefill_tokens is not None and t.max_batch_prefill_tokens < t.max_input_tokens:
        issues.append(ConfigIssue(f"{p}.maxBatchPrefillTokens", f"must be at least maxInputTokens "
                                  f"({t.max_input_tokens}), or a full prompt can never be prefilled"))
    if gpu_classes is None:
        pass  # gpuClasses itself is invalid and already reported
    elif t.gpu_class not in gpu_classes:
        known = ", ".join(sorted(gpu_classes)) or "none"
        issues.append(ConfigIssue(f"{p}.gpuClass", f"unknown GPU class {t.gpu_class!r}; defined in gpuClasses: {known}"))
    else:
        cls = gpu_classes[t.gpu_class]
        known = [it for it in cls.instance_types if it in gpu_catalog.CATALOG]
        if known and gpu_catalog.max_gpus_per_node(known) < t.gpus_per_replica:
            issues.append(ConfigIssue(f"{p}.gpusPerReplica", f"{t.gpus_per_replica} GPUs per replica, but the largest "
                                      f"instance type of gpuClasses.{t.gpu_class} has "
                                      f"{gpu_catalog.max_gpus_per_node(known)}; add a larger instance type to the "
                                      "class or use fewer GPUs"))
        need = t.gpus_per_replica * max(t.replicas.max, 1)
        if need > cls.max_gpus:
            issues.append(ConfigIssue(f"{p}.replicas.max", f"{t.replicas.max} replicas x {t.gpus_per_replica} GPU(s) "
                                      f"= {need} GPUs exceeds gpuClasses.{t.gpu_class}.maxGpus ({cls.max_gpus}); "
                                      "lower replicas.max or raise maxGpus"))
    candidate_engine = release_engine(t, "candidate") if t.candidate is not None else None
    tgi_releases = [e for e in (t.engine, candidate_engine) if e == "tgi"]
    if t.quantize and t.dtype and not t.quantize.startswith("bitsandbytes") and tgi_releases:
        issues.append(ConfigIssue(f"{p}.dtype", f"cannot be combined with quantize: {t.quantize} (TGI only allows "
                                  "dtype with bitsandbytes*); remove dtype"))
    for where, engine in ((f"{p}.engine", t.engine), (f"{p}.candidate.engine", candidate_engine)):
        if engine == "vllm" and t.quantize in vllm_engine.UNSUPPORTED:
            issues.append(ConfigIssue(f"{p}.quantize", f"{t.quantize} is a TGI quantization that vLLM 0.33 does not "
                                      f"have ({where} is vllm); remove quantize, use a checkpoint quantized with "
                                      "awq, gptq, compressed-tensors or fp8, quantize: fp8, or engine: tgi"))
    if t.max_output_tokens is not None and t.max_output_tokens >= t.max_total_tokens:
        issues.append(ConfigIssue(f"{p}.maxOutputTokens", f"must be below maxTotalTokens ({t.max_total_tokens}): "
                                  "the prompt needs at least one token"))
    if t.replicas.min > t.replicas.max:
        issues.append(ConfigIssue(f"{p}.replicas.min", f"must not exceed replicas.max ({t.replicas.max})"))
    if t.replicas.min == 0 and not t.sporadic:
        issues.append(ConfigIssue(f"{p}.replicas.min", "0 scales the tier to zero; set sporadic: true to allow it, "
                                  "or use at least 1"))
    if t.sporadic and t.replicas.min != 0:
        issues.append(ConfigIssue(f"{p}.sporadic", f"a sporadic tier scales to zero; set replicas.min to 0 "
                                  f"(got {t.replicas.min})"))
    if t.serve == "candidate" and t.candidate is None:
        issues.append(ConfigIssue(f"{p}.serve", "is `candidate` but the tier has no candidate release"))
    # The live release's flags, and the candidate's (a candidate is deployed like the live release, so it is
    # checked like it: a guarded flag there would otherwise fail the engine argument builder mid-deploy).
    # A candidate without extraArgs inherits the live release's, so they are checked against its engine too.
    flag_lists = [(f"{p}.extraArgs", t.extra_args, t.engine, True)]
    if t.candidate is not None:
        if t.candidate.extra_args is not None:
            flag_lists.append((f"{p}.candidate.extraArgs", t.candidate.extra_args, candidate_engine, True))
        elif candidate_engine != t.engine:
            flag_lists.append((f"{p}.extraArgs", t.extra_args, candidate_engine, False))
    for where, extra, engine, first_time in flag_lists:
        for j, arg in enumerate(extra):
            if first_time and not arg.startswith("--"):
                issues.append(ConfigIssue(f"{where}[{j}]", f"{arg!r} is not a flag; write it as --flag or --flag=value"))
        for j, flag in engines.guarded_extra_args(engine, extra):
            issues.append(ConfigIssue(f"{where}[{j}]", f"{flag} is set by the platform from the tier's config "
                                      "(token limits, shards, quantization, model, ports); use the tier keys instead"))
        for j, flag in engines.foreign_extra_args(engine, extra):
            other = "vllm" if engine == "tgi" else "tgi"
            issues.append(ConfigIssue(f"{where}[{j}]", f"{flag} is a {other} flag, but this release runs {engine}; "
                                      f"remove it, or give the {engine} release its own extraArgs"))
        # Parsed as the engine parses it (vLLM: _ = -, dotted keys, argparse prefixes; TGI: clap's exact names):
        # an option the engine does not have stops it at start-up.
        for j, why in engines.unknown_extra_args(engine, extra):
            if extra[j].startswith("--"):
                issues.append(ConfigIssue(f"{where}[{j}]", f"{why}; remove it or fix its spelling"))
    if t.candidate and t.candidate.image and not _has_explicit_tag(t.candidate.image):
        issues.append(ConfigIssue(f"{p}.candidate.image", "must name an explicit tag (not latest), e.g. "
                                  f"{versions.IMAGES[candidate_engine or 'tgi']}"))
    elif t.candidate and t.candidate.image:
        problem = engines.image_engine_problem(candidate_engine or t.engine, t.candidate.image)
        if problem:
            issues.append(ConfigIssue(f"{p}.candidate.image", problem))
    return issues


def release_engine(t: TierConfig, release: str) -> str:
    """The engine a tier's release runs: the candidate's own ``engine``, else the tier's."""
    if release == "candidate" and t.candidate is not None and t.candidate.engine is not None:
        return t.candidate.engine
    return t.engine


def gpu_demand(tiers: Sequence[TierConfig], gpu_class: str) -> list[tuple[str, int]]:
    """(what, GPUs) the class must hold at once, worst case: every release of every tier on it at
    ``replicas.max``, plus one surge replica per release (rollouts use ``maxSurge: 1``, ``maxUnavailable: 0``,
    and an image or flag change rolls every tier at once)."""
    out = []
    for t in tiers:
        if t.gpu_class != gpu_class:
            continue
        releases = 2 if t.candidate is not None else 1
        gpus = releases * (max(t.replicas.max, 1) + 1) * t.gpus_per_replica
        out.append((f"{t.name}: {releases} release(s) x ({t.replicas.max} + 1 surge) x {t.gpus_per_replica} GPU(s)",
                    gpus))
    return out


def _check_gpu_budget(name: str, cls: GpuClassConfig, tiers: Sequence[TierConfig]) -> list[ConfigIssue]:
    demand = gpu_demand(tiers, name)
    need = sum(g for _, g in demand)
    if need <= cls.max_gpus:
        return []
    return [ConfigIssue(f"gpuClasses.{name}.maxGpus", f"{cls.max_gpus} GPUs cannot hold a rollout at replicas.max: "
                        f"{'; '.join(w for w, _ in demand)} = {need} GPUs (Karpenter launches nothing past the "
                        f"NodePool's limit, so the surge replica would stay Pending and the update time out); "
                        f"raise maxGpus to {need} or lower replicas.max")]


def _check_warm_nodes(name: str, cls: GpuClassConfig, tiers: Sequence[TierConfig]) -> list[ConfigIssue]:
    """Warm capacity (gpu/warm.py) holds whole nodes of the smallest type, within maxGpus, for the class's tiers."""
    if not cls.warm_nodes:
        return []
    path = f"gpuClasses.{name}.warmNodes"
    if not any(t.gpu_class == name for t in tiers):
        return [ConfigIssue(path, f"no tier runs on class {name!r}, so its warm nodes would wait for nothing; "
                                  "remove warmNodes or point a tier's gpuClass at it")]
    try:
        per_node = min(gpu_catalog.lookup(t).gpu_count for t in cls.instance_types)
    except gpu_catalog.UnknownInstanceType:
        return []  # reported at instanceTypes
    if cls.warm_nodes * per_node > cls.max_gpus:
        return [ConfigIssue(path, f"{cls.warm_nodes} warm node(s) x {per_node} GPU(s) exceed maxGpus "
                                  f"({cls.max_gpus}): Karpenter would launch only part of them; lower warmNodes or "
                                  "raise maxGpus")]
    return []


def _check_system_capacity(cfg: StackConfig) -> list[ConfigIssue]:
    """Every system pod must fit on desiredSize nodes of each listed instance type (no autoscaler grows the
    system node group; components/llm_tiers/cluster/system_capacity.py has the requests and the allocatable formula)."""
    path = "cluster.systemNodeGroup"
    issues: list[ConfigIssue] = []
    for i, itype in enumerate(cfg.cluster.system_node_group.instance_types):
        if system_capacity.lookup(itype) is None:
            families = sorted({name.split(".")[0] for name in system_capacity.CATALOG})
            issues.append(ConfigIssue(f"{path}.instanceTypes[{i}]", (
                f"{itype!r} is not in the system instance catalog, so the system pods cannot be checked against it; "
                f"use a {'/'.join(families)} size from large to 8xlarge, or add it to CATALOG in "
                "components/llm_tiers/cluster/system_capacity.py with its vCPUs, memory and ENI limits")))
    for fit in system_capacity.fits_for(cfg):
        if not fit.fits:
            key, message = system_capacity.misfit_message(cfg, fit)
            issues.append(ConfigIssue(f"{path}.{key}", message))
    return issues


def _has_explicit_tag(image: str) -> bool:
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("", "latest")


def _check_benchmark(cfg: StackConfig) -> list[ConfigIssue]:
    b, issues = cfg.benchmark, []
    by_name = {t.name: t for t in cfg.tiers}
    if b.tiers and not b.run_id:
        issues.append(ConfigIssue("benchmark.runId", "required when benchmark.tiers is set: name the run (e.g. "
                                  "`2026-12-01a`); a new runId runs the benchmark again"))
    for j, name in enumerate(b.tiers):
        t = by_name.get(name)
        if t is None:
            issues.append(ConfigIssue(f"benchmark.tiers[{j}]", f"unknown tier {name!r}; tiers are: "
                                      f"{', '.join(by_name) or 'none'}"))
            continue
        if b.prompt_tokens > t.max_input_tokens:
            issues.append(ConfigIssue("benchmark.promptTokens", f"{b.prompt_tokens} exceeds {name}'s maxInputTokens "
                                      f"({t.max_input_tokens}): every request would be refused; lower promptTokens"))
        if b.prompt_tokens + b.output_tokens > t.max_total_tokens:
            issues.append(ConfigIssue("benchmark.outputTokens", f"promptTokens + outputTokens = "
                                      f"{b.prompt_tokens + b.output_tokens} exceeds {name}'s maxTotalTokens "
                                      f"({t.max_total_tokens}); lower outputTokens"))
        if b.run_id:
            longest = f"{name}-candidate-bench-{b.run_id}"
            if len(longest) > 63:
                issues.append(ConfigIssue("benchmark.runId", f"the Job name {longest!r} would be {len(longest)} "
                                          "characters, over Kubernetes' 63; use a shorter runId"))
    for name, idx in _duplicates(list(b.tiers)).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"benchmark.tiers[{i}]", f"lists {name!r} twice"))
    return issues


def _check_tenants(tenants: Sequence[Any], tier_names: Sequence[str]) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for name, idx in _duplicates([t.name for t in tenants]).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"tenants[{i}].name", f"duplicate tenant name {name!r} (first at tenants[{idx[0]}])"))
    for i, tenant in enumerate(tenants):
        if tenant.name.endswith(PREVIOUS_KEY_SUFFIX):
            issues.append(ConfigIssue(f"tenants[{i}].name", f"must not end with {PREVIOUS_KEY_SUFFIX!r}: the gateway "
                                      "names a tenant's previous API key that way; pick another name"))
        for j, tier in enumerate(tenant.tiers):
            if tier not in tier_names:
                issues.append(ConfigIssue(f"tenants[{i}].tiers[{j}]", f"unknown tier {tier!r}; tiers are: "
                                          f"{', '.join(tier_names) or 'none'}"))
    return issues


def _check_gateway(gw: GatewayConfig) -> list[ConfigIssue]:
    issues = _check_cidrs(gw.source_cidrs, "gateway.sourceCidrs")
    if gw.load_balancer_scheme == "internet-facing" and not gw.source_cidrs:
        issues.append(ConfigIssue("gateway.sourceCidrs", "required when loadBalancerScheme is internet-facing "
                                  "(use 0.0.0.0/0 explicitly to accept any client)"))
    if gw.tls.mode == "acm" and not gw.tls.certificate_arn:
        issues.append(ConfigIssue("gateway.tls.certificateArn", "required with tls.mode: acm"))
    if gw.tls.mode == "acm" and gw.tls.issuer:
        issues.append(ConfigIssue("gateway.tls.issuer", "only used with tls.mode: cert-manager; remove it"))
    if gw.tls.mode == "cert-manager" and not gw.tls.issuer:
        issues.append(ConfigIssue("gateway.tls.issuer", "required with tls.mode: cert-manager (the name of an "
                                  "existing ClusterIssuer, or Issuer in the gateway's namespace)"))
    if gw.dns is not None and not (gw.hostname == gw.dns.zone_name or gw.hostname.endswith(f".{gw.dns.zone_name}")):
        issues.append(ConfigIssue("gateway.dns.zoneName", f"gateway.hostname {gw.hostname} is not in zone "
                                  f"{gw.dns.zone_name}; set zoneName (and hostedZoneId) to the zone that holds the "
                                  "hostname, or change the hostname"))
    if gw.tls.mode == "cert-manager" and gw.tls.certificate_arn:
        issues.append(ConfigIssue("gateway.tls.certificateArn", "only used with tls.mode: acm (with cert-manager, "
                                  "Envoy terminates TLS with the issued certificate); remove it"))
    return issues


def _check_cost(cost: Any, tier_names: Sequence[str]) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for name, price in cost.managed_price_by_tier.items():
        if name not in tier_names:
            issues.append(ConfigIssue(f"cost.managedPriceByTier.{name}", f"unknown tier {name!r}; tiers are: "
                                      f"{', '.join(tier_names) or 'none'}"))
        elif price <= 0:
            issues.append(ConfigIssue(f"cost.managedPriceByTier.{name}", f"{price} is not a price; give USD per 1M "
                                      "output tokens, greater than 0"))
    return issues


def _check_observability(obs: Any) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    tracing = obs.tracing
    if tracing.enabled and not tracing.otlp_endpoint:
        issues.append(ConfigIssue("observability.tracing.otlpEndpoint", "required when tracing is enabled"))
    for name, idx in _duplicates([r.name for r in obs.alertmanager.receivers]).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"observability.alertmanager.receivers[{i}].name", f"duplicate receiver {name!r}"))
    if tracing.otlp_endpoint:
        problem = otlp_grpc_endpoint_problem(tracing.otlp_endpoint)
        if problem:
            issues.append(ConfigIssue("observability.tracing.otlpEndpoint", problem))
    return issues


# otlp_grpc_endpoint_problem: the tracing domain's rule (llm_tiers.tracing.rules).


def _check_fallbacks(tiers: Sequence[TierConfig]) -> list[ConfigIssue]:
    """A fallback's model name must differ from the tier's own model names: AI Gateway reports a request served
    by the fallback under the overridden model (``gen_ai_request_model``), which is how usage tells the two apart
    (observability/usage.py)."""
    issues = []
    names = {t.name for t in tiers}
    for i, t in enumerate(tiers):
        if t.fallback is not None and f"{t.name}-fallback" in names:
            issues.append(ConfigIssue(f"tiers[{i}].fallback", f"the fallback's gateway objects are named "
                                      f"{t.name}-fallback, which is another tier's name; rename that tier"))
        if t.fallback is not None and t.fallback.model in (t.name, *t.aliases):
            issues.append(ConfigIssue(f"tiers[{i}].fallback.model", f"{t.fallback.model!r} is also one of the tier's "
                                      "own model names; usage through the fallback is told apart by the provider's "
                                      "model name, so give the provider's exact name (or rename the alias)"))
    return issues


def _check_features(cfg: StackConfig) -> list[ConfigIssue]:
    """``gateway.features``: unique names, none of the values the gateway writes itself."""
    issues = []
    for j, name in enumerate(cfg.gateway.features):
        if name in ("other", "none"):
            issues.append(ConfigIssue(f"gateway.features[{j}]", f"{name!r} is reserved: the gateway sends it for an "
                                      "unlisted (`other`) or missing (`none`) x-llm-feature header; rename it"))
    for name, idx in _duplicates(list(cfg.gateway.features)).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"gateway.features[{i}]", f"lists {name!r} twice"))
    return issues


def _check_eval(cfg: StackConfig) -> list[ConfigIssue]:
    """A tier's ``eval`` and ``gate`` (components/llm_tiers/evaluation/): the eval runs per benchmark run, on
    the benchmark's results volume; its generation budgets fit the tier; its eval set is readable."""
    from pathlib import Path

    from llm_tiers.evaluation.scripts import eval_set as eval_set_script

    issues: list[ConfigIssue] = []
    for i, t in enumerate(cfg.tiers):
        p, ev = f"tiers[{i}]", t.eval
        if ev is None:
            if t.gate.override is not None:
                issues.append(ConfigIssue(f"{p}.gate.override", "the tier has no `eval`, so there is no gate to "
                                          "override; remove it"))
            continue
        if t.name not in cfg.benchmark.tiers:
            issues.append(ConfigIssue(f"{p}.eval", f"add {t.name!r} to benchmark.tiers: the eval runs per "
                                      "benchmark.runId and writes beside the benchmark's results, which the gate "
                                      "also reads"))
        if ev.lm_eval is None and ev.eval_set is None:
            issues.append(ConfigIssue(f"{p}.eval", "set `lmEval` (harness tasks) and/or `evalSet` (your eval set)"))
        budget = t.max_output_tokens or (t.max_total_tokens - t.max_input_tokens)
        if ev.lm_eval is not None and ev.lm_eval.max_gen_tokens > budget:
            issues.append(ConfigIssue(f"{p}.eval.lmEval.maxGenTokens", f"{ev.lm_eval.max_gen_tokens} exceeds the "
                                      f"tier's output budget ({budget}): the gateway and engine refuse such requests; "
                                      "lower it"))
        es = ev.eval_set
        if es is None:
            continue
        if es.max_tokens > budget:
            issues.append(ConfigIssue(f"{p}.eval.evalSet.maxTokens", f"{es.max_tokens} exceeds the tier's output "
                                      f"budget ({budget}); lower it"))
        if bool(es.file) == bool(es.config_map):
            issues.append(ConfigIssue(f"{p}.eval.evalSet", "set exactly one of `file` (JSONL in this repository) and "
                                      "`configMap` (an existing ConfigMap)"))
        elif es.file:
            try:
                text = Path(es.file).read_text()
            except OSError as exc:
                issues.append(ConfigIssue(f"{p}.eval.evalSet.file", f"cannot read {es.file!r} ({exc.strerror}); give "
                                          "a path relative to the project directory"))
                continue
            try:
                eval_set_script.read_eval_set(text, es.scoring)
            except ValueError as exc:
                issues.append(ConfigIssue(f"{p}.eval.evalSet.file", f"{es.file}: {exc}"))
            if len(text.encode()) > 900_000:
                issues.append(ConfigIssue(f"{p}.eval.evalSet.file", f"{es.file} is over 900 kB; a ConfigMap holds "
                                          "1 MiB: trim it or serve it from your own ConfigMap"))
    return issues


def _check_semantics(cfg: StackConfig) -> list[ConfigIssue]:
    issues = _check_cluster(cfg.cluster)
    tier_names = [t.name for t in cfg.tiers]
    for name, idx in _duplicates(tier_names).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"tiers[{i}].name", f"duplicate tier name {name!r} (first at tiers[{idx[0]}])"))
    for i, t in enumerate(cfg.tiers):
        issues += _check_tier(i, t, cfg.gpu_classes)
    # The single base URL routes by `model`: every name and alias answers for one tier only.
    seen: dict[str, str] = {}
    for i, t in enumerate(cfg.tiers):
        for j, alias in enumerate(t.aliases):
            if alias in seen or alias in tier_names:
                owner = seen.get(alias, alias)
                issues.append(ConfigIssue(f"tiers[{i}].aliases[{j}]", f"model name {alias!r} already names tier "
                                          f"{owner!r}; each model name must select one tier"))
            seen[alias] = t.name
    issues += _check_fallbacks(cfg.tiers)
    # The gateway splits the tiers over as many routes and policies as the per-object limits need; what one
    # tier alone would put over a limit is refused here (gateway/aigw.py, route groups).
    from llm_tiers.gateway import aigw  # the gateway's builders import this module
    issues += [ConfigIssue(path, message) for path, message in aigw.limit_issues(cfg.tiers, cfg.tenants, cfg.gateway)]
    for name, cls in cfg.gpu_classes.items():
        issues += _check_gpu_class(name, cls)
        issues += _check_gpu_budget(name, cls, cfg.tiers)
        issues += _check_warm_nodes(name, cls, cfg.tiers)
    issues += _check_tenants(cfg.tenants, tier_names)
    issues += _check_gateway(cfg.gateway)
    issues += _check_system_capacity(cfg)
    issues += _check_benchmark(cfg)
    issues += _check_cost(cfg.cost, tier_names)
    issues += _check_observability(cfg.observability)
    issues += _check_eval(cfg)
    issues += _check_features(cfg)
    return issues


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def top_level_keys() -> list[str]:
    """Every key the project's config namespace accepts (schema keys and secret keys)."""
    return _allowed_keys(StackConfig) + list(SECRET_KEYS)


def parse(values: Mapping[str, Any], stack_file: str = "the stack config") -> StackConfig:
    """Validate the project's config values (keys without the ``<project>:`` prefix).

    Secret keys are accepted and ignored here. Raises ``ConfigError`` with every problem found.
    """
    issues: list[ConfigIssue] = []
    allowed = top_level_keys()
    data = {}
    for key, value in values.items():
        if key in SECRET_KEYS:
            continue
        if key not in allowed:
            guess = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean `{guess[0]}`? " if guess else ""
            issues.append(ConfigIssue(key, f"unknown config key; {hint}known keys: {', '.join(allowed)}"))
            continue
        data[key] = value
    try:
        cfg = StackConfig.model_validate(data)
    except ValidationError as exc:
        issues += [_issue_from_pydantic(e) for e in exc.errors()]
        # Cross-field checks still run on each section that validated on its own, so one run reports as
        # much as possible; the sections that validated go on to the later layers (ConfigError.partial).
        more, partial = _partial_semantics(data)
        raise ConfigError([*issues, *more], stack_file, partial) from None
    issues += _check_semantics(cfg)
    if issues:
        raise ConfigError(issues, stack_file, cfg)
    return cfg


def plannable_gpu_classes(gpu_classes: Mapping[str, GpuClassConfig]) -> dict[str, GpuClassConfig]:
    """The classes the capacity planner can use: every instance type in the catalog, one GPU model."""
    return {n: c for n, c in gpu_classes.items() if not _check_gpu_class(n, c)}


def _partial_semantics(data: Mapping[str, Any]) -> tuple[list[ConfigIssue], StackConfig]:
    """The section-local checks for the sections that are valid on their own, and those sections as a
    partial config (``model_construct``: nothing more is validated) for the later layers."""
    issues: list[ConfigIssue] = []
    sections: dict[str, Any] = {}
    for field_name, field in StackConfig.model_fields.items():
        key = field.alias or field_name
        if field_name in ("gpu_classes", "tiers"):
            continue
        try:
            adapter = TypeAdapter(field.annotation)
            value = data[key] if key in data else field.get_default(call_default_factory=True)
            sections[field_name] = adapter.validate_python(value)
        except (ValidationError, KeyError, TypeError):
            sections[field_name] = None
    if sections.get("cluster") is not None:
        issues += _check_cluster(sections["cluster"])
    gpu_classes: Optional[dict[str, GpuClassConfig]]
    try:
        gpu_classes = _GPU_CLASSES.validate_python(data.get("gpuClasses"))
    except ValidationError:
        gpu_classes = None
    sections["gpu_classes"] = plannable_gpu_classes(gpu_classes or {})
    raw_tiers = data.get("tiers")
    tiers: list[Optional[TierConfig]] = []
    for i, raw in enumerate(raw_tiers if isinstance(raw_tiers, list) else []):
        try:
            tier = TierConfig.model_validate(raw)
        except ValidationError:
            tiers.append(None)
            continue
        issues += _check_tier(i, tier, gpu_classes)
        tiers.append(tier)
    sections["tiers"] = tiers
    # A schema error in one section must not hide a semantic error in another: every section that validated
    # gets its own checks (tier names as the stack file writes them, for the references to tiers).
    raw_names = [r.get("name") for r in (raw_tiers if isinstance(raw_tiers, list) else [])
                 if isinstance(r, dict) and isinstance(r.get("name"), str)]
    for field_name, check in (("tenants", lambda v: _check_tenants(v, raw_names)), ("gateway", _check_gateway),
                              ("cost", lambda v: _check_cost(v, raw_names)), ("observability", _check_observability)):
        if sections.get(field_name) is not None:
            issues += check(sections[field_name])
    # An invalid section stays None (not its default: a default modelPolicy would refuse licenses the stack
    # allows), and the later layers skip what is None.
    return issues, StackConfig.model_construct(**sections)


_GPU_CLASSES = TypeAdapter(dict[Name, GpuClassConfig])


# --------------------------------------------------------------------------------------------------
# Keys outside the project's schema: namespaces, aws:region
# --------------------------------------------------------------------------------------------------

# Commercial AWS regions (Regions and Zones table, AWS General Reference). A region outside this list is
# refused at its key; add one here when AWS opens it (and check that EKS and the GPU types exist there).
AWS_REGIONS = (
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1",
    "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1",
    "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "us-gov-east-1", "us-gov-west-1",
)

# Namespaces a stack file may hold keys of: this program's and the providers' and Pulumi's own.
PROVIDER_NAMESPACES = ("aws", "kubernetes", "random", "pulumi")
# aws provider keys this program or the provider reads (a near-miss of one is an error; others pass).
AWS_PROVIDER_KEYS = (
    "region", "profile", "accessKey", "secretKey", "token", "assumeRole", "assumeRoles",
    "assumeRoleWithWebIdentity", "allowedAccountIds", "forbiddenAccountIds", "defaultTags", "ignoreTags",
    "sharedCredentialsFiles", "sharedConfigFiles", "skipCredentialsValidation", "skipMetadataApiCheck",
    "skipRegionValidation", "skipRequestingAccountId", "maxRetries", "retryMode", "endpoints", "insecure",
    "stsRegion", "s3UsePathStyle", "customCaBundle", "httpProxy", "httpsProxy", "noProxy", "ec2MetadataServiceEndpoint",
    "ec2MetadataServiceEndpointMode", "useFipsEndpoint", "useDualstackEndpoint", "tokenBucketRateLimiterCapacity",
)


def check_config_keys(keys: Iterable[str], project: str) -> list[ConfigIssue]:
    """Keys of a stack's ``config`` that no one would read: in no namespace (``cluster:`` instead of
    ``<project>:cluster``), in a misspelled or unknown namespace (``llm-tier:tenants``), or a near-miss of an
    aws provider key (``aws:regoin``). Pulumi passes such keys along silently, so a stack would lose its
    tenants or its alerting without a word; each is an error naming the key to write instead."""
    issues: list[ConfigIssue] = []
    project_keys = top_level_keys()
    namespaces = (project, *PROVIDER_NAMESPACES)
    for full in keys:
        namespace, sep, key = full.partition(":")
        if not sep:
            guess = full if full in project_keys else next(iter(difflib.get_close_matches(full, project_keys, n=1)), None)
            where = (f"write it as `{project}:{guess}`" if guess else
                     f"config keys are `<namespace>:<key>`; this project's are `{project}:<key>` "
                     f"({', '.join(project_keys)})")
            issues.append(ConfigIssue(full, f"has no namespace prefix, so the program never reads it; {where}"))
            continue
        if namespace == project:
            continue  # parse() checks the project's keys (unknown ones, near-misses)
        if namespace == "aws":
            if key not in AWS_PROVIDER_KEYS:
                guess = difflib.get_close_matches(key, AWS_PROVIDER_KEYS, n=1)
                if guess:
                    issues.append(ConfigIssue(full, f"unknown aws provider key; did you mean `aws:{guess[0]}`?"))
            continue
        if namespace in PROVIDER_NAMESPACES:
            continue
        close = difflib.get_close_matches(namespace, namespaces, n=1, cutoff=0.6)
        if key in project_keys or (close and close[0] == project):
            hint = f"write it as `{project}:{key}`" if key in project_keys else \
                f"did you mean `{project}:`? (its keys: {', '.join(project_keys)})"
            issues.append(ConfigIssue(full, f"`{namespace}:` is not this project's namespace (`{project}:`), so the "
                                            f"program never reads this key; {hint}"))
        else:
            issues.append(ConfigIssue(full, f"unknown config namespace `{namespace}:`; nothing reads it (this stack "
                                            f"reads `{project}:` keys and the providers' "
                                            f"{', '.join(f'`{n}:`' for n in PROVIDER_NAMESPACES)}); remove it or fix "
                                            "the prefix"))
    return issues


def check_region(region: Optional[str], cfg: Optional[StackConfig] = None) -> list[ConfigIssue]:
    """``aws:region`` is a known region, and the stack's zones and certificate are in it."""
    if not region:
        return [ConfigIssue("aws:region", "required; run `pulumi config set aws:region us-east-1`")]
    if region not in AWS_REGIONS:
        guess = difflib.get_close_matches(region, AWS_REGIONS, n=2)
        hint = f"did you mean {' or '.join(f'`{g}`' for g in guess)}? " if guess else ""
        return [ConfigIssue("aws:region", f"{region!r} is not an AWS region; {hint}use one of {', '.join(AWS_REGIONS)} "
                                          "(components/llm_tiers/config/schema.py AWS_REGIONS)")]
    issues = []
    cluster = getattr(cfg, "cluster", None)
    for i, zone in enumerate((cluster.availability_zones or []) if cluster else []):
        if zone[:-1] != region:
            issues.append(ConfigIssue(f"cluster.availabilityZones[{i}]", f"{zone} is not a zone of aws:region "
                                      f"{region}; use {region}a, {region}b, ..."))
    gateway = getattr(cfg, "gateway", None)
    arn = gateway.tls.certificate_arn if gateway else None
    if arn and arn.split(":")[3] != region:
        issues.append(ConfigIssue("gateway.tls.certificateArn", f"the certificate is in {arn.split(':')[3]}, but the "
                                  f"load balancer is in aws:region {region}; an NLB can only use an ACM certificate of "
                                  "its own region"))
    return issues
