"""WarmCapacity: the PriorityClass and one placeholder Deployment per GPU class with ``warm_nodes`` (a thin
ComponentResource over gpu/warm.py). Pass the cluster's Kubernetes provider in ``opts.providers``.
See docs/components/warm-capacity.md."""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
from collections.abc import Sequence
from typing import Optional, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from llm_tiers import arguments
from llm_tiers import naming
from llm_tiers.config.specs import GpuClassSpec
from llm_tiers.gpu import rules
from llm_tiers.gpu.warm import network_policy, placeholder, priority_class


class WarmCapacityArgs(TypedDict, total=False):
    """Inputs of :class:`WarmCapacity`."""

    gpu_classes: Required[dict[str, GpuClassSpec]]
    """GPU classes by name (the ``gpuClasses`` config section, as passed to GpuCapacity); each class with
    ``warm_nodes`` above 0 gets a placeholder Deployment holding that many of its nodes."""
    images: dict[str, list[str]]
    """Class name -> the engine images its tiers run (pinned tags or digests): each placeholder pod holds one
    ``sleep`` container per image, so the images are on the node before a waking replica needs them. Required
    for every class with ``warm_nodes``. Default: none."""
    namespace: str
    """Where the placeholders run: the tiers' namespace (their NetworkPolicy and scheduling are the tiers').
    Default: ``llm-tiers``."""


class WarmCapacity(pulumi.ComponentResource):
    """The PriorityClass and one placeholder Deployment per GPU class with ``warm_nodes``. See
    docs/components/warm-capacity.md.

    Python callers may also pass ``depends_on`` (keyword): resources the placeholders are created after (the
    namespace, GpuCapacity's ``ready``). Other languages use the resource option ``dependsOn``, which the component
    passes on to its children the same way."""

    classes: list[str]
    """The GPU classes that keep warm nodes (one placeholder Deployment each)."""

    def __init__(self, resource_name: str, args: WarmCapacityArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 depends_on: Sequence[pulumi.Resource] = ()):
        # Every problem at its args path, before anything (this component included) is registered.
        arguments.refuse("WarmCapacity", resource_name, rules.warm_args_issues(args))
        super().__init__(naming.type_token("WarmCapacity"), resource_name, None, opts)
        gpu_classes, _ = rules.gpu_classes_of(args["gpu_classes"], "args.gpu_classes")
        images = arguments.get(args, "images", {})
        namespace = arguments.get(args, "namespace", naming.TIERS_NAMESPACE)
        after = [*depends_on, *arguments.resources(opts.depends_on if opts else None)]
        pc = priority_class()
        prio = k8s.scheduling.v1.PriorityClass(
            f"{resource_name}-priority", metadata=pc["metadata"], value=pc["value"], global_default=False,
            preemption_policy=pc["preemptionPolicy"], description=pc["description"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)))
        self._deployments: dict[str, k8s.apps.v1.Deployment] = {}
        for name, cls in sorted(gpu_classes.items()):
            if not cls.warm_nodes:
                continue
            np = network_policy(name, namespace)
            k8s.networking.v1.NetworkPolicy(f"{resource_name}-{name}-network-policy", metadata=np["metadata"],
                                            spec=np["spec"], opts=pulumi.ResourceOptions(parent=self,
                                                                                         depends_on=list(after)))
            d = placeholder(name, cls, images.get(name) or [], namespace)
            self._deployments[name] = k8s.apps.v1.Deployment(
                f"{resource_name}-{name}", metadata=d["metadata"], spec=d["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[prio, *after]))
        self.classes = sorted(self._deployments)
        self.register_outputs({"classes": self.classes})

    @property
    def deployments(self) -> dict[str, k8s.apps.v1.Deployment]:
        """The placeholder Deployment per GPU class with warm nodes."""
        return self._deployments
