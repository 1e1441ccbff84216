"""Reads the stack's config from the Pulumi runtime once, validates it, and hands out typed settings.

Only ``__main__.py`` calls this: components never read config (they take typed args).
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pulumi
from pulumi.runtime import config as runtime_config

from llm_tiers.tiers import capacity
from llm_tiers.tiers import models_lock
from llm_tiers.tiers import storage
from llm_tiers.stack import system_capacity
from llm_tiers.config.schema import SECRET_KEYS, ConfigError, ConfigIssue, StackConfig
from llm_tiers.stack.parse import parse, plannable_gpu_classes
from llm_tiers.stack.keys import check_config_keys, check_region


@dataclass(frozen=True)
class StackSettings:
    config: StackConfig
    region: str
    hf_token: Optional[pulumi.Output[str]]
    """The Hugging Face token as a secret Output, or None when the stack sets none."""
    alert_receiver_urls: Optional[pulumi.Output[Any]]
    """Secret map of alert receiver name to URL, or None."""
    fallback_api_keys: dict[str, pulumi.Output[str]]
    """Fallback provider API key name (``tiers[].fallback.apiKeySecret``) -> the key, a secret Output."""
    lock: models_lock.ModelsLock
    """The models lock (holds every model the stack deploys; load() refuses the stack otherwise)."""
    plans: dict[tuple[int, str], capacity.TierPlan]
    """Capacity plan per (tier index, release) for releases whose model is locked with its numbers."""
    warnings: tuple[str, ...] = ()
    """What the preview should show but not refuse (hand-written lock entries, thin system capacity)."""


def _raw_project_values(project: str) -> dict[str, Any]:
    """Every ``<project>:<key>`` value the engine passed to the program, JSON-decoded where structured."""
    merged: dict[str, Any] = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    prefix = f"{project}:"
    string_keys = {f.alias for f in StackConfig.model_fields.values() if f.annotation is str}
    values: dict[str, Any] = {}
    for full_key, value in merged.items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix):]
        if isinstance(value, str) and key not in string_keys and key not in SECRET_KEYS:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass  # leave it a string; the schema reports the type error with its path
        values[key] = value
    return values


def _has_value(raw: Optional[str]) -> bool:
    return raw is not None and raw.strip() not in ("", "{}", "null")


def _all_config_keys() -> list[str]:
    merged: dict[str, Any] = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return sorted(merged)


def load() -> StackSettings:
    """Validate the whole stack config; raise ``pulumi.RunError`` listing every problem.

    Every layer reports, even when an earlier one found problems: the keys and namespaces, the schema and
    its cross-field checks, the secrets, then the models lock and the capacity planner on what did validate
    (``ConfigError.partial``). Only the last layer that needs a whole tier skips tiers with problems."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    stack_file = f"stacks/Pulumi.{stack}.yaml"
    issues: list[ConfigIssue] = check_config_keys(_all_config_keys(), project)
    region = pulumi.Config("aws").get("region")
    for key in SECRET_KEYS:
        # Unset secrets arrive as their empty project default ("" or {}): only a real value must be secret.
        if _has_value(pulumi.Config().get(key)) and not runtime_config.is_config_secret(f"{project}:{key}"):
            issues.append(ConfigIssue(key, f"is stored in plaintext; remove it and run "
                                           f"`pulumi config set --secret {key} ...`"))
    cfg: Optional[StackConfig]
    partial: Optional[StackConfig]
    try:
        cfg = parse(_raw_project_values(project), stack_file)
        partial = cfg
    except ConfigError as exc:
        cfg, partial = None, exc.partial
        issues += exc.issues
    issues += check_region(region, partial)
    conf = pulumi.Config()
    has_token = _has_value(conf.get("hfToken"))
    # Only the names are read here (every configured receiver needs a URL); values stay secret.
    receiver_urls = conf.get_object("alertReceiverUrls") or {}
    observability = getattr(partial, "observability", None)
    for i, receiver in enumerate(observability.alertmanager.receivers if observability else []):
        if receiver.name not in receiver_urls:
            issues.append(ConfigIssue(f"observability.alertmanager.receivers[{i}].name",
                                      f"no URL for receiver {receiver.name!r}; run `pulumi config set --secret "
                                      f"--path 'alertReceiverUrls.{receiver.name}' <url or routing key>`"))
    # Only the names are read here (every tier's fallback needs its key); values stay secret.
    fallback_keys = conf.get_object("fallbackApiKeys") or {}
    issues += fallback_key_issues(getattr(partial, "tiers", None) or [], fallback_keys)
    lock = None
    plans: dict[tuple[int, str], capacity.TierPlan] = {}
    if partial is not None and getattr(partial, "model_policy", None) is not None:
        try:
            # Pulumi runs the program in the project directory; a relative lock path is relative to it.
            lock = models_lock.load(Path(partial.model_policy.lock_file))
            issues += models_lock.missing_issues(partial, lock)
            issues += models_lock.gated_without_token(partial, lock, has_token)
            issues += models_lock.policy_issues(partial, lock)
            issues += models_lock.engine_issues(partial, lock)
            issues += storage.storage_issues(partial, lock)
        except models_lock.LockError as exc:
            issues.append(ConfigIssue("modelPolicy.lockFile", str(exc)))
        plans = models_lock.tier_plans(_plannable(partial, issues), lock)
        issues += models_lock.capacity_issues(partial, plans)
    if issues or cfg is None:
        raise pulumi.RunError(str(ConfigError(issues, stack_file)))
    return StackSettings(
        config=cfg,
        region=typing.cast(str, region),
        hf_token=conf.get_secret("hfToken") if has_token else None,
        alert_receiver_urls=conf.get_secret_object("alertReceiverUrls") if receiver_urls else None,
        fallback_api_keys=_fallback_keys(conf, cfg),
        lock=lock or models_lock.ModelsLock(version=models_lock.LOCK_VERSION),
        plans=plans,
        warnings=(*models_lock.manual_entry_warnings(cfg, lock), *system_capacity.warnings(cfg),
                  *_rotation_warnings(cfg), *_deprecation_warnings(cfg)),
    )


def fallback_key_issues(tiers: Any, keys: Any) -> list[ConfigIssue]:
    """Each tier's ``fallback.apiKeySecret`` must name a key in the secret map ``fallbackApiKeys``."""
    issues = []
    for i, t in enumerate(tiers):
        fb = getattr(t, "fallback", None)
        if fb is None:
            continue
        if not isinstance(keys, dict) or fb.api_key_secret not in keys:
            known = ", ".join(sorted(keys)) if isinstance(keys, dict) and keys else "none"
            issues.append(ConfigIssue(f"tiers[{i}].fallback.apiKeySecret",
                                      f"unknown secret {fb.api_key_secret!r} (fallbackApiKeys holds: {known}); run "
                                      "`pulumi config set --secret --path "
                                      f"'fallbackApiKeys.{fb.api_key_secret}' <key>`"))
    return issues


def _fallback_keys(conf: pulumi.Config, cfg: StackConfig) -> dict[str, pulumi.Output[str]]:
    names = sorted({t.fallback.api_key_secret for t in cfg.tiers if t.fallback is not None})
    if not names:
        return {}
    keys = conf.require_secret_object("fallbackApiKeys")

    def key(name: str) -> pulumi.Output[str]:
        return pulumi.Output.secret(keys.apply(lambda d: str(d[name])))

    return {n: key(n) for n in names}


def _plannable(cfg: StackConfig, issues: list[ConfigIssue]) -> StackConfig:
    """``cfg`` with every tier that already has a problem (or whose GPU class is unusable) set to None: the
    capacity planner needs a whole, consistent tier and would only add noise (or fail) on a broken one."""
    gpu_classes = plannable_gpu_classes(getattr(cfg, "gpu_classes", None) or {})
    broken = {
        i
        for i, t in enumerate(cfg.tiers or [])
        if t is None
        or t.gpu_class not in gpu_classes
        or any(_breaks_plan(x.path, i) for x in issues)
    }
    tiers = [None if i in broken else t for i, t in enumerate(cfg.tiers or [])]
    return cfg.model_copy(update={"tiers": tiers, "gpu_classes": gpu_classes})


def _breaks_plan(path: str, i: int) -> bool:
    """Whether an issue at ``path`` leaves tier ``i`` unfit to plan. Where its weights load from does not change
    the GPU memory plan, so a ``weightsFrom`` issue is reported beside the planner's own, not instead of it."""
    if path == f"tiers[{i}].weightsFrom":
        return False
    return path == f"tiers[{i}]" or path.startswith((f"tiers[{i}].", f"tiers[{i}]["))


def _rotation_warnings(cfg: StackConfig) -> list[str]:
    """A rotated tenant's previous key stays valid until the stack says otherwise: say so at every preview."""
    return [
        f"tenants[{i}]: tenant {t.name}'s previous API key (before rotate {t.rotate}) is still accepted beside "
        f"the new one; once its clients use the new key, set tenants[{i}].dropPreviousKey: true and run "
        "`pulumi up`"
        for i, t in enumerate(cfg.tenants)
        if t.previous_key_valid
    ]


def _deprecation_warnings(cfg: StackConfig) -> list[str]:
    """Deprecated settings still in use: say so at every preview, with the step that ends them."""
    if not cfg.gateway.per_tier_urls:
        return []
    return [
        "gateway.perTierUrls: the per-tier base URLs (https://<hostname>/<tier>/v1) are deprecated and go in the "
        "next release; they bypass token budgets, the request guard and per-tenant usage. Move clients to "
        f'https://{cfg.gateway.hostname}/v1 with model=<tier> (README "Calling a tier"), then set '
        "gateway.perTierUrls: false"
    ]
