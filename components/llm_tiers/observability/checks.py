"""The observability domain's config rules (``observability/rules.py`` holds the Prometheus rules it deploys).

Pure. The stack's loader calls :func:`observability_issues` on the stack file's ``observability`` section; the
component calls :func:`args_issues` first, so a composed Observability is checked as the stack's loader
checks the stack file's ``observability`` and ``tiers`` sections (the section models, :func:`observability_issues`,
tiers/rules.py's tier, fallback and name rules) and the secret ``alertReceiverUrls`` (a URL per configured receiver,
as llm_tiers.stack.load checks it), each problem at its ``args.`` path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from llm_tiers import arguments
from llm_tiers.arguments import args_path
from llm_tiers import naming
from llm_tiers.config.issues import ConfigIssue, duplicates
from llm_tiers.tiers import rules as tier_rules
from llm_tiers.arguments import namespace_issues
from llm_tiers.tracing.rules import otlp_grpc_endpoint_problem

DEFAULTS: dict[str, Any] = {
    "settings": {},
    "tiers": [],
    "tiers_namespace": naming.TIERS_NAMESPACE,
    "storage_class": "gp3-encrypted",
    "system_node_selector": {},
    "replica_prices": {},
    "fallback_prices": {},
    "alert_receiver_urls": {},
}


def observability_issues(obs: Any, prefix: str = "observability") -> list[ConfigIssue]:
    """The ``observability`` section's rules (``prefix``: ``observability`` in a stack file)."""
    issues: list[ConfigIssue] = []
    tracing = obs.tracing
    if tracing.enabled and not tracing.otlp_endpoint:
        issues.append(ConfigIssue(f"{prefix}.tracing.otlpEndpoint", "required when tracing is enabled"))
    for name, idx in duplicates([r.name for r in obs.alertmanager.receivers]).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"{prefix}.alertmanager.receivers[{i}].name", f"duplicate receiver {name!r}"))
    if tracing.otlp_endpoint:
        problem = otlp_grpc_endpoint_problem(tracing.otlp_endpoint)
        if problem:
            issues.append(ConfigIssue(f"{prefix}.tracing.otlpEndpoint", problem))
    return issues

def tier_issues(tiers: list[Any], path: str = "args.tiers") -> list[ConfigIssue]:
    """The stack's rules on the tiers whose alerts and usage rules the component writes: each tier's own
    (``tier_rules.tier_issues``, without the GPU class, which is the GPU capacity's concern), one name per tier and
    per alias (each is a ``tier`` label value of the rules), and the fallbacks' names (usage through a fallback is told
    apart by its model name)."""
    issues = tier_rules.tier_name_issues(tiers)
    for i, t in enumerate(tiers):
        issues += tier_rules.tier_issues(i, t, None)
    issues += tier_rules.fallback_issues(tiers)
    return [ConfigIssue(args_path(_tiers_model(), i.path, "", "args").replace("args.tiers", path, 1),
                        i.message.replace("first at tiers[", f"first at {path}[")) for i in issues]


def _tiers_model() -> type[BaseModel]:
    """A model whose one field is the stack's ``tiers`` (to map ``tiers[i].<camelCase>`` paths)."""
    from llm_tiers.config.schema import StackConfig

    return StackConfig


def receiver_issues(receivers: list[Any], urls: Mapping[str, Any]) -> list[ConfigIssue]:
    """A URL (or PagerDuty routing key) for every configured receiver, and none for a receiver that is not."""
    issues = [ConfigIssue(f"args.settings.alertmanager.receivers[{i}].name",
                          f"no URL for receiver {r.name!r}: add it to alert_receiver_urls (a secret)")
              for i, r in enumerate(receivers) if r.name not in urls]
    names = {r.name for r in receivers}
    issues += [ConfigIssue(f"args.alert_receiver_urls.{n}", f"no receiver {n!r} in settings.alertmanager.receivers "
                                                            f"(receivers: {', '.join(sorted(names)) or 'none'}); "
                                                            "add the receiver or remove the URL")
               for n in urls if n not in names]
    return issues


def price_issues(prices: Mapping[str, float], path: str, tiers: list[Any], *, fallback: bool) -> list[ConfigIssue]:
    """Each price for one of the args' tiers (with a fallback, for a fallback price); USD, not negative (a
    fallback price, like ``cost.managedPriceByTier``, above 0)."""
    by_name = {t.name: t for t in tiers}
    issues = []
    for name, price in prices.items():
        if name not in by_name:
            issues.append(ConfigIssue(f"{path}.{name}", f"unknown tier {name!r}; tiers are: "
                                      f"{', '.join(by_name) or 'none'}"))
        elif fallback and by_name[name].fallback is None:
            issues.append(ConfigIssue(f"{path}.{name}", f"tier {name!r} has no fallback, so nothing would use this "
                                      "price; remove it"))
        elif price < 0 or (fallback and price == 0):
            issues.append(ConfigIssue(f"{path}.{name}", f"{price} is not a price; give USD "
                                      f"{'per 1M output tokens' if fallback else 'per replica-hour'}, "
                                      f"{'greater than' if fallback else 'at least'} 0"))
    return issues


def args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of an ``ObservabilityArgs`` value, each at its ``args.`` path."""
    from llm_tiers.config.schema import ObservabilityConfig, TierConfig
    from llm_tiers.observability.component import ObservabilityArgs

    issues = arguments.shape_issues(args, ObservabilityArgs)
    if issues:
        return issues
    settings, found = arguments.section(ObservabilityConfig, arguments.get(args, "settings", {}), "args.settings")
    issues += found
    tiers, found = arguments.sections(TierConfig, arguments.get(args, "tiers", []), "args.tiers")
    issues += found
    if settings is not None:
        issues += [ConfigIssue(args_path(ObservabilityConfig, i.path, "observability", "args.settings"), i.message)
                   for i in observability_issues(settings)]
        issues += receiver_issues(settings.alertmanager.receivers, arguments.get(args, "alert_receiver_urls", {}))
    if not found:  # every tier validated: the stack's rules across them
        issues += tier_issues(tiers)
        issues += price_issues(arguments.get(args, "replica_prices", {}), "args.replica_prices", tiers,
                               fallback=False)
        issues += price_issues(arguments.get(args, "fallback_prices", {}), "args.fallback_prices", tiers,
                               fallback=True)
    issues += namespace_issues(args, ("tiers_namespace",))
    storage_class = args.get("storage_class")
    if isinstance(storage_class, str) and not storage_class:
        issues.append(ConfigIssue("args.storage_class", "must not be empty: give the StorageClass of Prometheus's "
                                  "volume"))
    return issues


def resolved(args: Mapping[str, Any]) -> dict[str, Any]:
    """The args with every default filled in (checked args only), the sections as their config models."""
    from llm_tiers.config.schema import ObservabilityConfig, TierConfig

    out = {**DEFAULTS, **{k: v for k, v in args.items() if v is not None}}
    out["settings"] = arguments.section(ObservabilityConfig, out["settings"], "args.settings")[0]
    out["tiers"] = arguments.sections(TierConfig, out["tiers"], "args.tiers")[0]
    return out
