"""What every component does with its ``args`` before it registers anything, and how the stack builds them.

A component's args are a ``TypedDict`` of plain values (and ``pulumi.Input``s where a value comes from another
resource): the shape Pulumi's component provider infers a schema from, so TypeScript, Go, C# and YAML programs get the
same components (``provider/``). The constructor first collects every problem and refuses with one error naming
each at its ``args.`` path, so a composed component is checked exactly as the stack's loader checks a stack file:

- :func:`shape_issues`: unknown keys (with a did-you-mean), missing required keys, values of the wrong type, walked
  through nested dictionaries, lists and maps;
- :func:`section`: a config section (``TierSpec``, ``GatewaySpec``, ...) validated by its model in
  ``llm_tiers.config`` (ranges, patterns, defaults, cross-field rules), errors at ``args.<key>.<field>``;
- the domain's own ``rules`` on what validated;
- :func:`refuse`: raises :class:`ArgsError` (a ``pulumi.RunError``: the CLI prints the message, not a traceback).

The stack layer turns the validated config back into args with :func:`spec_of`.
"""

from __future__ import annotations

import collections.abc
import difflib
import ipaddress
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional, TypeVar, Union

import pulumi
from pydantic import BaseModel, ValidationError

from llm_tiers.config.issues import ConfigIssue, _path_sort_key, _shown_input, issue_from_pydantic

M = TypeVar("M", bound=BaseModel)


class ArgsError(pulumi.RunError):
    """A component's args are invalid; ``issues`` holds every problem, each at its ``args.`` path."""

    def __init__(self, component: str, resource_name: str, issues: Iterable[ConfigIssue]):
        self.issues = sorted(set(issues), key=lambda i: (_path_sort_key(i.path), i.message))
        lines = "\n".join(f"  - {i}" for i in self.issues)
        super().__init__(f"{component} {resource_name!r}: {len(self.issues)} problem(s) in its args:\n{lines}\n"
                         f"Nothing was created (see docs/components/ for every arg).")


def refuse(component: str, resource_name: str, issues: Sequence[ConfigIssue]) -> None:
    """Raise :class:`ArgsError` when there is any issue."""
    if issues:
        raise ArgsError(component, resource_name, issues)


def _is_output_like(value: Any) -> bool:
    return isinstance(value, (pulumi.Output, collections.abc.Awaitable))


# ``pulumi.Input[T]`` is ``Union[T, Awaitable[T], "Output[T]"]``: its forward reference names ``Output`` and ``T``,
# which the module declaring an args TypedDict need not import (pulumi/output.py, ``Input``).
_INPUT_NAMES = {"Output": pulumi.Output, "T": TypeVar("T")}


def _typeddict_hints(spec: type) -> dict[str, Any]:
    return typing.get_type_hints(spec, localns=_INPUT_NAMES, include_extras=False)


def _unwrap_input(annotation: Any) -> tuple[Any, bool]:
    """``pulumi.Input[T]`` -> (T, True); anything else unchanged."""
    if typing.get_origin(annotation) is Union:
        args = typing.get_args(annotation)
        plain = [a for a in args if typing.get_origin(a) not in (pulumi.Output, collections.abc.Awaitable)
                 and a is not pulumi.Output and a is not type(None)]
        if len(plain) < len([a for a in args if a is not type(None)]) and len(plain) == 1:
            return plain[0], True
    return annotation, False


def shape_issues(value: Any, spec: Any, path: str = "args") -> list[ConfigIssue]:
    """Every way ``value`` does not have the shape ``spec`` (a TypedDict or a plain annotation) declares."""
    annotation, accepts_output = _unwrap_input(spec)
    if accepts_output and _is_output_like(value):
        return []
    origin = typing.get_origin(annotation)
    if origin is Union:  # Optional[T]
        if value is None:
            return []
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return shape_issues(value, inner[0], path) if len(inner) == 1 else []
    if annotation is Any:
        return []
    if _is_output_like(value):
        return [ConfigIssue(path, "must be a plain value here, not an Output: the component reads it while it "
                                  "declares its resources")]
    if typing.is_typeddict(annotation):
        if not isinstance(value, Mapping):
            return [ConfigIssue(path, f"must be a mapping of {annotation.__name__} keys (got {type(value).__name__})")]
        hints = _typeddict_hints(annotation)
        required: frozenset[str] = getattr(annotation, "__required_keys__", frozenset())
        issues = []
        for key in value:
            if key not in hints:
                guess = difflib.get_close_matches(str(key), list(hints), n=1)
                hint = f"did you mean `{guess[0]}`? " if guess else ""
                issues.append(ConfigIssue(f"{path}.{key}", f"unknown key; {hint}allowed keys here: {', '.join(hints)}"))
        for key in sorted(required):
            if key not in value or value[key] is None:
                issues.append(ConfigIssue(f"{path}.{key}", "required; see the component's docs for what to pass"))
        for key, hint in hints.items():
            if key in value and value[key] is not None:
                issues += shape_issues(value[key], hint, f"{path}.{key}")
        return issues
    if origin in (list, collections.abc.Sequence):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            return [ConfigIssue(path, f"must be a list (got {type(value).__name__})")]
        (item,) = typing.get_args(annotation) or (Any,)
        return [i for n, v in enumerate(value) for i in shape_issues(v, item, f"{path}[{n}]")]
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, Mapping):
            return [ConfigIssue(path, f"must be a mapping (got {type(value).__name__})")]
        key_type, item = typing.get_args(annotation) or (str, Any)
        issues = [ConfigIssue(f"{path}.{k}", "keys must be strings") for k in value if not isinstance(k, str)]
        return issues + [i for k, v in value.items() for i in shape_issues(v, item, f"{path}.{k}")]
    if annotation is bool:
        return (
            [] if isinstance(value, bool) else [ConfigIssue(path, f"must be true or false (got {_shown_input(value)})")]
        )
    if annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool) or (isinstance(value, float) and value.is_integer())
        return [] if ok else [ConfigIssue(path, f"must be a whole number (got {_shown_input(value)})")]
    if annotation is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [ConfigIssue(path, f"must be a number (got {_shown_input(value)})")]
    if annotation is str:
        return [] if isinstance(value, str) else [ConfigIssue(path, f"must be a string (got {_shown_input(value)})")]
    return []


def section(model: type[M], value: Any, path: str) -> tuple[Optional[M], list[ConfigIssue]]:
    """``value`` (a spec dictionary, snake_case or camelCase keys) validated by the section's model, or the problems
    at ``path.<key>``. A model instance passes through."""
    if isinstance(value, model):
        return value, []
    try:
        return model.model_validate(dict(value) if isinstance(value, Mapping) else value), []
    except ValidationError as exc:
        return None, [
            issue_from_pydantic({**err, "loc": _python_loc(model, err["loc"])}, model, path, python_names=True)
            for err in exc.errors()
        ]


def _python_loc(model: type[BaseModel], loc: Sequence[Any]) -> tuple[Any, ...]:
    """A pydantic error location (stack-file camelCase aliases) in the Python key names the args use."""
    out: list[Any] = []
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            name, field = next(
                ((n, f) for n, f in current.model_fields.items() if (f.alias or n) == part or n == part), (part, None)
            )
            out.append(name)
            current = field.annotation if field is not None else None
        else:
            out.append(part)
            if typing.get_origin(current) in (list, dict):
                current = typing.get_args(current)[-1]
    return tuple(out)


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin is Union:
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation


def sections(model: type[M], values: Any, path: str) -> tuple[list[M], list[ConfigIssue]]:
    """A list of sections, each validated as :func:`section` does (``path[i].<key>``)."""
    out, issues = [], []
    for i, value in enumerate(values or ()):
        parsed, found = section(model, value, f"{path}[{i}]")
        issues += found
        if parsed is not None:
            out.append(parsed)
    return out, issues


def spec_of(model: BaseModel) -> Any:
    """A validated config section as the plain spec dictionary a component takes (what the stack layer passes).
    Only the keys the stack file set: validating it again gives back an equal model, defaults included."""
    return model.model_dump(mode="python", exclude_unset=True)


def resources(value: Any) -> list[pulumi.Resource]:
    """``opts.depends_on`` as a list (it may be one resource, a list, or nothing)."""
    if value is None:
        return []
    if isinstance(value, pulumi.Resource):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, pulumi.Resource)]
    return []


def get(args: Mapping[str, Any], key: str, default: Any) -> Any:
    """``args[key]``, or ``default`` when it is missing or None (a provider sends None for an unset input)."""
    value = args.get(key)
    return default if value is None else value


# Kubernetes names and network blocks, as every component's args use them.
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def namespace_issues(args: Mapping[str, Any], keys: tuple[str, ...], path: str = "args") -> list[ConfigIssue]:
    """Each of ``keys`` that is set must be a Kubernetes namespace name (an RFC 1123 label)."""
    return [ConfigIssue(f"{path}.{k}", f"{args[k]!r} is not a namespace name: use lowercase letters, digits and "
                                       "'-', at most 63 characters")
            for k in keys if isinstance(args.get(k), str) and not (_NAMESPACE.match(args[k]) and len(args[k]) <= 63)]


def cidr_issues(values: Any, path: str) -> list[ConfigIssue]:
    """Each entry an IPv4 CIDR block."""
    issues = []
    for i, value in enumerate(values or ()):
        try:
            ipaddress.IPv4Network(value, strict=True)
        except (ValueError, TypeError) as exc:
            issues.append(ConfigIssue(f"{path}[{i}]", f"{value!r} is not an IPv4 CIDR block ({exc}); write it like "
                                                      "10.0.0.0/16"))
    return issues


# Stack-file key paths restated at a component's args paths (a domain rule reports at the stack file's keys; a
# component names the same problem at its own arg).
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def args_path(model: type[BaseModel], stack_path: str, stack_prefix: str, args_prefix: str) -> str:
    """A stack-file key path under ``stack_prefix`` (camelCase aliases: ``observability.tracing.otlpEndpoint``) as
    the args path of the same value (Python names: ``args.settings.tracing.otlp_endpoint``), through ``model``'s
    fields. A path outside ``stack_prefix`` is returned as it is."""
    if not stack_path.startswith(stack_prefix):
        return stack_path
    loc: list[Any] = [int(index) if index else key for key, index in _PATH_PART.findall(stack_path[len(stack_prefix):])]
    return args_prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in _python_loc(model, loc))


def restated(issues: Iterable[ConfigIssue], stack_prefix: str, args_prefix: str,
             model: type[BaseModel]) -> list[ConfigIssue]:
    """Stack-file issues, every one under ``stack_prefix``, at ``args_prefix`` with the Python key names
    (:func:`args_path`): ``cluster.publicAccessCidrs[1]`` -> ``args.settings.public_access_cidrs[1]``. The message is
    kept."""
    out = []
    for issue in issues:
        if not issue.path.startswith(stack_prefix):
            raise ValueError(f"{issue.path!r} is not under {stack_prefix!r}")
        out.append(ConfigIssue(args_path(model, issue.path, stack_prefix, args_prefix), issue.message))
    return out


def snake_path(path: str) -> str:
    """A key path's camelCase names in snake_case (``tls.certificateArn`` -> ``tls.certificate_arn``), for sections
    whose keys have no acronym (where :func:`args_path` reads the model's own names)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), path)
