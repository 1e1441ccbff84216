"""The ModelTier component's args: their shape, the tier and lock sections, and the stack loader's tier checks.

Pure. :func:`args_issues` is what ``ModelTier`` runs first: every problem at its ``args.`` path (snake_case), so a
tier composed outside the stack (in Python, or through the provider from TypeScript, Go or YAML) is refused exactly
as the loader refuses a stack file's tier, before anything is registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from llm_tiers import arguments
from llm_tiers import naming
from llm_tiers.config.issues import ConfigIssue
from llm_tiers.config.schema import TierConfig
from llm_tiers.tiers import checks
from llm_tiers.tiers.models_lock import ModelLockEntry
from llm_tiers.tracing.rules import namespace_issues

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
}


def parsed(args: Mapping[str, Any]) -> tuple[Optional[TierConfig], Optional[ModelLockEntry], Optional[ModelLockEntry],
                                             list[ConfigIssue]]:
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
    if tier is None or lock is None or (args.get("candidate_lock") is not None and candidate_lock is None):
        return issues  # the loader's tier checks need a valid tier and valid lock entries
    return issues + checks.tier_issues(tier, lock, list(args["instance_types"]), candidate_lock,
                                       has_token=args.get("hf_token_secret") is not None,
                                       allowed_licenses=args.get("allowed_licenses"))


def resolved(args: Mapping[str, Any]) -> dict[str, Any]:
    """The args with every default filled in (checked args only)."""
    return {**DEFAULTS, **{k: v for k, v in args.items() if v is not None}}
