"""Policy pack: `pulumi preview --policy-pack policy` (every rule mandatory). The rules live in rules.py."""

from pulumi_policy import EnforcementLevel, PolicyPack

from rules import policies

PolicyPack(name="llm-tiers-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
