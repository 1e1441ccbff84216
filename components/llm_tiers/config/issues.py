"""Problems found in a stack config or a component's args, each at its key path.

Data only (no Pulumi, no domain package): the stack loader, every domain's ``rules`` and every component's own
check report through these types, so one wording serves ``tiers[1].maxTotalTokens`` in a stack file and
``args.tier.max_total_tokens`` in a composed ``ModelTier``.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel

from llm_tiers.config.base import (ACM_ARN, DNS_1035_LABEL, DNS_LABEL, DNS_NAME, DURATION, HOSTED_ZONE_ID,
                                   INSTANCE_TYPE, LABEL_VALUE, MODEL_ID, PROM_DURATION, ROLE_ARN)


class ConfigIssue(typing.NamedTuple):
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(ValueError):
    """The stack config is invalid. ``issues`` holds every problem found."""

    def __init__(self, issues: Iterable[ConfigIssue], stack_file: str = "the stack config",
                 partial: Optional[Any] = None,
                 hint: str = "Fix them in the stack file (see docs/config.md); nothing was created."):
        self.issues = sorted(set(issues), key=lambda i: (_path_sort_key(i.path), i.message))
        self.partial = partial
        """What did validate, for the checks of later layers (models lock, capacity): the whole config when only
        cross-field checks failed; otherwise a ``StackConfig.model_construct`` of the sections that validated
        on their own, with ``None`` in place of each tier that did not (so key paths keep their indices)."""
        lines = "\n".join(f"  - {i}" for i in self.issues)
        super().__init__(
            f"{len(self.issues)} problem(s) in {stack_file}:\n{lines}\n{hint}")


def _path_sort_key(path: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", path) if p]


def _fmt_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated/list/dict down to the model class a key path walks into."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin is Union:
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        else:
            return annotation


def _model_at(loc: tuple[Any, ...], root: type[BaseModel], python_names: bool = False) -> Optional[type[BaseModel]]:
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if origin in (list, dict):
            current = typing.get_args(current)[-1]
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items()
                          if (n if python_names else (f.alias or n)) == part), None)
            if field is None:
                return None
            current = field.annotation
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def issue_from_pydantic(err: Mapping[str, Any], root: type[BaseModel], prefix: str = "",
                        python_names: bool = False) -> ConfigIssue:
    """One pydantic error of validating ``root`` as a ConfigIssue at its key path (under ``prefix``), worded for
    the person who wrote the value: unknown keys with a did-you-mean, patterns with a hint."""
    loc = tuple(err["loc"])
    kind = err["type"]
    path = _fmt_path(loc)
    if prefix:
        path = prefix if path == "(root)" else (f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}")
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1], root, python_names)
        allowed = (list(parent.model_fields) if python_names else _allowed_keys(parent)) if parent else []
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean `{guess[0]}`? " if guess else ""
        return ConfigIssue(path, f"unknown key; {hint}allowed keys here: {', '.join(allowed)}")
    if kind == "missing":
        return ConfigIssue(path, "required key is missing; add it (see docs/config.md)")
    if kind == "string_pattern_mismatch":
        return ConfigIssue(path, f"{_shown_input(err['input'])} is not valid: {_pattern_hint(err['ctx']['pattern'])}")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return ConfigIssue(path, f"{msg} (got {_shown_input(err['input'])})" if "input" in err and not isinstance(
        err["input"], (dict, list)) else msg)


def _shown_input(value: Any, limit: int = 80) -> str:
    """A value as an error message quotes it: a long one cut (a 2 MiB string must not become a 2 MiB message)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value)} characters" if isinstance(value, str) else f"{len(text)} characters as written"
    return f"{text[:limit]}... ({size})"


_PATTERN_HINTS = {
    DNS_LABEL: "use lowercase letters, digits and '-', starting and ending with a letter or digit",
    DNS_1035_LABEL: "it names a Kubernetes Service (an RFC 1035 label): use lowercase letters, digits and '-', "
                    "starting with a letter and ending with a letter or digit",
    LABEL_VALUE: "use lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    DNS_NAME: "must be a fully qualified DNS name such as api.example.com (lowercase)",
    ROLE_ARN: "must be an IAM role ARN like arn:aws:iam::111122223333:role/platform-admin",
    ACM_ARN: "must be an ACM certificate ARN like arn:aws:acm:us-east-1:111122223333:certificate/<uuid>",
    DURATION: "must be a duration like 30s, 15m or 1h",
    PROM_DURATION: "must be a Prometheus retention like 15d, 12h or 2w",
    MODEL_ID: "must be a Hugging Face model id like meta-llama/Llama-3.1-8B-Instruct",
    INSTANCE_TYPE: "must be an EC2 instance type like g6.xlarge",
    HOSTED_ZONE_ID: "must be a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ (without /hostedzone/)",
}


def _pattern_hint(pattern: str) -> str:
    return _PATTERN_HINTS.get(pattern, f"must match {pattern}")
