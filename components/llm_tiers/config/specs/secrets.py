"""The ``secrets`` config section(s) as plain typed dictionaries: the shape in which components take them.

GENERATED from the models in ``llm_tiers.config`` by ``python -m llm_tiers.cli.arg_specs --write``; a test fails
when it is stale. Do not edit by hand.

Keys are the Python (snake_case) names of the stack file's camelCase keys (``max_total_tokens`` is
``maxTotalTokens``); Pulumi's component provider publishes them in camelCase again, so a TypeScript, Go or YAML
program writes the stack file's keys (an acronym is camel-cased: ``storageGiB`` is ``storageGib`` there). A key
not marked ``Required`` may be left out: the component fills in the default its description names. Each component
validates the value against the section's model (ranges, patterns, cross-field rules) before it registers anything,
and names a bad key at its ``args.`` path.
"""

# No ``from __future__ import annotations``: Pulumi's component provider reads these annotations at runtime.
from typing import TypedDict


class SecretStoreSpec(TypedDict, total=False):
    """``SecretStoreConfig`` as plain data. Secrets Manager + KMS + External Secrets Operator."""
    refresh_interval: str
    """How often External Secrets re-reads Secrets Manager (a rotation reaches the cluster within this interval). Default: ``'1h'``. (stack file key ``refreshInterval``)"""
    recovery_window_days: int
    """Secrets Manager recovery window for deleted secrets (7-30 days). Default: ``30``. (stack file key ``recoveryWindowDays``)"""
