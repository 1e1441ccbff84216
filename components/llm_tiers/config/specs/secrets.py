"""The ``secrets`` config section(s) as plain typed dicts (generated: see ``llm_tiers.config.specs``)."""

# No ``from __future__ import annotations``: Pulumi's component provider reads these annotations at runtime.
from typing import TypedDict


class SecretStoreSpec(TypedDict, total=False):
    """``SecretStoreConfig`` as plain data. Secrets Manager + KMS + External Secrets Operator."""
    refresh_interval: str
    """How often External Secrets re-reads Secrets Manager (a rotation reaches the cluster within this interval). Default: ``'1h'``. (stack file key ``refreshInterval``)"""
    recovery_window_days: int
    """Secrets Manager recovery window for deleted secrets (7-30 days). Default: ``30``. (stack file key ``recoveryWindowDays``)"""
