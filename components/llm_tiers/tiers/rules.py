"""The tiers domain's rules: what a tier (TierConfig) must satisfy beyond its types, as its engine will read it.

Pure. The stack's loader calls them per ``tiers[i]``; the ModelTier component calls them on its own args
(tiers/checks.py), so a composed tier is checked the same way.

The ModelTier component's args: their shape, the tier and lock sections, and the stack loader's tier checks.

Pure. :func:`args_issues` is what ``ModelTier`` runs first: every problem at its ``args.`` path (snake_case), so a
tier composed outside the stack (in Python, or through the provider from TypeScript, Go or YAML) is refused exactly
as the loader refuses a stack file's tier, before anything is registered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from llm_tiers import arguments
from llm_tiers import naming
from llm_tiers import versions
from llm_tiers.config.gpu import GpuClassConfig
from llm_tiers.config.issues import ConfigIssue, duplicates  # noqa: F401  (duplicates re-exported)
from llm_tiers.config.tiers import TierConfig, release_engine
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.tiers import checks
from llm_tiers.tiers import engines
from llm_tiers.tiers import vllm as vllm_engine
from llm_tiers.tiers.models_lock import ModelLockEntry
from llm_tiers.arguments import namespace_issues


def tier_issues(i: int, t: TierConfig, gpu_classes: Optional[Mapping[str, GpuClassConfig]],
                prefix: Optional[str] = None) -> list[ConfigIssue]:
    """One tier's rules, against the GPU classes it may name (None: they are invalid and reported elsewhere).
    ``prefix``: where the tier sits (``tiers[<i>]`` in a stack file)."""
    p = prefix if prefix is not None else f"tiers[{i}]"
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
        defined = ", ".join(sorted(gpu_classes)) or "none"
        issues.append(
            ConfigIssue(f"{p}.gpuClass", f"unknown GPU class {t.gpu_class!r}; defined in gpuClasses: {defined}")
        )
    else:
        cls = gpu_classes[t.gpu_class]
        known = [it for it in cls.instance_types if it in gpu_catalog.CATALOG]
        if known and gpu_catalog.max_gpus_per_node(known) < t.gpus_per_replica:
            issues.append(
                ConfigIssue(
                    f"{p}.gpusPerReplica",
                    f"{t.gpus_per_replica} GPUs per replica, but the largest "
                    f"instance type of gpuClasses.{t.gpu_class} has "
                    f"{gpu_catalog.max_gpus_per_node(known)}; add a larger instance type to the "
                    "class or use fewer GPUs",
                )
            )
        need = t.gpus_per_replica * max(t.replicas.max, 1)
        if need > cls.max_gpus:
            issues.append(
                ConfigIssue(
                    f"{p}.replicas.max",
                    f"{t.replicas.max} replicas x {t.gpus_per_replica} GPU(s) "
                    f"= {need} GPUs exceeds gpuClasses.{t.gpu_class}.maxGpus ({cls.max_gpus}); "
                    "lower replicas.max or raise maxGpus",
                )
            )
    candidate_engine = release_engine(t, "candidate") if t.candidate is not None else None
    tgi_releases = [e for e in (t.engine, candidate_engine) if e == "tgi"]
    if t.quantize and t.dtype and not t.quantize.startswith("bitsandbytes") and tgi_releases:
        issues.append(
            ConfigIssue(
                f"{p}.dtype",
                f"cannot be combined with quantize: {t.quantize} (TGI only allows "
                "dtype with bitsandbytes*); remove dtype",
            )
        )
    for where, engine in ((f"{p}.engine", t.engine), (f"{p}.candidate.engine", candidate_engine)):
        if engine == "vllm" and t.quantize in vllm_engine.UNSUPPORTED:
            issues.append(
                ConfigIssue(
                    f"{p}.quantize",
                    f"{t.quantize} is a TGI quantization that vLLM 0.33 does not "
                    f"have ({where} is vllm); remove quantize, use a checkpoint quantized with "
                    "awq, gptq, compressed-tensors or fp8, quantize: fp8, or engine: tgi",
                )
            )
    if t.max_output_tokens is not None and t.max_output_tokens >= t.max_total_tokens:
        issues.append(
            ConfigIssue(
                f"{p}.maxOutputTokens",
                f"must be below maxTotalTokens ({t.max_total_tokens}): the prompt needs at least one token",
            )
        )
    if t.replicas.min > t.replicas.max:
        issues.append(ConfigIssue(f"{p}.replicas.min", f"must not exceed replicas.max ({t.replicas.max})"))
    if t.replicas.min == 0 and not t.sporadic:
        issues.append(
            ConfigIssue(
                f"{p}.replicas.min", "0 scales the tier to zero; set sporadic: true to allow it, or use at least 1"
            )
        )
    if t.sporadic and t.replicas.min != 0:
        issues.append(
            ConfigIssue(
                f"{p}.sporadic", f"a sporadic tier scales to zero; set replicas.min to 0 (got {t.replicas.min})"
            )
        )
    if t.serve == "candidate" and t.candidate is None:
        issues.append(ConfigIssue(f"{p}.serve", "is `candidate` but the tier has no candidate release"))
    # The live release's flags, and the candidate's (a candidate is deployed like the live release, so it is
    # checked like it: a guarded flag there would otherwise fail the engine argument builder mid-deploy).
    # A candidate without extraArgs inherits the live release's, so they are checked against its engine too.
    flag_lists: list[tuple[str, list[str], str, bool]] = [(f"{p}.extraArgs", t.extra_args, t.engine, True)]
    if t.candidate is not None:
        if t.candidate.extra_args is not None:
            flag_lists.append((f"{p}.candidate.extraArgs", t.candidate.extra_args, candidate_engine or t.engine, True))
        elif candidate_engine != t.engine:
            flag_lists.append((f"{p}.extraArgs", t.extra_args, candidate_engine or t.engine, False))
    for where, extra, engine, first_time in flag_lists:
        for j, arg in enumerate(extra):
            if first_time and not arg.startswith("--"):
                issues.append(
                    ConfigIssue(f"{where}[{j}]", f"{arg!r} is not a flag; write it as --flag or --flag=value")
                )
        for j, flag in engines.guarded_extra_args(engine, extra):
            issues.append(
                ConfigIssue(
                    f"{where}[{j}]",
                    f"{flag} is set by the platform from the tier's config "
                    "(token limits, shards, quantization, model, ports); use the tier keys instead",
                )
            )
        for j, flag in engines.foreign_extra_args(engine, extra):
            other = "vllm" if engine == "tgi" else "tgi"
            issues.append(
                ConfigIssue(
                    f"{where}[{j}]",
                    f"{flag} is a {other} flag, but this release runs {engine}; "
                    f"remove it, or give the {engine} release its own extraArgs",
                )
            )
        # Parsed as the engine parses it (vLLM: _ = -, dotted keys, argparse prefixes; TGI: clap's exact names):
        # an option the engine does not have stops it at start-up.
        for j, why in engines.unknown_extra_args(engine, extra):
            if extra[j].startswith("--"):
                issues.append(ConfigIssue(f"{where}[{j}]", f"{why}; remove it or fix its spelling"))
    if t.candidate and t.candidate.image and not has_explicit_tag(t.candidate.image):
        issues.append(
            ConfigIssue(
                f"{p}.candidate.image",
                f"must name an explicit tag (not latest), e.g. {versions.IMAGES[candidate_engine or 'tgi']}",
            )
        )
    elif t.candidate and t.candidate.image:
        problem = engines.image_engine_problem(candidate_engine or t.engine, t.candidate.image)
        if problem:
            issues.append(ConfigIssue(f"{p}.candidate.image", problem))
    return issues


def has_explicit_tag(image: str) -> bool:
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("", "latest")


def fallback_issues(tiers: Sequence[TierConfig]) -> list[ConfigIssue]:
    """A fallback's model name must differ from the tier's own model names: AI Gateway reports a request served
    by the fallback under the overridden model (``gen_ai_request_model``), which is how usage tells the two apart
    (observability/usage.py)."""
    issues = []
    names = {t.name for t in tiers}
    for i, t in enumerate(tiers):
        if t.fallback is not None and f"{t.name}-fallback" in names:
            issues.append(
                ConfigIssue(
                    f"tiers[{i}].fallback",
                    f"the fallback's gateway objects are named "
                    f"{t.name}-fallback, which is another tier's name; rename that tier",
                )
            )
        if t.fallback is not None and t.fallback.model in (t.name, *t.aliases):
            issues.append(
                ConfigIssue(
                    f"tiers[{i}].fallback.model",
                    f"{t.fallback.model!r} is also one of the tier's "
                    "own model names; usage through the fallback is told apart by the provider's "
                    "model name, so give the provider's exact name (or rename the alias)",
                )
            )
    return issues


def tier_name_issues(tiers: Sequence[TierConfig]) -> list[ConfigIssue]:
    """Tier names unique, and each model name (a tier's name or alias) selects one tier: the single base URL routes
    by ``model``."""
    issues = []
    tier_names = [t.name for t in tiers]
    for name, idx in duplicates(tier_names).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"tiers[{i}].name", f"duplicate tier name {name!r} (first at tiers[{idx[0]}])"))
    seen: dict[str, str] = {}
    for i, t in enumerate(tiers):
        for j, alias in enumerate(t.aliases):
            if alias in seen or alias in tier_names:
                owner = seen.get(alias, alias)
                issues.append(
                    ConfigIssue(
                        f"tiers[{i}].aliases[{j}]",
                        f"model name {alias!r} already names tier {owner!r}; each model name must select one tier",
                    )
                )
            seen[alias] = t.name
    return issues


DEFAULTS: dict[str, Any] = {
    "candidate_lock": None,
    "namespace": naming.TIERS_NAMESPACE,
    "storage_class": "efs-weights",
    "hf_token_secret": None,
    "sync_node_selector": {},
    "sync_tolerations": [],
    "gateway_namespace": naming.ENVOY_GATEWAY_NAMESPACE,
    "gateway_pod_labels": dict(naming.ENVOY_PROXY_LABELS),
    "monitoring_namespace": "monitoring",
    "otlp_endpoint": None,
    "image": None,
    "run_as_user": None,
    "autoscaling": True,
    "prometheus_url": "http://kube-prometheus-stack-prometheus.monitoring.svc:9090",
    "gateway_proxy_namespace_label": naming.GATEWAY_NAMESPACE,
    "gateway_clusters": [],
    "allowed_licenses": None,
    "admit_benchmark": False,
    "weight_mirror": None,
}


def parsed(
    args: Mapping[str, Any],
) -> tuple[Optional[TierConfig], Optional[ModelLockEntry], Optional[ModelLockEntry], list[ConfigIssue]]:
    """The tier and the lock entries validated by their models (``TierConfig``, ``ModelLockEntry``), or the
    problems at ``args.tier.<key>`` / ``args.lock.<key>`` / ``args.candidate_lock.<key>``."""
    tier, issues = arguments.section(TierConfig, args["tier"], "args.tier")
    lock, found = arguments.section(ModelLockEntry, args["lock"], "args.lock")
    issues += found
    candidate_lock = None
    if args.get("candidate_lock") is not None:
        candidate_lock, found = arguments.section(ModelLockEntry, args["candidate_lock"], "args.candidate_lock")
        issues += found
    return tier, lock, candidate_lock, issues


def args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of a ``ModelTierArgs`` value, each at its ``args.`` path."""
    from llm_tiers.tiers.component import ModelTierArgs

    issues = arguments.shape_issues(args, ModelTierArgs)
    if issues:
        return issues
    tier, lock, candidate_lock, issues = parsed(args)
    issues += namespace_issues(args, ("namespace", "gateway_namespace", "monitoring_namespace"))
    if args.get("run_as_user") is not None and not 0 <= args["run_as_user"] < 2**31:
        issues.append(ConfigIssue("args.run_as_user", f"{args['run_as_user']} is not a UID: use 0 to 2147483647"))
    if tier is not None and tier.weights_from != "efs" and args.get("weight_mirror") is None:
        issues.append(ConfigIssue("args.weight_mirror", f"required with tier.weights_from {tier.weights_from}: give "
                                  "the S3 weight mirror (a WeightMirror's bucket_name and bucket_arn, the region and "
                                  "the cluster's name), or set weights_from to efs"))
    if tier is None or lock is None or (args.get("candidate_lock") is not None and candidate_lock is None):
        return issues  # the loader's tier checks need a valid tier and valid lock entries
    return issues + checks.tier_issues(
        tier,
        lock,
        list(args["instance_types"]),
        candidate_lock,
        has_token=args.get("hf_token_secret") is not None,
        allowed_licenses=args.get("allowed_licenses"),
    )


def resolved(args: Mapping[str, Any]) -> dict[str, Any]:
    """The args with every default filled in (checked args only)."""
    return {**DEFAULTS, **{k: v for k, v in args.items() if v is not None}}
