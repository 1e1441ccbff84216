"""What a render writes, from its recording: the Kubernetes objects as the API server would receive them, the Helm
releases, the AWS resources and the engine's state, every secret as ``[secret]`` (redact). Pure."""

from __future__ import annotations

from typing import Any

from llm_tiers.helm import oci_split
from llm_tiers.preview.errors import RenderError
from llm_tiers.preview.mocks import SECRET_MARKER, SECRET_SIG, Recording


# ---------------------------------------------------------------------------------------------- output

UNKNOWN_MARKER = "[unknown]"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_CHART = "kubernetes:helm.sh/v4:Chart"


def redact(value: Any) -> Any:
    """Replace every secret-marked value with ``[secret]`` and unknowns with ``[unknown]``.

    Also normalizes what the engine's wire format changed: integral numbers come back as ints (protobuf
    carries every number as a double) and mapping keys are sorted, so renders are byte-for-byte stable.
    """
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return SECRET_MARKER
        return {k: redact(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if type(value).__name__ == "Unknown":
        return UNKNOWN_MARKER
    return value


def _k8s_order(obj: dict[str, Any]) -> dict[str, Any]:
    head = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
    return {**head, **{k: v for k, v in obj.items() if k not in head}}  # type: ignore[dict-item]


_KIND_ORDER = {"Namespace": 0, "CustomResourceDefinition": 1, "StorageClass": 2, "ServiceAccount": 3}


def kubernetes_objects(recording: Recording) -> list[dict[str, Any]]:
    objects = []
    for r in recording.resources:
        if not r.custom or not r.type.startswith("kubernetes:") or r.type == HELM_RELEASE:
            continue
        obj = redact(r.inputs)
        if obj.get("kind") == "Secret":
            # Keep the keys a reviewer needs; never a value (the SDK marks the whole field secret).
            for field in ("data", "stringData"):
                raw = r.inputs.get(field)
                if isinstance(raw, dict) and raw.get(SECRET_SIG):
                    raw = raw.get("value")
                if isinstance(raw, dict):
                    obj[field] = {k: SECRET_MARKER for k in sorted(raw)}
                elif field in obj:
                    obj[field] = SECRET_MARKER
        if not (obj.get("metadata") or {}).get("name"):
            raise RenderError(f"Kubernetes object {r.type} '{r.name}' has no metadata.name: set one explicitly "
                              "so names are stable and reviewable")
        objects.append(_k8s_order(obj))
    return sorted(objects, key=lambda o: (_KIND_ORDER.get(o["kind"], 9), o["kind"],
                                          o["metadata"].get("namespace", ""), o["metadata"]["name"]))


def helm_releases(recording: Recording) -> list[dict[str, Any]]:
    """Helm releases, and the CRD charts Pulumi renders and applies object by object (helm.sh/v4 Chart)."""
    releases = []
    for r in recording.resources:
        if r.type not in (HELM_RELEASE, HELM_CHART):
            continue
        i = redact(r.inputs)
        chart, repository = oci_split(i.get("chart"), (i.get("repositoryOpts") or {}).get("repo"))
        releases.append({
            "name": i.get("name", r.name),
            "namespace": i.get("namespace", "default"),
            "chart": chart,
            "repository": repository,
            "version": i.get("version"),
            "values": i.get("values") or {},
        })
    return sorted(releases, key=lambda rel: (rel["namespace"], rel["name"]))


def aws_resources(recording: Recording) -> list[dict[str, Any]]:
    entries = [{"type": r.type, "name": r.name, "inputs": redact(r.inputs)}
               for r in recording.resources if r.custom and r.type.startswith("aws:")]
    return sorted(entries, key=lambda e: (e["type"], e["name"]))


def state(recording: Recording) -> list[dict[str, Any]]:
    """Every resource as the engine would hold it after ``pulumi up`` (a redacted state export): URN, type,
    ID, inputs and the options that decide replacement and deletion. The PR diff matches resources by URN, so
    it sees replacements (an identity input changed: a new ID), renames and random resources (key rotation)."""
    out = []
    for r in recording.resources:
        if not (r.custom or r.remote):
            continue
        entry: dict[str, Any] = {"urn": r.urn.replace("pulumi:pulumi:Stack$", ""), "type": r.type, "name": r.name,
                                 "id": r.id, "inputs": redact(r.inputs)}
        if r.type.startswith("random:"):
            entry.pop("id")  # the mock's placeholder ID; a random resource's identity is its keepers
        for key, value in (("protect", r.protect), ("retainOnDelete", r.retain_on_delete),
                           ("deleteBeforeReplace", r.delete_before_replace), ("replaceOnChanges", r.replace_on_changes),
                           ("ignoreChanges", r.ignore_changes)):
            if value:
                entry[key] = value
        out.append(entry)
    return sorted(out, key=lambda e: e["urn"])
