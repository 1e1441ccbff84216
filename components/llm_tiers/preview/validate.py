"""Validate rendered Kubernetes objects as the API server would receive them.

* Core objects: kubernetes-validate in strict mode (unknown fields rejected) against the stack's
  Kubernetes version.
* Names and labels (every object): the API server's name rules, which the schemas do not carry — a
  Service name must be an RFC 1035 label, a namespace an RFC 1123 label, other names DNS-1123 subdomains,
  label keys and values within their formats.
* Custom resources: the served version's ``openAPIV3Schema`` from the pinned CRDs in ``CRD_SCHEMA_DIR``
  (``find_crd_dir``: ``llm-tiers-crds fetch``, or CI's copy), made strict the way ``kubectl apply --validate=strict``
  is: an object schema with ``properties`` rejects unknown fields unless it says
  ``x-kubernetes-preserve-unknown-fields``. As the API server does, the schema's ``default`` values are applied first;
  every limit (``maxItems``, ``maxLength``, ``pattern``, ``enum``, ...) and the formats the pinned CRDs use (int32,
  int64, byte, date-time, ipv4, ipv6) are checked; then every CEL rule (``x-kubernetes-validations``) at each node
  present in the object is evaluated (``k8s_cel``: transition rules, which need ``oldSelf``, are skipped as on a
  create; a rule the evaluator cannot run fails and is listed by ``cel_gaps``).

``check(objects, kubernetes_version, crd_dir)`` is what the render runs on every object it renders; the CRD
folder is ``$LLM_TIERS_CRD_DIR``, else ``$CRD_SCHEMA_DIR``, else ``<project>/.crds`` (what
``llm-tiers-crds fetch --dest .crds`` writes).

    python -m llm_tiers.preview.validate build/prod/kubernetes.yaml --kubernetes-version 1.34 --crds .crds
"""

from __future__ import annotations

import argparse
import base64
import copy
import functools
import ipaddress
import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import jsonschema
import yaml

from llm_tiers.preview import k8s_cel

CRD_ENV = "CRD_SCHEMA_DIR"
# Where a user's render and ``pulumi preview`` look for the pinned CRDs (before CRD_ENV, then <project>/.crds).
USER_CRD_ENV = "LLM_TIERS_CRD_DIR"
FETCH_CACHE = ".crds"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    object: str
    message: str

    def __str__(self) -> str:
        return f"{self.object}: {self.message}"


# API groups Kubernetes serves itself (validated by kubernetes-validate); anything else is a custom resource.
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "storage.k8s.io", "rbac.authorization.k8s.io",
    "apiextensions.k8s.io", "admissionregistration.k8s.io", "coordination.k8s.io", "scheduling.k8s.io",
    "node.k8s.io", "discovery.k8s.io", "certificates.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
    "resource.k8s.io",
})


def is_builtin(obj: dict[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).rpartition("/")[0] in BUILTIN_GROUPS


def describe(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('apiVersion')} {obj.get('kind')} {ns}{meta.get('name')}"


def crd_dir_from_env() -> Optional[Path]:
    value = os.environ.get(CRD_ENV)
    return Path(value) if value else None


def find_crd_dir(project_dir: Optional[Path] = None) -> Optional[Path]:
    """The pinned CRD schemas, wherever they are at hand: ``$LLM_TIERS_CRD_DIR``, ``$CRD_SCHEMA_DIR``, else
    ``<project>/.crds`` when ``llm-tiers-crds fetch --dest .crds`` filled it; None when none is."""
    for env in (USER_CRD_ENV, CRD_ENV):
        if os.environ.get(env):
            return Path(os.environ[env])
    if project_dir is None:
        from llm_tiers.project import root
        project_dir = root()
    cache = project_dir / FETCH_CACHE
    return cache if cache.is_dir() and any(cache.glob("*.yaml")) else None


def _strict(schema: Any) -> Any:
    """Copy of an OpenAPI v3 structural schema as JSON Schema that rejects unknown fields."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def load_crd_schemas(crd_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(apiVersion, kind): strict JSON schema}`` for every served version of every CRD in the folder."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(crd_dir.glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=_LOADER):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec.get("versions", []):
                if not version.get("served", True):
                    continue
                schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                # metadata is the API server's: checked separately (name required), not by the CRD.
                schema.get("properties", {}).pop("metadata", None)
                strict = _strict(schema)
                strict.setdefault("properties", {})["metadata"] = {"type": "object"}
                schemas[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = strict
    return schemas


@functools.lru_cache(maxsize=4)
def _cached_schemas(crd_dir: str) -> dict[tuple[str, str], dict[str, Any]]:
    return load_crd_schemas(Path(crd_dir))


def apply_defaults(value: Any, schema: Any) -> Any:
    """A copy of ``value`` with the schema's ``default`` values filled in where a field is absent, as the API
    server defaults a custom resource before it validates it (structural defaulting, apiextensions-apiserver
    pkg/apiserver/schema/defaulting)."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        out = dict(value)
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key not in out and isinstance(sub, dict) and "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        return {k: apply_defaults(v, props[k] if k in props else extra) for k, v in out.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(v, schema["items"]) for v in value]
    return value


def _format_checker() -> jsonschema.FormatChecker:
    """The formats the pinned CRDs use, checked as kube-openapi's strfmt does."""
    checker = jsonschema.FormatChecker(formats=())

    def bounded(bits: int):
        return lambda v: not isinstance(v, int) or isinstance(v, bool) or -(2 ** (bits - 1)) <= v < 2 ** (bits - 1)

    def b64(v: Any) -> bool:
        if not isinstance(v, str):
            return True
        try:
            base64.b64decode(v, validate=True)
            return True
        except ValueError:
            return False

    def ip(version: int):
        def check(v: Any) -> bool:
            if not isinstance(v, str):
                return True
            try:
                return ipaddress.ip_address(v).version == version
            except ValueError:
                return False
        return check

    def date_time(v: Any) -> bool:
        return not isinstance(v, str) or bool(re.match(
            r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", v))

    for name, fn in (("int32", bounded(32)), ("int64", bounded(64)), ("byte", b64), ("ipv4", ip(4)),
                     ("ipv6", ip(6)), ("date-time", date_time)):
        checker.checks(name)(fn)
    return checker


_FORMATS = _format_checker()


def validate_custom_resource(obj: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Schema (with every limit and format) and CEL problems of one custom resource, after defaulting."""
    obj = apply_defaults(obj, schema)
    validator = jsonschema.Draft7Validator(schema, format_checker=_FORMATS)
    errors = [f"{_path(e.absolute_path)}: {_message(e)}"
              for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))]
    return errors + k8s_cel.problems(obj, schema)


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def _message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, with sizes instead of the whole (possibly huge) value for the size limits."""
    v, limit = error.instance, error.validator_value
    if error.validator in ("maxItems", "minItems") and isinstance(v, list):
        return f"{len(v)} items {'>' if error.validator == 'maxItems' else '<'} {error.validator} {limit}"
    if error.validator in ("maxLength", "minLength") and isinstance(v, str):
        return f"{len(v)} characters {'>' if error.validator == 'maxLength' else '<'} {error.validator} {limit}"
    if error.validator in ("maxProperties", "minProperties") and isinstance(v, dict):
        return f"{len(v)} properties {'>' if error.validator == 'maxProperties' else '<'} {error.validator} {limit}"
    text = error.message
    return text if len(text) <= 400 else text[:400] + "..."


def validate_core(obj: dict[str, Any], kubernetes_version: str) -> list[str]:
    # Imported here: only the render validates core kinds. The program's own preflight (llm_tiers.preview.preflight,
    # under
    # `pulumi preview`) validates custom resources only, so the deploy virtualenv does without kubernetes-validate's
    # ~100 MB of schemas (requirements.txt vs requirements-dev.txt).
    import kubernetes_validate

    try:
        kubernetes_validate.validate(obj, kubernetes_version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(map(str, exc.path)) if getattr(exc, "path", None) else "(root)"
        return [f"{path}: {exc.message if hasattr(exc, 'message') else str(exc).splitlines()[0]}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {obj.get('apiVersion')} {obj.get('kind')} in Kubernetes {kubernetes_version}"
                " (a custom resource whose CRD is not in the schema folder?)"]
    return []


# Name rules the API server enforces and the OpenAPI schemas do not carry (apimachinery validation).
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
# Kinds whose names are DNS-1035 labels (Services: the name becomes a DNS label and environment variable
# names) or DNS-1123 labels (Namespaces); every other name is a DNS-1123 subdomain.
_NAME_RULES = {"Service": ("an RFC 1035 label (lowercase letters, digits, '-'; starting with a letter)",
                           _DNS1035_LABEL, 63),
               "Namespace": ("an RFC 1123 label", _DNS1123_LABEL, 63)}


def name_problems(obj: dict[str, Any]) -> list[str]:
    """What the API server would refuse about an object's names and labels, which kubernetes-validate does not
    check (its schemas have no name patterns): a Service named ``7b-chat`` passes the schema and is refused."""
    meta = obj.get("metadata") or {}
    out = []
    name = meta.get("name")
    rule, pattern, limit = _NAME_RULES.get(obj.get("kind"), ("a DNS-1123 subdomain", _DNS1123_SUBDOMAIN, 253))  # type: ignore[arg-type]
    if isinstance(name, str) and (len(name) > limit or not pattern.match(name)):
        out.append(f"metadata.name: {name!r} is not {rule} of at most {limit} characters")
    ns = meta.get("namespace")
    if isinstance(ns, str) and (len(ns) > 63 or not _DNS1123_LABEL.match(ns)):
        out.append(f"metadata.namespace: {ns!r} is not an RFC 1123 label")

    def labels(where: str, values: Any) -> None:
        for key, value in (values or {}).items() if isinstance(values, dict) else []:
            prefix, _, label = str(key).rpartition("/")
            if len(label) > 63 or not _LABEL_NAME.match(label) or (prefix and (len(prefix) > 253 or not
                                                                             _DNS1123_SUBDOMAIN.match(prefix))):
                out.append(f"{where}: label key {key!r} is not a qualified name")
            if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
                out.append(f"{where}.{key}: label value {value!r} is not valid (at most 63 characters, "
                           "alphanumerics, '-', '_', '.', starting and ending alphanumeric)")

    labels("metadata.labels", meta.get("labels"))
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    selector = spec.get("selector")  # type: ignore[union-attr]
    if isinstance(selector, dict):
        labels("spec.selector", selector.get("matchLabels", selector if obj.get("kind") == "Service" else None))
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}  # type: ignore[union-attr]
    labels("spec.template.metadata.labels", (template.get("metadata") or {}).get("labels"))  # type: ignore[union-attr]
    return out


def validate_objects(objects: Iterable[dict[str, Any]], kubernetes_version: str,
                     crd_schemas: Optional[dict[tuple[str, str], dict[str, Any]]]) -> tuple[list[Problem], list[str]]:
    """Validate every object. Returns (problems, skipped) — skipped lists custom resources that could not
    be checked because no CRD folder was given."""
    problems: list[Problem] = []
    skipped: list[str] = []
    for obj in objects:
        name = describe(obj)
        if not (obj.get("metadata") or {}).get("name"):
            problems.append(Problem(name, "metadata.name is missing"))
        problems += [Problem(name, m) for m in name_problems(obj)]
        key = (obj.get("apiVersion"), obj.get("kind"))
        if crd_schemas is not None and key in crd_schemas:
            problems += [Problem(name, m) for m in validate_custom_resource(obj, crd_schemas[key])]
            continue
        if not is_builtin(obj):
            if crd_schemas is None:
                skipped.append(name)
            else:
                problems.append(Problem(name, "no CRD schema for this custom resource in the schema folder"))
            continue
        problems += [Problem(name, m) for m in validate_core(obj, kubernetes_version)]
    return problems, skipped


def cel_gaps(crd_dir: Path) -> dict[str, list[str]]:
    """Every CEL rule of the CRDs in ``crd_dir`` that the evaluator cannot run, ``{"<apiVersion> <Kind>
    <path>: <rule>": [missing functions]}`` (empty for the pinned CRDs; tests/test_cel_rules.py keeps it so)."""
    out: dict[str, list[str]] = {}
    for (api, kind), schema in _cached_schemas(str(crd_dir)).items():
        for path, rule in k8s_cel.walk_rules(schema):
            missing = k8s_cel.missing_functions(rule.rule)
            if missing and not k8s_cel.is_transition(rule.rule):
                out[f"{api} {kind} {path or '(root)'}: {rule.rule}"] = missing
    return out


# Which config key produced an object (or a part of it), for the refusal message.
Origin = Callable[[dict[str, Any], str], Optional[str]]


@functools.lru_cache(maxsize=4096)
def _problems_of(text: str, kubernetes_version: str, crd_dir: Optional[str]) -> tuple[str, ...]:
    obj = json.loads(text)
    out = list(name_problems(obj))
    if not (obj.get("metadata") or {}).get("name"):
        out.append("metadata.name is missing")
    key = (obj.get("apiVersion"), obj.get("kind"))
    schemas = _cached_schemas(crd_dir) if crd_dir else None
    if schemas is not None and key in schemas:
        out += validate_custom_resource(obj, schemas[key])
    elif is_builtin(obj):
        out += validate_core(obj, kubernetes_version)
    elif schemas is not None:
        out.append("no CRD schema for this custom resource in the schema folder")
    return tuple(out)


def check(objects: Iterable[dict[str, Any]], kubernetes_version: str, crd_dir: Optional[Path],
          origin: Optional[Origin] = None) -> tuple[list[Problem], list[str]]:
    """What the API server would refuse among ``objects`` (core: strict kubernetes-validate; custom resources:
    the CRD schema with every limit and format, then every CEL rule), each problem naming the config key that
    produced it when ``origin`` knows it. Returns (problems, skipped): custom resources are skipped (and
    listed) only when no CRD folder is at hand. Results are cached per object, so re-rendering is cheap."""
    problems: list[Problem] = []
    skipped: list[str] = []
    folder = str(crd_dir) if crd_dir else None
    for obj in objects:
        name = describe(obj)
        if folder is None and not is_builtin(obj):
            skipped.append(name)
            continue
        for message in _problems_of(json.dumps(obj, sort_keys=True), kubernetes_version, folder):
            where = origin(obj, message) if origin else None
            problems.append(Problem(name, message + (f"; produced by {where}" if where else "")))
    return problems, skipped


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Validate rendered Kubernetes objects.")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--kubernetes-version", required=True)
    parser.add_argument("--crds", type=Path, default=find_crd_dir(),
                        help=f"folder of CRD YAML files (default: ${USER_CRD_ENV}, ${CRD_ENV}, ./{FETCH_CACHE})")
    args = parser.parse_args(argv)
    objects = [d for f in args.files for d in yaml.safe_load_all(f.read_text()) if d]
    problems, skipped = check(objects, args.kubernetes_version, args.crds)
    for p in problems:
        print(p)
    for s in skipped:
        print(f"skipped (no CRD folder; set {CRD_ENV}): {s}")
    print(f"{len(objects)} objects, {len(problems)} problems, {len(skipped)} skipped")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
