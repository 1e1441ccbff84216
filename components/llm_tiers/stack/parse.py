"""Validate a stack's config values once, before any resource is registered: the schema (llm_tiers.config), then
every domain's rules (llm_tiers.stack.checks). Raises ``ConfigError`` listing every problem by key path with a
hint, e.g.::

    tiers[1].maxTotalTokens: must be greater than maxInputTokens (4096); raise maxTotalTokens or lower maxInputTokens

Pure (no Pulumi resources).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Optional

from pydantic import TypeAdapter, ValidationError

from llm_tiers.cluster import rules as cluster_rules
from llm_tiers.config.base import Name
from llm_tiers.config.gpu import GpuClassConfig
from llm_tiers.config.issues import ConfigError, ConfigIssue, _allowed_keys, issue_from_pydantic
from llm_tiers.config.schema import SECRET_KEYS, StackConfig
from llm_tiers.config.tiers import TierConfig
from llm_tiers.cost import rules as cost_rules
from llm_tiers.gateway import rules as gateway_rules
from llm_tiers.gpu import rules as gpu_rules
from llm_tiers.gpu.rules import plannable_gpu_classes  # noqa: F401  (part of this module's API)
from llm_tiers.observability import checks as observability_checks
from llm_tiers.stack import checks
from llm_tiers.tiers import rules as tier_rules


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
        issues += [issue_from_pydantic(e, StackConfig) for e in exc.errors()]
        # Cross-field checks still run on each section that validated on its own, so one run reports as
        # much as possible; the sections that validated go on to the later layers (ConfigError.partial).
        more, partial = _partial_semantics(data)
        raise ConfigError([*issues, *more], stack_file, partial) from None
    issues += checks.semantic_issues(cfg)
    if issues:
        raise ConfigError(issues, stack_file, cfg)
    return cfg


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
            adapter: TypeAdapter[Any] = TypeAdapter(field.annotation)  # type: ignore[arg-type]
            value = data[key] if key in data else field.get_default(call_default_factory=True)
            sections[field_name] = adapter.validate_python(value)
        except (ValidationError, KeyError, TypeError):
            sections[field_name] = None
    if sections.get("cluster") is not None:
        issues += cluster_rules.cluster_issues(sections["cluster"])
    gpu_classes: Optional[dict[str, GpuClassConfig]]
    try:
        gpu_classes = _GPU_CLASSES.validate_python(data.get("gpuClasses"))
    except ValidationError:
        gpu_classes = None
    sections["gpu_classes"] = gpu_rules.plannable_gpu_classes(gpu_classes or {})
    raw_tiers = data.get("tiers")
    tiers: list[Optional[TierConfig]] = []
    for i, raw in enumerate(raw_tiers if isinstance(raw_tiers, list) else []):
        try:
            tier = TierConfig.model_validate(raw)
        except ValidationError:
            tiers.append(None)
            continue
        issues += tier_rules.tier_issues(i, tier, gpu_classes)
        tiers.append(tier)
    sections["tiers"] = tiers
    # A schema error in one section must not hide a semantic error in another: every section that validated
    # gets its own checks (tier names as the stack file writes them, for the references to tiers).
    raw_names: list[str] = [r["name"] for r in (raw_tiers if isinstance(raw_tiers, list) else [])
                            if isinstance(r, dict) and isinstance(r.get("name"), str)]
    for field_name, check in (("tenants", lambda v: gateway_rules.tenant_issues(v, raw_names)),
                              ("gateway", gateway_rules.gateway_issues),
                              ("cost", lambda v: cost_rules.cost_issues(v, raw_names)),
                              ("observability", observability_checks.observability_issues)):
        if sections.get(field_name) is not None:
            issues += check(sections[field_name])
    # An invalid section stays None (not its default: a default modelPolicy would refuse licenses the stack
    # allows), and the later layers skip what is None.
    return issues, StackConfig.model_construct(**sections)


_GPU_CLASSES = TypeAdapter(dict[Name, GpuClassConfig])
