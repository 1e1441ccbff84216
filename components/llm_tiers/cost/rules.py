"""The cost domain's config rules. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llm_tiers.config.issues import ConfigIssue


def cost_issues(cost: Any, tier_names: Sequence[str]) -> list[ConfigIssue]:
    """The ``cost`` section: prices only for tiers that exist, each above 0."""
    issues: list[ConfigIssue] = []
    for name, price in cost.managed_price_by_tier.items():
        if name not in tier_names:
            issues.append(ConfigIssue(f"cost.managedPriceByTier.{name}", f"unknown tier {name!r}; tiers are: "
                                      f"{', '.join(tier_names) or 'none'}"))
        elif price <= 0:
            issues.append(ConfigIssue(f"cost.managedPriceByTier.{name}", f"{price} is not a price; give USD per 1M "
                                      "output tokens, greater than 0"))
    return issues
