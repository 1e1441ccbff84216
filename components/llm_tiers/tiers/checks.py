"""A composed ModelTier checks its own args with the stack loader's checks and messages (pure).

``__main__.py`` validates a whole stack before registering anything; a platform team that composes
``ModelTier`` on its own cluster never goes through that loader. So the component runs the same checks on
its args — tier keys and guarded flags, the models lock's policy (license, gating, custom code, pinned
revision), what the locked model allows (context length, quantization) and the capacity planner, for the
live and the candidate release — and refuses bad args with a ``ConfigError`` before it registers anything.
Paths read ``tier.<key>`` (``tier.candidate.extraArgs[0]``), messages are the stack loader's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Optional

from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.tiers import models_lock
from llm_tiers.config.schema import (ConfigError, ConfigIssue, GpuClassConfig, ModelPolicyConfig, StackConfig,
                                     TierConfig, _check_tier)
from llm_tiers.tiers.models_lock import ModelLockEntry, ModelsLock


def tier_issues(tier: TierConfig, lock: ModelLockEntry, instance_types: Sequence[str],
                candidate_lock: Optional[ModelLockEntry] = None, has_token: bool = True,
                allowed_licenses: Optional[Sequence[str]] = None) -> list[ConfigIssue]:
    """Every problem with one tier's args, at ``tier.<key>`` paths. ``allowed_licenses`` None: any license."""
    issues: list[ConfigIssue] = []
    types = [t for t in instance_types if t in gpu_catalog.CATALOG]
    for j, t in enumerate(instance_types):
        if t not in gpu_catalog.CATALOG:
            issues.append(ConfigIssue(f"instance_types[{j}]", f"{t!r} is not in the GPU catalog "
                                      "(components/llm_tiers/gpu/catalog.py); use a listed GPU instance type"))
    if not instance_types:
        issues.append(ConfigIssue("instance_types", "empty: give the instance types of the tier's GPU class"))
    if tier.candidate is not None and candidate_lock is None:
        issues.append(ConfigIssue("candidate_lock", "the tier has a candidate release: pass its models-lock entry"))
    if issues:
        return issues
    cls = GpuClassConfig(instance_types=list(types), max_gpus=10**6)  # the budget is the stack's concern
    models = {tier.model_id: lock}
    if tier.candidate is not None and candidate_lock is not None:
        models[tier.candidate.model_id or tier.model_id] = candidate_lock
    licenses = sorted({*(allowed_licenses or []), *(() if allowed_licenses else
                                                   {e.license or "unknown" for e in models.values()})})
    cfg = StackConfig.model_construct(tiers=[tier], gpu_classes={tier.gpu_class: cls},
                                      model_policy=ModelPolicyConfig(allowed_licenses=licenses))
    found = ModelsLock(version=models_lock.LOCK_VERSION, models=models)
    issues += _check_tier(0, tier, cfg.gpu_classes)
    issues += models_lock.policy_issues(cfg, found)
    issues += models_lock.engine_issues(cfg, found)
    issues += models_lock.gated_without_token(cfg, found, has_token)
    issues += models_lock.capacity_issues(cfg, models_lock.tier_plans(cfg, found))
    return [ConfigIssue(re.sub(r"^tiers\[0\]", "tier", i.path), i.message) for i in issues]


def check(tier: TierConfig, lock: ModelLockEntry, instance_types: Sequence[str],
          candidate_lock: Optional[ModelLockEntry] = None, has_token: bool = True,
          allowed_licenses: Optional[Sequence[str]] = None) -> None:
    issues = tier_issues(tier, lock, instance_types, candidate_lock, has_token, allowed_licenses)
    if issues:
        raise ConfigError(issues, f"ModelTier {tier.name}'s args",
                          hint="Fix them in the ModelTierArgs (see docs/components/model-tier.md); "
                               "nothing was created.")
