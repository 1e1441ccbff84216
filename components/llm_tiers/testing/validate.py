"""Validate rendered Kubernetes objects as the API server would receive them.

* Core objects: kubernetes-validate in strict mode (unknown fields rejected) against the stack's
  Kubernetes version.
* Names and labels (every object): the API server's name rules, which the schemas do not carry — a
  Service name must be an RFC 1035 label, a namespace an RFC 1123 label, other names DNS-1123 subdomains,
  label keys and values within their formats.
* Custom resources: the served version's ``openAPIV3Schema`` from the pinned CRDs in ``CRD_SCHEMA_DIR``
  ($CRD_SCHEMA_DIR in CI), made strict the way ``kubectl apply --validate=strict`` is: an object schema
  with ``properties`` rejects unknown fields unless it says ``x-kubernetes-preserve-unknown-fields``.
  CEL rules (``x-kubernetes-validations``) are not evaluated.

    python -m llm_tiers.testing.validate build/prod/kubernetes.yaml --kubernetes-version 1.34 --crds $CRD_SCHEMA_DIR
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import jsonschema
import kubernetes_validate
import yaml

CRD_ENV = "CRD_SCHEMA_DIR"
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


def validate_custom_resource(obj: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))]


def validate_core(obj: dict[str, Any], kubernetes_version: str) -> list[str]:
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
    rule, pattern, limit = _NAME_RULES.get(obj.get("kind"), ("a DNS-1123 subdomain", _DNS1123_SUBDOMAIN, 253))
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
    selector = spec.get("selector")
    if isinstance(selector, dict):
        labels("spec.selector", selector.get("matchLabels", selector if obj.get("kind") == "Service" else None))
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    labels("spec.template.metadata.labels", (template.get("metadata") or {}).get("labels"))
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


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Validate rendered Kubernetes objects.")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--kubernetes-version", required=True)
    parser.add_argument("--crds", type=Path, default=crd_dir_from_env(),
                        help=f"folder of CRD YAML files (default: ${CRD_ENV})")
    args = parser.parse_args(argv)
    schemas = load_crd_schemas(args.crds) if args.crds else None
    objects = [d for f in args.files for d in yaml.safe_load_all(f.read_text()) if d]
    problems, skipped = validate_objects(objects, args.kubernetes_version, schemas)
    for p in problems:
        print(p)
    for s in skipped:
        print(f"skipped (no CRD folder; set {CRD_ENV}): {s}")
    print(f"{len(objects)} objects, {len(problems)} problems, {len(skipped)} skipped")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
