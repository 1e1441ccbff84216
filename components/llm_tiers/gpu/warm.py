"""Warm GPU capacity: nodes of a class kept up, idle, for a tier waking from zero (pure manifests + a thin component).

``gpuClasses.<class>.warmNodes: N`` holds N nodes of the class with **placeholder pods**: a Deployment of N pods,
each requesting every GPU of the class's smallest instance type (so one pod holds one node), at a negative
priority, running ``sleep`` in the engine image(s) of the class's tiers. A tier's replica outranks them
(priority 0), so the scheduler preempts a placeholder and binds the replica to that node at once: no launch and,
because the placeholder ran the same image, no image pull. The preempted placeholder goes Pending and Karpenter
launches a node for it in the background, so the class is warm again for the next tier.

Why placeholders and not a static NodePool: Karpenter v1.14.1 has NodePool ``spec.replicas`` (static capacity)
but marks it alpha behind the ``staticCapacity`` feature gate, off by default, and ``capacityBuffer`` likewise
(aws/karpenter-provider-aws v1.14.1 charts/karpenter/values.yaml ``settings.featureGates``; karpenter.sh_nodepools
CRD: "Note: This field is alpha"). A static pool's nodes are also not spare: once a tier takes one, nothing is warm
until the tier scales down. Placeholder pods use only GA Kubernetes (PriorityClass, preemption), are the
pattern Kubernetes documents ("Overprovision Node Capacity For A Cluster", kubernetes.io tasks) and the one
Karpenter users run (aws/karpenter-provider-aws#3240), and Karpenter provisions nodes for pending pods of any
priority (aws/karpenter-provider-aws#4452 runs exactly this). A warm node is never consolidated (it is not
empty); it is replaced at ``expireAfter`` like any node of the class.

Cost: the nodes run all month (cost/bill.py prices them as "Warm GPU capacity"); they count against the class's
``maxGpus``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llm_tiers import naming
from llm_tiers import security
from llm_tiers.config.schema import GpuClassConfig
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.gpu.karpenter import GPU_RESOURCE, WARM_CAPACITY_LABEL, tier_scheduling

PRIORITY_CLASS = "llm-tiers-warm-capacity"
#: Below every pod of the platform (they run at the default 0), so any of them preempts a placeholder.
PRIORITY = -10
#: The placeholder's own footprint (``sleep``); the GPUs are what it holds.
CPU, MEMORY = "10m", "16Mi"
PLACEHOLDER_UID = 65534
#: checkov findings a placeholder has no real fix for (reasons in security.SKIPS): no probes (it serves nothing),
#: a tag without a digest and IfNotPresent (like every engine pod: the pull it does is the one a replica skips).
SKIPS = ("CKV_K8S_8", "CKV_K8S_9", "CKV_K8S_43", "CKV_K8S_15")


def priority_class() -> dict[str, Any]:
    """The placeholders' PriorityClass: negative, never the default, and never preempting anything itself."""
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": PRIORITY_CLASS, "labels": naming.k8s_labels("gpu-capacity", "warm-capacity")},
            "value": PRIORITY, "globalDefault": False, "preemptionPolicy": "Never",
            "description": "Placeholder pods holding warm GPU nodes (gpuClasses.<class>.warmNodes); any tier "
                           "replica preempts them."}


def node_gpus(cls: GpuClassConfig) -> int:
    """GPUs one placeholder requests: all of the class's smallest instance type, so it holds a whole node."""
    return min(gpu_catalog.lookup(t).gpu_count for t in cls.instance_types)


def warm_instance_type(cls: GpuClassConfig) -> gpu_catalog.InstanceType:
    """The type Karpenter launches for a placeholder: the cheapest of the class that holds its GPU request."""
    gpus = node_gpus(cls)
    return min((gpu_catalog.lookup(t) for t in cls.instance_types if gpu_catalog.lookup(t).gpu_count >= gpus),
               key=lambda it: (it.hourly_usd, it.name))


def placeholder(class_name: str, cls: GpuClassConfig, images: Sequence[str], namespace: str) -> dict[str, Any]:
    """The Deployment holding ``cls.warm_nodes`` nodes of the class: one pod per node, one ``sleep`` container per
    engine image the class's tiers run (so each image is on the node before a replica needs it)."""
    sched = tier_scheduling(class_name)
    labels = {**naming.k8s_labels("gpu-capacity", f"warm-{class_name}"), WARM_CAPACITY_LABEL: class_name}
    selector = {WARM_CAPACITY_LABEL: class_name}
    gpus = str(node_gpus(cls))
    containers = []
    for i, image in enumerate(sorted(set(images))):
        # The GPUs go to the first container (a pod's request is the sum of its containers').
        requests = {"cpu": CPU, "memory": MEMORY, **({GPU_RESOURCE: gpus} if i == 0 else {})}
        containers.append({
            "name": f"hold-{i}", "image": image, "imagePullPolicy": "IfNotPresent",
            # Every engine image has coreutils (TGI and vLLM build on Ubuntu); sleep needs no GPU, no network.
            "command": ["sleep", "infinity"],
            "resources": {"requests": requests, "limits": dict(requests)},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
        })
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"warm-{class_name}", "namespace": namespace, "labels": labels,
                     # Nothing waits for warm capacity: the deploy does not await the GPU node launch.
                     "annotations": {"pulumi.com/skipAwait": "true", **security.checkov_skips(*SKIPS)}},
        "spec": {
            "replicas": cls.warm_nodes,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**labels, **selector}},
                "spec": {
                    "priorityClassName": PRIORITY_CLASS,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    # Preempted at once: nothing to drain.
                    "terminationGracePeriodSeconds": 0,
                    "nodeSelector": sched["nodeSelector"],
                    "tolerations": sched["tolerations"],
                    # One per node, so N placeholders hold N nodes even where a type has more GPUs than requested.
                    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                   "whenUnsatisfiable": "DoNotSchedule",
                                                   "labelSelector": {"matchLabels": selector}}],
                    "securityContext": {"runAsNonRoot": True, "runAsUser": PLACEHOLDER_UID,
                                        "runAsGroup": PLACEHOLDER_UID, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": containers,
                },
            },
        },
    }


def network_policy(class_name: str, namespace: str) -> dict[str, Any]:
    """A placeholder talks to nothing and nothing talks to it: no ingress, no egress."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"warm-{class_name}", "namespace": namespace,
                         "labels": naming.k8s_labels("gpu-capacity", f"warm-{class_name}")},
            "spec": {"podSelector": {"matchLabels": {WARM_CAPACITY_LABEL: class_name}},
                     "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []}}


def class_images(gpu_classes: Mapping[str, GpuClassConfig], tiers: Sequence[Any],
                 image_of: Any) -> dict[str, list[str]]:
    """Class -> the engine images its tiers run (``image_of(tier, release)``), for classes with warm nodes."""
    out: dict[str, list[str]] = {}
    for t in tiers:
        if gpu_classes.get(t.gpu_class) is not None and gpu_classes[t.gpu_class].warm_nodes:
            out.setdefault(t.gpu_class, [])
            for release in ("live", *(("candidate",) if getattr(t, "candidate", None) is not None else ())):
                image = image_of(t, release)
                if image not in out[t.gpu_class]:
                    out[t.gpu_class].append(image)
    return out
