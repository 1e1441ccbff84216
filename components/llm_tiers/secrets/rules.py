"""The secret store's rules on the SecretStore component's args.

Pure. The component calls :func:`args_issues` first, so a composed SecretStore is checked as the stack's loader
checks the stack file's ``secretStore`` and ``tenants`` sections (:func:`tenant_name_issues`, the
``SecretStoreConfig`` model) and ``aws:region`` (cluster/rules.py ``region_issues``), each problem at its ``args.``
path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from llm_tiers import arguments
from llm_tiers import naming
from llm_tiers.cluster.rules import region_issues
from llm_tiers.config.base import DNS_LABEL, LABEL_VALUE
from llm_tiers.config.gateway import PREVIOUS_KEY_SUFFIX
from llm_tiers.config.issues import ConfigIssue, duplicates
from llm_tiers.arguments import namespace_issues

DEFAULTS: dict[str, Any] = {
    "hf_token": None,
    "tenants": [],
    "refresh_interval": "1h",
    "recovery_window_days": 30,
    "fallback_keys": {},
    "tiers_namespace": naming.TIERS_NAMESPACE,
    "gateway_namespace": naming.GATEWAY_NAMESPACE,
    "system_node_selector": {},
    "environment": None,
    "tags": {},
    "name_prefix": None,
    "protect": False,
}
TENANT_DEFAULTS: dict[str, Any] = {"rotate": 0, "keep_previous": True}

# Secrets Manager's RecoveryWindowInDays: 0 (the provider's ForceDeleteWithoutRecovery) or 7 to 30
# (hashicorp/terraform-provider-aws internal/service/secretsmanager/secret.go, recovery_window_in_days:
# validation.Any(IntBetween(7, 30), IntInSlice([0])), which pulumi-aws wraps).
RECOVERY_WINDOW = "0 (delete at once) or 7 to 30"
# Where a fallback key's name goes: a resource name, a Secrets Manager name and the Kubernetes Secret
# ``fallback-<name>`` (a DNS label), as the stack's ``tiers[].fallback.apiKeySecret`` (config.base ``Name``).
KEY_NAME_MAX = 40


def tenant_name_issues(tenants: Sequence[Any], prefix: str = "tenants") -> list[ConfigIssue]:
    """Tenant names unique and not ending in ``-previous`` (the gateway's name for a tenant's previous API key);
    ``prefix``: ``tenants`` in a stack file."""
    issues: list[ConfigIssue] = []
    for name, idx in duplicates([t.name for t in tenants]).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"{prefix}[{i}].name",
                                      f"duplicate tenant name {name!r} (first at {prefix}[{idx[0]}])"))
    for i, tenant in enumerate(tenants):
        if tenant.name.endswith(PREVIOUS_KEY_SUFFIX):
            issues.append(ConfigIssue(f"{prefix}[{i}].name", f"must not end with {PREVIOUS_KEY_SUFFIX!r}: the gateway "
                                      "names a tenant's previous API key that way; pick another name"))
    return issues


def _reprefixed(issues: list[ConfigIssue], stack_prefix: str, args_prefix: str) -> list[ConfigIssue]:
    """The stack loader's issues at ``stack_prefix...`` as issues at ``args_prefix...`` (and the other entries
    their messages point to, ``first at tenants[0]``)."""
    return [ConfigIssue(args_prefix + i.path[len(stack_prefix):] if i.path.startswith(stack_prefix) else i.path,
                        i.message.replace(f"first at {stack_prefix}[", f"first at {args_prefix}["))
            for i in issues]


def tenant_issues(tenants: list[Mapping[str, Any]], path: str = "args.tenants") -> list[ConfigIssue]:
    """Each tenant's name a label value (it is the gateway's client id, a label and a header value), a
    non-negative ``rotate``, and the stack's tenant rules: no duplicate, no name ending in ``-previous``."""
    issues = []
    for i, t in enumerate(tenants):
        name = t["name"]
        if not (re.match(LABEL_VALUE, name) and len(name) <= 63):
            issues.append(ConfigIssue(f"{path}[{i}].name", f"{name!r} is not a Kubernetes label value: use lowercase "
                                      "letters, digits, '-', '_' and '.', starting and ending with a letter or "
                                      "digit, at most 63 characters"))
        if arguments.get(t, "rotate", 0) < 0:
            issues.append(ConfigIssue(f"{path}[{i}].rotate", f"{t['rotate']} is below 0; it counts rotations "
                                      "(raise it by one to issue a new key)"))
    stand_ins = [SimpleNamespace(name=t["name"], tiers=[]) for t in tenants]
    return issues + _reprefixed(tenant_name_issues(stand_ins), "tenants", path)


def fallback_key_issues(keys: Mapping[str, Any], path: str = "args.fallback_keys") -> list[ConfigIssue]:
    issues = []
    for name in keys:
        if not (re.match(DNS_LABEL, name) and len(name) <= KEY_NAME_MAX):
            issues.append(ConfigIssue(f"{path}.{name}", f"{name!r} is not a key name: use lowercase letters, digits "
                                      f"and '-', at most {KEY_NAME_MAX} characters (it names the Kubernetes Secret "
                                      f"fallback-<name>)"))
    return issues


def args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of a ``SecretStoreArgs`` value, each at its ``args.`` path."""
    from llm_tiers.config.secrets import SecretStoreConfig
    from llm_tiers.secrets.component import SecretStoreArgs

    issues = arguments.shape_issues(args, SecretStoreArgs)
    if issues:
        return issues
    cluster_name = args["cluster_name"]
    if isinstance(cluster_name, str) and not cluster_name:
        issues.append(ConfigIssue("args.cluster_name", "must not be empty: give the EKS cluster's name"))
    if not isinstance(cluster_name, str) and not args.get("name_prefix"):
        issues.append(ConfigIssue("args.name_prefix", "required when cluster_name is an Output: give the cluster "
                                  "name as a plain string, for the names of the AWS resources"))
    issues += region_issues(args["region"], "args.region")
    if args.get("refresh_interval") is not None:
        issues += arguments.section(SecretStoreConfig, {"refresh_interval": args["refresh_interval"]}, "args")[1]
    window = args.get("recovery_window_days")
    if window is not None and not (window == 0 or 7 <= window <= 30):
        issues.append(ConfigIssue("args.recovery_window_days", f"{window} is not a Secrets Manager recovery window: "
                                  f"use {RECOVERY_WINDOW} days"))
    issues += tenant_issues(args.get("tenants") or [])
    issues += fallback_key_issues(args.get("fallback_keys") or {})
    issues += namespace_issues(args, ("tiers_namespace", "gateway_namespace"))
    return issues


def resolved(args: Mapping[str, Any]) -> dict[str, Any]:
    """The args with every default filled in (checked args only); tenants with theirs."""
    out = {**DEFAULTS, **{k: v for k, v in args.items() if v is not None}}
    out["tenants"] = [{**TENANT_DEFAULTS, **{k: v for k, v in t.items() if v is not None}} for t in out["tenants"]]
    return out
