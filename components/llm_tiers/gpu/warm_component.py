"""WarmCapacity: the PriorityClass and one placeholder Deployment per GPU class with ``warmNodes`` (a thin
ComponentResource over gpu/warm.py). Pass the cluster's Kubernetes provider in ``opts.providers``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from llm_tiers import naming
from llm_tiers.config.schema import GpuClassConfig
from llm_tiers.gpu.warm import network_policy, placeholder, priority_class


class WarmCapacity(pulumi.ComponentResource):
    """The PriorityClass and one placeholder Deployment per GPU class with ``warmNodes``. See
    docs/components/gpu-capacity.md."""

    def __init__(self, resource_name: str, gpu_classes: Mapping[str, GpuClassConfig],
                 images: Mapping[str, Sequence[str]], namespace: str = naming.TIERS_NAMESPACE,
                 depends_on: Sequence[pulumi.Resource] = (), opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(naming.type_token("WarmCapacity"), resource_name, None, opts)
        pc = priority_class()
        prio = k8s.scheduling.v1.PriorityClass(
            f"{resource_name}-priority", metadata=pc["metadata"], value=pc["value"], global_default=False,
            preemption_policy=pc["preemptionPolicy"], description=pc["description"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)))
        self.deployments = {}
        for name, cls in sorted(gpu_classes.items()):
            if not cls.warm_nodes:
                continue
            np = network_policy(name, namespace)
            k8s.networking.v1.NetworkPolicy(f"{resource_name}-{name}-network-policy", metadata=np["metadata"],
                                            spec=np["spec"], opts=pulumi.ResourceOptions(parent=self,
                                                                                         depends_on=list(depends_on)))
            d = placeholder(name, cls, images.get(name) or [], namespace)
            self.deployments[name] = k8s.apps.v1.Deployment(
                f"{resource_name}-{name}", metadata=d["metadata"], spec=d["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[prio, *depends_on]))
        self.register_outputs({"classes": sorted(self.deployments)})
