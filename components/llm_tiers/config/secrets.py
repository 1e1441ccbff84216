"""The ``secretStore`` section."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union  # noqa: F401

from pydantic import Field, StringConstraints, field_validator, model_validator  # noqa: F401

# The shared types and patterns (and the modules the validators use), by name.
from llm_tiers.config.base import *  # noqa: F401,F403
from llm_tiers.config.base import _cidr, _Model  # noqa: F401


class SecretStoreConfig(_Model):
    """Secrets Manager + KMS + External Secrets Operator."""

    refresh_interval: Duration = Field(
        "1h", description="How often External Secrets re-reads Secrets Manager (a rotation reaches the "
                          "cluster within this interval).")
    recovery_window_days: int = Field(
        30, ge=7, le=30, description="Secrets Manager recovery window for deleted secrets (7-30 days).")
