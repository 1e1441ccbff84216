"""A composed ModelTier checks its own args with the stack loader's checks and messages (pure).

``__main__.py`` validates a whole stack before registering anything; a platform team that composes
``ModelTier`` on its own cluster never goes through that loader. So the component runs the same checks on
its args — tier keys and guarded flags, the models lock's policy (license, gating, custom code, pinned
revision), what the locked model allows (context length, quantization) and the capacity planner, for the
live and the candidate release — and refuses bad args before it registers anything (tiers/rules.py).
Paths are the component's args in snake_case (``args.tier.candidate.extra_args[0]``), messages the stack loader's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Optional

from llm_tiers import arguments
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.tiers import models_lock
from llm_tiers.tiers import storage
from llm_tiers.config.schema import ConfigIssue, GpuClassConfig, ModelPolicyConfig, StackConfig, TierConfig
from llm_tiers.tiers.models_lock import ModelLockEntry, ModelsLock


def tier_issues(tier: TierConfig, lock: ModelLockEntry, instance_types: Sequence[str],
                candidate_lock: Optional[ModelLockEntry] = None, has_token: bool = True,
                allowed_licenses: Optional[Sequence[str]] = None) -> list[ConfigIssue]:
    """Every problem with one tier's args, at ``args.`` paths in snake_case (``args.tier.extra_args[0]``).
    ``allowed_licenses`` None: any license."""
    issues: list[ConfigIssue] = []
    types = [t for t in instance_types if t in gpu_catalog.CATALOG]
    for j, t in enumerate(instance_types):
        if t not in gpu_catalog.CATALOG:
            issues.append(ConfigIssue(f"args.instance_types[{j}]", f"{t!r} is not in the GPU catalog "
                                      "(components/llm_tiers/gpu/catalog.py); use a listed GPU instance type"))
    if not instance_types:
        issues.append(ConfigIssue("args.instance_types", "empty: give the instance types of the tier's GPU class"))
    if tier.candidate is not None and candidate_lock is None:
        issues.append(ConfigIssue("args.candidate_lock", "the tier has a candidate release: pass its models-lock "
                                                         "entry (models.lock.json's models[<candidate modelId>])"))
    for key, entry in (("lock", lock), ("candidate_lock", candidate_lock)):
        # What the stack loader's missing_issues requires of a deployed model's entry.
        if entry is not None and (not entry.files or models_lock.model_shape(entry) is None):
            issues.append(ConfigIssue(f"args.{key}", "lacks its weight files or architecture numbers (files, "
                                      "weights_bytes, num_layers, num_attention_heads, num_key_value_heads, "
                                      "head_dim), so it can be neither synced nor planned; pass the model's entry "
                                      "of a models.lock.json written by `make models-lock`"))
    if issues:
        return issues
    cls = GpuClassConfig(instance_types=list(types), max_gpus=10**6)  # the budget is the stack's concern
    models = {tier.model_id: lock}
    if tier.candidate is not None and candidate_lock is not None:
        models[tier.candidate.model_id or tier.model_id] = candidate_lock
    licenses = sorted({*(allowed_licenses or []), *(() if allowed_licenses else
                                                   {e.license or "unknown" for e in models.values()})})
    cfg = StackConfig.model_construct(tiers=[tier], gpu_classes={tier.gpu_class: cls},  # type: ignore[call-arg]
                                      model_policy=ModelPolicyConfig(allowed_licenses=licenses))
    found = ModelsLock(version=models_lock.LOCK_VERSION, models=models)
    from llm_tiers.tiers import rules as tier_rules  # rules imports this module

    issues += tier_rules.tier_issues(0, tier, cfg.gpu_classes)
    issues += models_lock.policy_issues(cfg, found)
    issues += models_lock.engine_issues(cfg, found)
    issues += storage.storage_issues(cfg, found, classes_known=False)
    issues += models_lock.gated_without_token(cfg, found, has_token)
    issues += models_lock.capacity_issues(cfg, models_lock.tier_plans(cfg, found))
    return [ConfigIssue(args_path(i.path), i.message) for i in issues]


def args_path(stack_path: str) -> str:
    """A stack key path of the (only) tier as the component's args path: ``tiers[0].candidate.extraArgs[0]`` ->
    ``args.tier.candidate.extra_args[0]``; ``modelPolicy.allowedLicenses`` -> ``args.allowed_licenses``."""
    path = re.sub(r"^tiers\[0\]", "tier", stack_path)
    path = re.sub(r"^modelPolicy\.", "", path)
    return "args." + arguments.snake_path(path)
