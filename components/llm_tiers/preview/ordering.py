"""Ordering checks on the rollout plan: inputs that name another resource without an edge to it (the engine may
create the user before what it uses), and edges a tier resource has that it does not need (they slow a rollout).
Pure: read from a render's recording and its plan (rollout.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional


from llm_tiers.preview.mocks import Recording, RecordedResource
from llm_tiers.preview.awaits import HELM_CHART, HELM_RELEASE, chart_key, kubernetes_kind, label
from llm_tiers.preview.rollout import Plan, nodes


# AWS resources that other APIs address by name (besides every ARN and ID).
_NAMED_BY = {"aws:eks/cluster:Cluster", "aws:iam/role:Role", "aws:iam/policy:Policy",
             "aws:secretsmanager/secret:Secret", "aws:sqs/queue:Queue", "aws:cloudwatch/eventRule:EventRule"}
# Values that are not references even when they equal a name (tags and labels describe, they do not point).
_NOT_REFERENCES = {"tags", "labels", "annotations", "tagsAll", "matchLabels", "selector", "podSelector",
                   "namespaceSelector"}
# Kubernetes fields that name another object: key -> kind (value is the name), or key -> None (value is a
# reference object, or a list of them, with ``name`` and optional ``kind``/``namespace``).
_K8S_NAME_FIELDS = {"namespace": "Namespace", "storageClassName": "StorageClass",
                    "serviceAccountName": "ServiceAccount",
                    "claimName": "PersistentVolumeClaim", "secretName": "Secret", "existingSecret": "Secret",
                    "gatewayClassName": "GatewayClass"}
_K8S_REF_FIELDS = {"scaleTargetRef": None, "nodeClassRef": "EC2NodeClass", "secretStoreRef": None,
                   "parametersRef": None, "parentRefs": "Gateway", "backendRefs": "Service", "targetRefs": None,
                   "targetRef": None, "secretKeyRef": "Secret", "configMap": "ConfigMap", "credentialRefs": "Secret",
                   "configMapKeyRef": "ConfigMap"}
_CLUSTER_SCOPED = {"Namespace", "StorageClass", "GatewayClass", "ClusterSecretStore", "NodePool", "EC2NodeClass",
                   "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


@dataclass(frozen=True)
class Reference:
    resource: str   # label of the resource whose input refers
    path: str       # input path
    value: str
    target: str     # label of the resource it names


def _strings(value: Any, path: tuple[str, ...] = ()):
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in _NOT_REFERENCES:
                yield from _strings(v, (*path, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, str(i)))
    elif isinstance(value, str):
        yield path, value
        if value[:1] in "[{":
            try:
                yield from _strings(json.loads(value), (*path, "<json>"))
            except ValueError:
                pass


def _k8s_refs(value: Any, namespace: Optional[str], path: tuple[str, ...] = ()):
    """(path, kind, namespace or None for cluster-scoped, name) of every object reference in a manifest."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in _NOT_REFERENCES:
                continue
            p = (*path, k)
            if k in _K8S_NAME_FIELDS and isinstance(v, str) and not (k == "namespace" and path[-1:] != ("metadata",)):
                kind = _K8S_NAME_FIELDS[k]
                yield p, kind, None if kind in _CLUSTER_SCOPED else namespace, v
            elif k in _K8S_REF_FIELDS:
                for i, ref in enumerate(v if isinstance(v, list) else [v]):
                    if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                        kind = ref.get("kind") or _K8S_REF_FIELDS[k]  # type: ignore[assignment]
                        if kind:
                            ns = None if kind in _CLUSTER_SCOPED else ref.get("namespace", namespace)
                            yield (*p, str(i)), kind, ns, ref["name"]
            else:
                yield from _k8s_refs(v, namespace, p)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _k8s_refs(v, namespace, (*path, str(i)))


def unordered_references(p: Plan, recording: Recording) -> list[Reference]:
    """Inputs that name another resource of the program (its ARN, ID or name, or a Kubernetes object it
    creates) without depending on it: the engine may create the two in parallel, or delete the named one
    first. The general form of "a name passed as a plain string adds no ordering edge"."""
    steps = {r.urn: r for r in nodes(recording)}
    by_identity: dict[str, set[str]] = {}
    objects: dict[tuple[str, Optional[str], str], set[str]] = {}
    for r in steps.values():
        if r.type.startswith("aws:"):
            ids = {r.outputs.get("arn"), r.id if r.id and r.id != "none" else None}
            if r.type in _NAMED_BY:
                ids.add(r.outputs.get("name"))
            for v in ids:
                if isinstance(v, str) and len(v) >= 4:
                    by_identity.setdefault(v, set()).add(r.urn)
        kind = kubernetes_kind(r)
        if kind:
            meta = r.inputs.get("metadata") or {}
            ns = None if kind in _CLUSTER_SCOPED else meta.get("namespace", "default")
            objects.setdefault((kind, ns, meta.get("name", "")), set()).add(r.urn)
            if kind == "ExternalSecret":  # it creates the Secret it targets
                target = (r.inputs.get("spec") or {}).get("target", {}).get("name")
                objects.setdefault(("Secret", ns, target), set()).add(r.urn)
    found: list[Reference] = []
    ancestors: dict[str, set[str]] = {}  # per referencing resource, computed once

    def check(r: RecordedResource, path: tuple[str, ...], value: str, targets: set[str]) -> None:
        if value in (r.outputs.get("name"), r.outputs.get("arn"), r.id):
            return  # its own name (two resources may share a name, e.g. the cluster and its queue)
        targets = targets - {r.urn}
        if targets and r.urn not in ancestors:
            ancestors[r.urn] = p.ancestors(r.urn)
        if targets and not targets & ancestors[r.urn]:
            found.append(Reference(label(r), ".".join(path), value,
                                   ", ".join(sorted(p.steps[t].label for t in targets))))

    for r in steps.values():
        for path, value in _strings(r.inputs):
            if value in by_identity:
                check(r, path, value, by_identity[value])
        kind = kubernetes_kind(r)
        if kind or r.type == HELM_RELEASE:
            default_ns = ((r.inputs.get("metadata") or {}).get("namespace") if kind else r.inputs.get("namespace"))
            body = r.inputs.get("values") if r.type == HELM_RELEASE else r.inputs
            if r.type == HELM_RELEASE and default_ns:
                check(r, ("namespace",), default_ns, objects.get(("Namespace", None, default_ns), set()))
            for path, ref_kind, ns, name in _k8s_refs(body or {}, default_ns or "default"):
                check(r, path, name, objects.get((ref_kind, ns, name), set()))
    return found


# ---------------------------------------------------------------------------------------------- needless edges

# What each step of a tier's start uses, so what it may wait for: (charts by versions.CHARTS key, custom resource
# kinds). Its own namespace's core objects (PVC, ConfigMap, ServiceAccounts, its Job) and AWS resources (the
# cluster, EFS, IAM) are always fine. A weights PVC needs only its StorageClass; the sync Job its hf-token
# Secret (an ExternalSecret: its store and operator); the engine also the GPU class's nodes (Karpenter, the
# device plugin) and, with tracing, the OTLP collector.
_SYNC_USES = ({"external-secrets"}, {"ExternalSecret", "ClusterSecretStore"})
TIER_STEP_USES: dict[str, tuple[set[str], set[str]]] = {
    "weights-pvc": (set(), set()),
    "weights-sync": _SYNC_USES,
    "server": (_SYNC_USES[0] | {"karpenter-crd", "karpenter", "nvidia-device-plugin", "opentelemetry-collector"},
               _SYNC_USES[1] | {"NodePool", "EC2NodeClass"}),
}


# API groups Kubernetes serves itself ("" is the core group); anything else is a custom resource some controller
# (a chart) owns.
_BUILTIN_GROUPS = {"", "apps", "batch", "policy", "autoscaling", "storage.k8s.io", "rbac.authorization.k8s.io",
                   "networking.k8s.io", "scheduling.k8s.io", "apiextensions.k8s.io", "admissionregistration.k8s.io",
                   "coordination.k8s.io", "node.k8s.io"}


def _tier_role(r: RecordedResource) -> Optional[str]:
    kind, meta = kubernetes_kind(r), r.inputs.get("metadata") or {}
    component = (meta.get("labels") or {}).get("llm-tiers.io/component")
    if kind == "PersistentVolumeClaim" and component == "weights":
        return "weights-pvc"
    if kind == "Job" and component == "weights-sync":
        return "weights-sync"
    if kind == "Deployment" and component == "server":
        return "server"
    return None


def needless_edges(p: Plan, recording: Recording, tiers_namespace: str = "llm-tiers") -> list[str]:
    """Objects a tier's weights PVC, sync Job or engine Deployment waits for (directly or through others) that it
    does not use (TIER_STEP_USES): each one puts time on the tier's path for nothing (the 70B sync starting
    after Prometheus). One line per (resource, needless ancestor)."""
    by_urn = {r.urn: r for r in nodes(recording)}
    found = []
    for r in by_urn.values():
        role = _tier_role(r)
        if role is None or (r.inputs.get("metadata") or {}).get("namespace") != tiers_namespace:
            continue
        charts, kinds = TIER_STEP_USES[role]
        # The StorageClass of the claim it mounts (or is) is used; another StorageClass is not.
        claimed = {(by_urn[u].inputs.get("spec") or {}).get("storageClassName")
                   for u in {r.urn, *p.ancestors(r.urn)} if u in by_urn
                   and kubernetes_kind(by_urn[u]) == "PersistentVolumeClaim"}
        for a in sorted(p.ancestors(r.urn)):
            x = by_urn.get(a)
            if x is None:
                continue
            if x.type in (HELM_RELEASE, HELM_CHART):
                if chart_key(x) not in charts:
                    found.append(f"{label(r)} waits for {label(x)}")
                continue
            kind = kubernetes_kind(x)
            if kind is None:
                continue
            api = str(x.inputs.get("apiVersion", "v1"))
            group = api.split("/")[0] if "/" in api else ""
            meta = x.inputs.get("metadata") or {}
            if group not in _BUILTIN_GROUPS:
                if kind not in kinds:
                    found.append(f"{label(r)} waits for {label(x)}")
            elif kind == "StorageClass":
                if meta.get("name") not in claimed:
                    found.append(f"{label(r)} waits for {label(x)}")
            elif meta.get("namespace") and meta["namespace"] != tiers_namespace:
                found.append(f"{label(r)} waits for {label(x)}")
    return found
