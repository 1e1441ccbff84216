"""Field-level differences between two rendered values: lists matched by their identity (list_identity: containers
by name, env by name, ...), flag lists (``--key=value``) compared as mappings, paths as the render diff prints them."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

from llm_tiers.preview import list_identity


# ---------------------------------------------------------------------------------------------- field diffs


def _flag_map(values: list[str]) -> Optional[dict[str, Any]]:
    """An argument list by flag: ``--flag value``, ``--flag=value``, ``--switch`` (True), ``--flag v1 v2``
    (a list: nargs) and a repeated flag (a sorted list of its values: ``--label a --label b``). Words before
    the first flag are positional, named ``(arg 1)``, ``(arg 2)``. None when the list has no flag."""
    if not values or not all(isinstance(v, str) for v in values) or not any(v.startswith("--") for v in values):
        return None
    out: dict[str, Any] = {}
    seen: dict[str, list[Any]] = {}
    i = 0
    while i < len(values) and not values[i].startswith("--"):
        out[f"(arg {i + 1})"] = values[i]
        i += 1
    while i < len(values):
        flag = values[i]
        if "=" in flag:
            name, value = flag.split("=", 1)
            i += 1
        else:
            j = i + 1
            while j < len(values) and not values[j].startswith("--"):
                j += 1
            words = values[i + 1:j]
            name, value = flag, (True if not words else words[0] if len(words) == 1 else words)  # type: ignore[assignment]
            i = j
        seen.setdefault(name, []).append(value)
    for name, occurrences in seen.items():
        out[name] = occurrences[0] if len(occurrences) == 1 else sorted(occurrences, key=json.dumps)
    return out


def _element(path: str, key: str) -> str:
    return f"{path}[{key}]"


def _list_changes(old: list, new: list, path: str, kind: Optional[str], shape: str) -> list[tuple[str, Any, Any]]:
    """Two lists, paired by the declared identity of their elements (llm_tiers.preview.list_identity), never by
    position."""
    if old == new:
        return []
    rule = list_identity.rule_for(kind, shape) or list_identity.WHOLE
    if rule.how == "flags":
        a, b = _flag_map(old), _flag_map(new)
        if a is None or b is None:
            rule = list_identity.WHOLE
        else:
            out = []
            for k in sorted(set(a) | set(b), key=str):
                if k in a and k in b:  # a flag's value may be a JSON document (the sync Job's --files)
                    out += field_changes(a[k], b[k], _element(path, k), kind, shape + "[]")
                elif a.get(k) != b.get(k):
                    out.append((_element(path, k), a.get(k), b.get(k)))
            return out or [(f"{path} (order)", old, new)]
    if rule.how == "key":
        try:
            a, b = _by_identity(old, rule), _by_identity(new, rule)
        except (KeyError, TypeError):
            rule = list_identity.SET
        else:
            out: list[tuple[str, Any, Any]] = []  # type: ignore[no-redef]
            for k in sorted(set(a) | set(b), key=str):
                if k in a and k in b:
                    out += field_changes(a[k], b[k], _element(path, k), kind, shape + "[]")
                else:
                    out.append((_element(path, k), a.get(k), b.get(k)))
            common = [k for k in a if k in b]
            if not out and common != [k for k in b if k in a]:
                out.append((f"{path} (order)", [k for k in a], [k for k in b]))
            return out
    if rule.how == "set":
        dumps_old, dumps_new = [_canonical(v) for v in old], [_canonical(v) for v in new]
        gone = [v for v, d in zip(old, dumps_old) if d not in dumps_new]
        came = [v for v, d in zip(new, dumps_new) if d not in dumps_old]
        if gone or came:
            return [(f"{path}[-]", v, None) for v in gone] + [(f"{path}[+]", None, v) for v in came]
        return [(f"{path} (order)", old, new)]
    return [(path or "(value)", old, new)]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _by_identity(values: list, rule: list_identity.Rule) -> dict[str, Any]:
    """Elements by identity; a repeated identity gets its occurrence (``key #2``), so nothing is lost."""
    out: dict[str, Any] = {}
    ids = [rule.identity(v) for v in values]
    if rule.repeats:
        ids = [k if ids.count(k) == 1 else f"{k} ({hashlib.sha256(_canonical(v).encode()).hexdigest()[:8]})"
               for k, v in zip(ids, values)]
    for k, v in zip(ids, values):
        n, base = 1, k
        while k in out:
            n += 1
            k = f"{base} #{n}"
        out[k] = v
    return out


def field_changes(old: Any, new: Any, path: str = "", kind: Optional[str] = None,
                  shape: str = "") -> list[tuple[str, Any, Any]]:
    """(path, old, new) for every leaf that differs. ``kind`` (a Kubernetes kind, a Pulumi type, or
    ``outputs``) selects how each list's elements are paired (llm_tiers.preview.list_identity): by identity, by
    flag, as a set, or whole; never by position. ``shape`` is ``path`` with list elements written ``[]``."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            sub_shape = f"{shape}.{key}" if shape else str(key)
            if key not in old:
                out.append((sub, None, new[key]))
            elif key not in new:
                out.append((sub, old[key], None))
            else:
                out += field_changes(old[key], new[key], sub, kind, sub_shape)
        return out
    if isinstance(old, list) and isinstance(new, list):
        return _list_changes(old, new, path, kind, shape)
    if isinstance(old, str) and isinstance(new, str) and old[:1] in "{[" and new[:1] in "{[":
        try:  # JSON documents (IAM policies, dashboards) are compared as documents
            return field_changes(json.loads(old), json.loads(new), path + "<json>", kind, shape + "<json>")
        except ValueError:
            pass
    return [] if old == new else [(path or "(value)", old, new)]
