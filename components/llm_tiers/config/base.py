"""Shared pieces of the config schema: constrained types, patterns and the model base every section uses."""

from __future__ import annotations

import difflib
import ipaddress
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from llm_tiers import versions

# --------------------------------------------------------------------------------------------------
# Reusable constrained types
# --------------------------------------------------------------------------------------------------

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# A Service name (RFC 1035 label): a tier's name is its Service's name, which must start with a letter.
DNS_1035_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
# A Kubernetes label value (tenant names end up in labels and headers).
LABEL_VALUE = r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$"
DNS_NAME_OR_LABEL = r"^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$"
DNS_NAME = r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]+$"
ACM_ARN = r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$"
DURATION = r"^([1-9][0-9]*)(s|m|h)$"
PROM_DURATION = r"^([1-9][0-9]*)(h|d|w|y)$"
MODEL_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$"
INSTANCE_TYPE = r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"
HOSTED_ZONE_ID = r"^Z[A-Z0-9]{1,31}$"

Name = Annotated[str, StringConstraints(pattern=DNS_LABEL, min_length=1, max_length=40)]
TierName = Annotated[str, StringConstraints(pattern=DNS_1035_LABEL, min_length=1, max_length=40)]
TenantName = Annotated[str, StringConstraints(pattern=LABEL_VALUE, min_length=1, max_length=63)]
RoleArn = Annotated[str, StringConstraints(pattern=ROLE_ARN)]
Duration = Annotated[str, StringConstraints(pattern=DURATION)]
PositiveInt = Annotated[int, Field(gt=0)]

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)

# TGI 3.3.x ``--quantize`` and ``--dtype`` values (launcher/src/main.rs Quantization and Dtype enums at
# huggingface/text-generation-inference v3.3.6; tiers/tgi.py builds the flags from them).
QUANTIZE = ("awq", "compressed-tensors", "eetq", "exl2", "gptq", "marlin", "bitsandbytes", "bitsandbytes-nf4",
            "bitsandbytes-fp4", "fp8")
DTYPES = ("float16", "bfloat16")
Quantize = Literal[QUANTIZE]  # type: ignore[valid-type]
Dtype = Literal[DTYPES]  # type: ignore[valid-type]


def _cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not an IPv4 CIDR block ({exc}); write it like 10.0.0.0/16") from None
    return str(net)


Cidr = Annotated[str, Field(json_schema_extra={"format": "ipv4-cidr"})]


class _Model(BaseModel):
    """Base for every section: camelCase keys, unknown keys rejected, immutable once parsed."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        validate_default=True,
        # python-re: the DNS-name pattern needs a look-ahead for its length bound.
        regex_engine="python-re",
    )
