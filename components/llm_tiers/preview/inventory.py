"""What a render will create, by component (pure): plan.md's inventory.

The tree is the one the program registers: every resource's ``parent`` URN leads to the ComponentResource
(``llmtiers:index:<Type>``) that created it, or to the stack for resources a program creates at top level.
Per component: how many resources of each type, and which of them are *stateful* (they hold data or an
identity that a replace or a delete loses), with whether Pulumi protects them. Volumes that a chart's
StatefulSets claim (Prometheus's TSDB) are not Pulumi resources but are state too: they are listed from the
release's values. Random resources (tenant keys, the Grafana password) are counted like any other resource;
their values appear nowhere in the build.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

from llm_tiers import naming

from llm_tiers.preview.mocks import Recording, RecordedResource

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

# Type token -> what a replace or delete of it loses.
STATEFUL: dict[str, str] = {
    "aws:eks/cluster:Cluster": "the control plane and etcd: replacing it recreates every Kubernetes object",
    "aws:ec2/vpc:Vpc": "the network: replacing it replaces every subnet, node, load balancer and mount target",
    "aws:efs/fileSystem:FileSystem": "every weight cache (a re-sync downloads them from the Hub again)",
    "aws:s3/bucket:Bucket": "the weight mirror's copies (the next sync Jobs download them from the Hub again)",
    "aws:kms/key:Key": "the key: what it encrypted becomes unreadable once its deletion window ends",
    "aws:secretsmanager/secret:Secret": "a secret value (HF token or a tenant's API key); deletion waits out "
                                        "the recovery window",
    "aws:sqs/queue:Queue": "interruption events in flight (kept 5 minutes)",
    "aws:cloudwatch/logGroup:LogGroup": "the control-plane logs of the retention period",
    "kubernetes:core/v1:PersistentVolumeClaim": "the volume's data (a weight cache: the sync Job fills it again)",
    "random:index/randomPassword:RandomPassword": "a generated secret (a tenant's API key, the Grafana password, the "
                                                  "rate-limit store's password) held "
                                                  "only in Pulumi state: replacing it issues a new one",
}


@dataclass
class ComponentInventory:
    label: str
    """``<Type> `<name>``` of the component (nested ones as ``Outer `a` / Inner `b```), or ``stack `<name>```."""
    counts: Counter = field(default_factory=Counter)
    stateful: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def short_type(token: str) -> str:
    """``aws:ec2/subnet:Subnet`` -> ``ec2.Subnet``, ``kubernetes:apps/v1:Deployment`` -> ``Deployment``."""
    package, module, name = (token.split(":", 2) + ["", ""])[:3]
    if package == "pulumi" and module == "providers":
        return f"provider.{name}"
    if package == "kubernetes" and module.startswith("helm.sh/"):
        return f"helm.{name}" + (" (v4)" if module.endswith("/v4") else "")
    if package == "kubernetes":
        return name
    group = module.split("/")[0]
    return f"{package if group in ('', 'index') else group}.{name}"


def _is_component(r: RecordedResource) -> bool:
    return r.type.startswith(f"{naming.PACKAGE}:")


def _label(r: RecordedResource, by_urn: dict[str, RecordedResource]) -> str:
    parts = []
    cur: Optional[RecordedResource] = r
    while cur is not None:
        if _is_component(cur):
            parts.append(f"{cur.type.rsplit(':', 1)[-1]} `{cur.name}`")
        cur = by_urn.get(cur.parent)
    return " / ".join(reversed(parts))


def _owner(r: RecordedResource, by_urn: dict[str, RecordedResource]) -> Optional[RecordedResource]:
    cur = by_urn.get(r.parent)
    while cur is not None and not _is_component(cur):
        cur = by_urn.get(cur.parent)
    return cur


def _chart_volumes(r: RecordedResource, storage_classes: dict[str, Any]) -> list[dict[str, Any]]:
    """Volumes a release's StatefulSets claim (kube-prometheus-stack: Prometheus, Alertmanager)."""
    values = r.inputs.get("values") or {}
    out = []
    for key, spec_key, what in (("prometheus", "prometheusSpec", "Prometheus TSDB"),
                                ("alertmanager", "alertmanagerSpec", "Alertmanager silences and notification log")):
        spec = (values.get(key) or {}).get(spec_key) or {}
        storage = spec.get("storageSpec" if key == "prometheus" else "storage") or {}
        claim = (storage.get("volumeClaimTemplate") or {}).get("spec") or {}
        size = ((claim.get("resources") or {}).get("requests") or {}).get("storage")
        if size:
            replicas = int(spec.get("replicas", 1))
            sc = claim.get("storageClassName")
            reclaim = (storage_classes.get(sc) or {}).get("reclaimPolicy", "Delete")  # type: ignore[arg-type]
            out.append({"resource": f"{r.inputs.get('name', r.name)}: {what}", "type": "StatefulSet volume",
                        "detail": f"{replicas} x {size} ({sc}, reclaimPolicy {reclaim})",
                        "protect": False, "retain": reclaim == "Retain",
                        "why": f"the {what.split(' ')[0]} data; a claim the chart's StatefulSet makes, not a Pulumi "
                               "resource" + (": the volume outlives the stack" if reclaim == "Retain" else "")})
    return out


def inventory(recording: Recording, stack: str) -> list[ComponentInventory]:
    """One entry per component (and the stack itself first, for top-level resources), by label."""
    by_urn = {r.urn: r for r in recording.resources}
    storage_classes = {(r.inputs.get("metadata") or {}).get("name"): r.inputs for r in recording.resources
                       if r.type == "kubernetes:storage.k8s.io/v1:StorageClass"}
    entries: dict[str, ComponentInventory] = {}
    top = ComponentInventory(f"stack `{stack}`")
    for r in recording.resources:
        if _is_component(r):
            entries.setdefault(r.urn, ComponentInventory(_label(r, by_urn)))
    for r in recording.resources:
        if _is_component(r):
            continue
        owner = _owner(r, by_urn)
        entry = entries[owner.urn] if owner is not None else top
        entry.counts[short_type(r.type)] += 1
        if r.type in STATEFUL:
            meta = (r.inputs.get("metadata") or {}) if r.type.startswith("kubernetes:") else {}
            entry.stateful.append({"resource": meta.get("name") or r.name, "type": short_type(r.type),
                                   "detail": "", "protect": r.protect, "retain": r.retain_on_delete,
                                   "why": STATEFUL[r.type]})
        if r.type == HELM_RELEASE:
            entry.stateful += _chart_volumes(r, storage_classes)  # type: ignore[arg-type]
    # Registration order interleaves across components (the SDK registers asynchronously): sort, so the
    # build is byte-for-byte reproducible.
    out = sorted((e for e in entries.values() if e.total), key=lambda e: e.label)
    for e in [top, *out]:
        e.stateful.sort(key=lambda x: (x["type"], x["resource"]))
    return ([top] if top.total else []) + out


def markdown(entries: list[ComponentInventory]) -> list[str]:
    """plan.md's inventory section."""
    total = sum(e.total for e in entries)
    lines = ["## Inventory", "",
             f"{total} resources, by the component that creates them (each resource's parent URN), and what is "
             "stateful: what a replace or delete loses. Random resources are resources like any other; their "
             "values are in no build file.", "",
             "| component | resources | by type |", "|---|---|---|"]
    for e in entries:
        by_type = ", ".join(f"{t} {n}" for t, n in sorted(e.counts.items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"| {e.label} | {e.total} | {by_type} |")
    lines += ["", "### Stateful", "", "| component | resource | type | protected | what is lost |",
              "|---|---|---|---|---|"]
    for e in entries:
        for s in e.stateful:
            guard = "yes" if s["protect"] else ("retained" if s["retain"] else "no")
            detail = f" ({s['detail']})" if s["detail"] else ""
            lines.append(f"| {e.label} | {s['resource']}{detail} | {s['type']} | {guard} | {s['why']} |")
    return lines + [""]
