"""The CRDs' CEL rules (``x-kubernetes-validations``) evaluated as the API server evaluates them on create.

Evaluator: ``common-expression-language`` (PyPI, Python bindings over the Rust ``cel`` crate; already pinned in
requirements.txt for the gateway's authorization expressions). One evaluator for both, maintained, compiled
(fast enough to run on every render), and it lets us register the few functions Kubernetes adds to CEL as
plain Python callables. cel-python (the other maintained choice) is pure Python, several times slower, and
has no more of the Kubernetes libraries built in.

What Kubernetes adds to CEL (kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/cel/library, v1.34) and
how each is covered here:

* ``self`` (the value at the schema node that carries the rule), ``has()``, ``size``, ``matches`` (RE2;
  the Rust ``regex`` crate has the same linear-time syntax), ``contains``/``startsWith``/``endsWith``,
  ``duration()`` (Go duration strings), ``int()``, macros (``all``, ``exists``, ``exists_one``, ``map``,
  ``filter``): native to the evaluator.
* strings extension (``lowerAscii``, ``upperAscii``, ``split``, ``substring``, ``join``, ``replace``, ``trim``,
  ``indexOf``, ...) and lists extension (``sum``, ``min``, ``max``, ``flatten``, ``slice``, ``sort``,
  ``distinct``, ...): ``cel.stdlib`` of the same package.
* Kubernetes regex library ``find``/``findAll``, IP library ``isIP``/``ip``, CIDR ``isCIDR``, URL ``isURL``,
  ``format.<name>().validate()``: implemented below (``_FUNCTIONS``).
* ``quantity()``, ``url()`` accessors, ``ip()``/``cidr()`` objects, ``messageExpression``: not used by any
  rule of the pinned CRDs; a rule that calls a function the evaluator does not know is a *gap* (listed by
  ``gaps()``, reported by the render as a problem, never a silent pass).
* ``oldSelf`` (transition rules): the API server evaluates them only on update; a render is a create, so they
  are skipped and listed (``transition_rules()``).

A rule that raises while evaluating (a field it reads without ``has()`` is absent, a type mismatch) fails,
as the API server reports such a rule as invalid.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import urlparse

import cel
from cel import stdlib


def _find(value: str, pattern: str) -> str:
    match = re.search(pattern, value)
    return match.group(0) if match else ""


def _find_all(value: str, pattern: str, limit: int = -1) -> list[str]:
    found = [m.group(0) for m in re.finditer(pattern, value)]
    return found if limit < 0 else found[:limit]


def _is_ip(value: str) -> bool:
    # k8s.io/apiserver/pkg/cel/library/ip.go: no zone, no IPv4-mapped IPv6, no leading zeros.
    if "%" in value:
        return False
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return False
    return not (isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None)


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value


def _is_url(value: str) -> bool:
    # library/urls.go: an absolute URI or an absolute path (url.ParseRequestURI).
    parsed = urlparse(value)
    return bool(parsed.scheme and (parsed.netloc or parsed.path)) or value.startswith("/")


# format.<name>() (library/format.go): the name selects apimachinery's validator; validate() returns the
# error list, null when valid.
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_FORMATS: dict[str, Callable[[str], bool]] = {
    "dns1123Label": lambda s: len(s) <= 63 and bool(_DNS1123_LABEL.match(s)),
    "dns1123Subdomain": lambda s: len(s) <= 253 and bool(_DNS1123_SUBDOMAIN.match(s)),
    "dns1035Label": lambda s: len(s) <= 63 and bool(_DNS1035_LABEL.match(s)),
    "qualifiedName": lambda s: len(s.rpartition("/")[2]) <= 63 and bool(
        re.match(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$", s.rpartition("/")[2])),
    "labelValue": lambda s: len(s) <= 63 and bool(re.match(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$", s)),
    "uuid": lambda s: bool(re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", s)),
}


def _validate(fmt: Any, value: str) -> Optional[list[str]]:
    name = fmt.get("format") if isinstance(fmt, dict) else None
    check = _FORMATS.get(name or "")
    if check is None:
        raise RuntimeError(f"format {name!r} is not implemented")
    return None if check(value) else [f"{value!r} is not a valid {name}"]


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "find": _find, "findAll": _find_all, "isIP": _is_ip, "isCIDR": _is_cidr, "isURL": _is_url,
    "validate": _validate,
    **{f"format.{name}": (lambda n: lambda: {"format": n})(name) for name in _FORMATS},
}

# Functions and operators the evaluator runs natively (the Rust crate's standard library, its operator
# overloads and macros), as ``Program.functions()`` names them.
_NATIVE = frozenset({
    "!_", "-_", "_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_", "_&&_", "_||_", "_?_:_", "_+_", "_-_", "_*_", "_/_",
    "_%_", "_[_]", "@in", "@not_strictly_false", "size", "matches", "contains", "startsWith", "endsWith",
    "duration", "timestamp", "int", "uint", "double", "string", "bytes", "bool", "type", "dyn", "has", "all",
    "exists", "exists_one", "map", "filter", "max", "min",
})


def supported_functions() -> frozenset[str]:
    # ``format.dns1123Label()`` is a member call on ``format``: Program.functions() names it ``dns1123Label``.
    return _NATIVE | frozenset(_FUNCTIONS) | frozenset(_FORMATS) | frozenset(stdlib.STDLIB_FUNCTIONS)


@dataclass(frozen=True)
class Rule:
    rule: str
    message: str


@functools.lru_cache(maxsize=None)
def _compiled(rule: str) -> "cel.Program":
    return cel.compile(rule)


def missing_functions(rule: str) -> list[str]:
    """Functions a rule calls that the evaluator cannot run (empty: it runs); raises if it does not parse."""
    return sorted(set(_compiled(rule).functions()) - supported_functions())


def is_transition(rule: str) -> bool:
    return "oldSelf" in _compiled(rule).variables()


@functools.lru_cache(maxsize=1)
def _context() -> "cel.Context":
    ctx = cel.Context()
    stdlib.add_stdlib_to_context(ctx)
    for name, fn in _FUNCTIONS.items():
        ctx.add_function(name, fn)
    return ctx


def evaluate(rule: str, value: Any) -> tuple[bool, Optional[str]]:
    """(passed, error): ``error`` says why the rule could not be evaluated (the API server then refuses the
    object too: "compilation/evaluation error")."""
    missing = missing_functions(rule)
    if missing:
        return False, f"not evaluated: the evaluator has no {', '.join(missing)} (a listed gap)"
    ctx = _context()
    ctx.add_variable("self", value)
    try:
        result = _compiled(rule).execute(ctx)
    except Exception as exc:  # noqa: BLE001 - any evaluation error fails the rule, as in the API server
        return False, f"evaluation error: {type(exc).__name__}: {exc}"
    if not isinstance(result, bool):
        return False, f"evaluation error: the rule returned {type(result).__name__}, not bool"
    return result, None


def rules_of(schema: dict[str, Any]) -> list[Rule]:
    return [Rule(v["rule"], v.get("message") or f"failed rule: {v['rule']}")
            for v in schema.get("x-kubernetes-validations") or []]


def walk_rules(schema: Any, path: str = "") -> Iterator[tuple[str, Rule]]:
    """Every rule in a schema with the path of the node that carries it (``[]`` for list items / map values)."""
    if not isinstance(schema, dict):
        return
    for r in rules_of(schema):
        yield path, r
    for key, sub in (schema.get("properties") or {}).items():
        yield from walk_rules(sub, f"{path}.{key}" if path else key)
    if isinstance(schema.get("items"), dict):
        yield from walk_rules(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from walk_rules(schema["additionalProperties"], f"{path}[*]")
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            yield from walk_rules(sub, path)


def problems(value: Any, schema: Any, path: str = "") -> list[str]:
    """Every CEL rule that fails on ``value`` (already defaulted), evaluated at each node present in it:
    ``<path>: <message> (rule: <rule>)``. Transition rules (``oldSelf``) are skipped: a render is a create."""
    out: list[str] = []
    if not isinstance(schema, dict) or value is None:
        return out
    for r in rules_of(schema) + [r for k in ("allOf", "anyOf", "oneOf") for s in schema.get(k) or []
                                 if isinstance(s, dict) for r in rules_of(s)]:
        if is_transition(r.rule):
            continue
        ok, error = evaluate(r.rule, value)
        if not ok:
            out.append(f"{path or '(root)'}: {r.message}" + (f" [{error}]" if error else "") + f" (rule: {r.rule})")
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, sub in value.items():
            if key in props:
                out += problems(sub, props[key], f"{path}.{key}" if path else key)
            elif isinstance(extra, dict):
                out += problems(sub, extra, f"{path}.{key}" if path else key)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            out += problems(item, schema["items"], f"{path}[{i}]")
    return out
