"""System node group capacity, the data (pure): what every system pod requests and what a system node can allocate.
Whether a stack's pods fit is the stack layer's check (``llm_tiers.stack.system_capacity``, which knows the whole
stack); this module imports no other domain.

There is no cluster autoscaler for the system node group (Karpenter manages the GPU NodePools only), so the
group runs ``desiredSize`` nodes and every system pod must fit on them. ``llm_tiers.stack.parse`` refuses a stack
whose pods do not (``cluster.systemNodeGroup.instanceTypes`` / ``.desiredSize``), before anything is
registered; plan.md shows the per-node table.

The requests are defined here, once: the values builders (``gpu_capacity``, ``secret_store``,
``observability``, ``gateway``, ``gateway_manifests``, ``tier_manifests``) import these constants, each
component declares the pods it runs with them beside its builders (``<domain>/workloads.py``: which, how many,
where), and tests/test_system_capacity.py checks that the rendered Helm values and Kubernetes objects carry exactly the
requests this module counts.

Model (kept simple on purpose):

* Allocatable per node, as the EKS AL2023 AMI's nodeadm configures the kubelet (awslabs/amazon-eks-ami,
  ``nodeadm/internal/kubelet/config.go`` at 81fec2e8: ``getCPUMillicoresToReserve``,
  ``getMemoryMebibytesToReserve``, ``defaultKubeletSubConfig().EvictionHard``):
  ``capacity - kubeReserved - evictionHard``, where kubeReserved CPU is 6% of the first core, 1% of the
  second, 0.5% of cores 3-4 and 0.25% of the rest (integer millicores per range, as the Go code rounds),
  kubeReserved memory is ``255Mi + 11Mi x maxPods``, and the hard eviction threshold is
  ``memory.available 100Mi``. No systemReserved values are set. maxPods is the ENI formula
  ``ENIs x (IPv4 per ENI - 1) + 2`` (``calculateStandardMaxPods`` in ``eni_max_pods.go``; ENI numbers from
  ``instance-info.jsonl`` in the same directory).
* Memory capacity is below the nominal instance memory (the kernel and firmware keep some): it is taken as
  nominal minus 7.5%, Karpenter's own estimate before a node exists (``settings.vmMemoryOverheadPercent``,
  default 0.075, aws/karpenter-provider-aws ``charts/karpenter/values.yaml`` at v1.14.1).
* A pod requests the sum of its containers (init containers are smaller than that sum everywhere here).
  Jobs (chart hooks, benchmarks) are counted as if they ran beside everything else. The weight-sync Jobs do
  not run here: they have a Karpenter CPU NodePool of their own (gpu/karpenter.py ``sync_node_pool``, sized
  to run every one at once), so the system nodes do not grow with the number of tiers; ``report`` says
  how many there are and the pool's CPU limit.
* Placement: DaemonSet pods go on every node first; the other pods, largest first, go on the first node
  that has room (first-fit decreasing), honouring: required pod anti-affinity on the hostname (at most one
  replica per node: Karpenter), a hostname topology spread with ``DoNotSchedule`` (replicas balanced across
  nodes, maxSkew 1: the Envoy proxies), and preferred anti-affinity (distinct nodes while possible:
  CoreDNS, EBS CSI controller, Prometheus, Alertmanager). Zone spreads are treated like hostname spreads
  (the managed node group puts its nodes in different zones while there are zones left).
* Every instance type listed in ``cluster.systemNodeGroup.instanceTypes`` is checked on its own: the managed
  node group may launch any of them, so the pods must fit ``desiredSize`` nodes of each.

The scheduler is not a bin packer (it scores nodes, it does not search), so a stack that fits only just may
still leave a pod Pending: keep real headroom (``HEADROOM_WARNING_PERCENT`` warns below it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal, Optional

# --------------------------------------------------------------------------------------------------
# Quantities
# --------------------------------------------------------------------------------------------------


def cpu_quantity(millicores: int) -> str:
    """Kubernetes CPU quantity: whole cores as ``"1"``, otherwise millicores (``"250m"``)."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def memory_quantity(mebibytes: int) -> str:
    """Kubernetes memory quantity: whole GiB as ``"2Gi"``, otherwise ``"256Mi"``."""
    return f"{mebibytes // 1024}Gi" if mebibytes % 1024 == 0 and mebibytes else f"{mebibytes}Mi"


_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_MEMORY_UNITS = {"": 1 / 2**20, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024**2,
                 "k": 1000 / 2**20, "M": 1000**2 / 2**20, "G": 1000**3 / 2**20}


def parse_cpu_m(quantity: Any) -> int:
    """``"250m"`` -> 250, ``"1"`` / ``1`` -> 1000, ``"0.5"`` -> 500 (rounded up, as the API server does)."""
    match = _QUANTITY.match(str(quantity))
    if not match or match.group(2) not in ("", "m"):
        raise ValueError(f"not a CPU quantity: {quantity!r}")
    value = float(match.group(1))
    return math.ceil(value if match.group(2) == "m" else value * 1000)


def parse_memory_mi(quantity: Any) -> int:
    """A memory quantity in MiB (rounded up): ``"2Gi"`` -> 2048, ``"512Mi"`` -> 512, ``"100M"`` -> 96."""
    match = _QUANTITY.match(str(quantity))
    if not match or match.group(2) not in _MEMORY_UNITS:
        raise ValueError(f"not a memory quantity: {quantity!r}")
    return math.ceil(float(match.group(1)) * _MEMORY_UNITS[match.group(2)])


def fmt_cpu(millicores: int) -> str:
    return f"{millicores / 1000:.2f} vCPU"


def fmt_memory(mebibytes: int) -> str:
    return f"{mebibytes / 1024:.1f} GiB"


# --------------------------------------------------------------------------------------------------
# Instance catalog and allocatable
# --------------------------------------------------------------------------------------------------

# Kubelet settings nodeadm writes on AL2023 (see the module docstring for the source).
EVICTION_HARD_MEMORY_MI = 100
KUBE_RESERVED_MEMORY_BASE_MI = 255
KUBE_RESERVED_MEMORY_PER_POD_MI = 11
# (range start, range end in millicores, reserved per 10000) as in getCPUMillicoresToReserve.
_CPU_RESERVE_RANGES = ((0, 1000, 600), (1000, 2000, 100), (2000, 4000, 50), (4000, None, 25))
# Karpenter's default vmMemoryOverheadPercent (see the module docstring).
VM_MEMORY_OVERHEAD = 0.075


def kube_reserved_cpu_m(vcpus: int) -> int:
    """nodeadm's kubeReserved CPU in millicores for a node with ``vcpus`` cores."""
    total = vcpus * 1000
    reserved = 0
    for start, end, per_10000 in _CPU_RESERVE_RANGES:
        if total <= start:
            continue
        reserved += (min(total, end if end is not None else total) - start) * per_10000 // 10000
    return reserved


def kube_reserved_memory_mi(max_pods: int) -> int:
    """nodeadm's kubeReserved memory in MiB: 255 + 11 x maxPods."""
    return KUBE_RESERVED_MEMORY_BASE_MI + KUBE_RESERVED_MEMORY_PER_POD_MI * max_pods


@dataclass(frozen=True)
class SystemInstanceType:
    """An instance type the system node group may use."""

    name: str
    vcpus: int
    memory_gib: int
    enis: int
    ipv4_per_eni: int

    @property
    def max_pods(self) -> int:
        """The ENI formula nodeadm applies (no prefix delegation, no custom expression)."""
        return self.enis * (self.ipv4_per_eni - 1) + 2

    @property
    def capacity_memory_mi(self) -> int:
        return math.floor(self.memory_gib * 1024 * (1 - VM_MEMORY_OVERHEAD))

    @property
    def allocatable_cpu_m(self) -> int:
        return self.vcpus * 1000 - kube_reserved_cpu_m(self.vcpus)

    @property
    def allocatable_memory_mi(self) -> int:
        return self.capacity_memory_mi - kube_reserved_memory_mi(self.max_pods) - EVICTION_HARD_MEMORY_MI


# General-purpose families users pick for controllers: vCPUs and memory per size, and the ENI limits nodeadm
# reads from instance-info.jsonl (identical for these families at these sizes).
_MEMORY_PER_VCPU = {"m5": 4, "m6i": 4, "m7i": 4, "m6a": 4, "m7a": 4, "c6i": 2, "c7i": 2, "r6i": 8, "r7i": 8}
_SIZES = {"large": (2, 3, 10), "xlarge": (4, 4, 15), "2xlarge": (8, 4, 15), "4xlarge": (16, 8, 30),
          "8xlarge": (32, 8, 30)}
CATALOG: dict[str, SystemInstanceType] = {
    f"{family}.{size}": SystemInstanceType(f"{family}.{size}", vcpus, vcpus * per_vcpu, enis, ips)
    for family, per_vcpu in _MEMORY_PER_VCPU.items()
    for size, (vcpus, enis, ips) in _SIZES.items()
}


def lookup(name: str) -> Optional[SystemInstanceType]:
    return CATALOG.get(name)


# --------------------------------------------------------------------------------------------------
# What each system pod requests (the values builders import these)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Container:
    """One container's requests (and memory limit)."""

    cpu_m: int
    memory_mi: int
    memory_limit_mi: Optional[int] = None
    cpu_limit_m: Optional[int] = None

    def resources(self) -> dict[str, Any]:
        """The container's ``resources`` block as the charts and manifests take it."""
        out: dict[str, Any] = {"requests": {"cpu": cpu_quantity(self.cpu_m), "memory": memory_quantity(self.memory_mi)}}
        limits: dict[str, str] = {}
        if self.cpu_limit_m is not None:
            limits["cpu"] = cpu_quantity(self.cpu_limit_m)
        if self.memory_limit_mi is not None:
            limits["memory"] = memory_quantity(self.memory_limit_mi)
        if limits:
            out["limits"] = limits
        return out


# Set by this program (chart key in the comment; each key exists in the pinned chart's values.yaml).
KARPENTER = Container(1000, 1024, 1024)              # karpenter: controller.resources
KARPENTER_REPLICAS = 2                               # karpenter: replicas
ESO_CONTROLLER = Container(50, 128, 512)             # external-secrets: resources
ESO_REPLICAS = 2                                     # external-secrets: replicaCount
ESO_WEBHOOK = Container(20, 64, 256)                 # external-secrets: webhook.resources
ESO_WEBHOOK_REPLICAS = 2                             # external-secrets: webhook.replicaCount
ESO_CERT_CONTROLLER = Container(20, 128, 512)        # external-secrets: certController.resources
ESO_CERT_CONTROLLER_REPLICAS = 1                     # external-secrets: certController.replicaCount
KEDA_OPERATOR = Container(100, 128, 512)             # keda: resources.operator
KEDA_METRICS_SERVER = Container(100, 128, 512)       # keda: resources.metricServer
KEDA_WEBHOOKS = Container(50, 64, 256)               # keda: resources.webhooks
KEDA_REPLICAS = 1                                    # keda: operator/metricsServer/webhooks.replicaCount
PROMETHEUS = Container(500, 2048, 4096)              # kube-prometheus-stack: prometheus.prometheusSpec.resources
CONFIG_RELOADER = Container(10, 32, 64)              # ...: prometheusOperator.prometheusConfigReloader.resources
ALERTMANAGER = Container(20, 64, 256)                # ...: alertmanager.alertmanagerSpec.resources
ALERTMANAGER_REPLICAS = 1                            # ...: alertmanager.alertmanagerSpec.replicas
PROMETHEUS_OPERATOR = Container(100, 128, 512)       # ...: prometheusOperator.resources
ADMISSION_JOB = Container(10, 32, 64)                # ...: prometheusOperator.admissionWebhooks.patch.resources
GRAFANA = Container(100, 256, 512)                   # ...: grafana.resources
GRAFANA_REPLICAS = 1                                 # ...: grafana.replicas
GRAFANA_SIDECAR = Container(20, 96, 256)             # ...: grafana.sidecar.resources (dashboards, datasources)
KUBE_STATE_METRICS = Container(50, 128, 512)         # ...: kube-state-metrics.resources
KUBE_STATE_METRICS_REPLICAS = 1                      # ...: kube-state-metrics.replicas
NODE_EXPORTER = Container(20, 32, 128)               # ...: prometheus-node-exporter.resources
ENVOY_GATEWAY = Container(100, 256, 1024)            # envoy-gateway: deployment.envoyGateway.resources
ENVOY_GATEWAY_REPLICAS = 1                           # envoy-gateway: deployment.replicas
ENVOY_GATEWAY_CERTGEN = Container(10, 32, 64)        # envoy-gateway: certgen.job.resources
# envoy-gateway: config.envoyGateway.provider.kubernetes.rateLimitDeployment.container.resources (one replica)
ENVOY_RATELIMIT = Container(50, 64, 256)
ENVOY_RATELIMIT_REPLICAS = 1                         # ...: rateLimitDeployment.replicas
ENVOY_PROXY = Container(175, 448, 1024)              # EnvoyProxy: envoyDeployment.container.resources
# ai-gateway-helm: controller.resources / controller.replicaCount (the chart sets no requests of its own).
AIGW_CONTROLLER = Container(25, 96, 512)
AIGW_CONTROLLER_REPLICAS = 1
# AI Gateway's extProc sidecar in every Envoy proxy pod: GatewayConfig spec.extProc.kubernetes.resources.
AIGW_EXTPROC = Container(25, 64, 256)
# The request guard, OPA-Envoy (gateway/guard.py), two replicas (a PDB keeps one). Memory, measured by
# benchmarks/guard_bench.py (the policy under OPA's Go engine in one process): ~36 MiB idle with the policy,
# peak 64-66 MiB under 50 concurrent 1 MiB prompts and 85-87 MiB under 50 worst-case 1 MiB bodies (just under
# guard.MAX_JSON_VALUES). Not measured (no OPA-Envoy binary here), estimated from the plugin's conversions
# (open-policy-agent/opa-envoy-plugin envoyauth/request.go at v1.19.1-envoy: the CheckRequest, its input map
# and the Rego value each hold the body): ~3 MiB more per 1 MiB decision in flight, ~150 MiB at 50. Decisions
# in flight are capped at guard.MAX_PARALLEL_CHECKS per Envoy replica. The limit leaves ~40% over that sum;
# GOMEMLIMIT is set to it so Go's GC works harder before the kernel would kill the pod.
REQUEST_GUARD = Container(50, 96, 384, cpu_limit_m=1000)
REQUEST_GUARD_REPLICAS = 2
VALKEY = Container(100, 256, 256, cpu_limit_m=1000)  # ratelimit-redis Deployment (gateway_manifests.redis)
CERT_MANAGER = Container(50, 128, 512)               # cert-manager: resources
CERT_MANAGER_REPLICAS = 2                            # cert-manager: replicaCount
CERT_MANAGER_WEBHOOK = Container(20, 64, 256)        # cert-manager: webhook.resources
CERT_MANAGER_WEBHOOK_REPLICAS = 2                    # cert-manager: webhook.replicaCount
CERT_MANAGER_CAINJECTOR = Container(50, 128, 512)    # cert-manager: cainjector.resources
CERT_MANAGER_CAINJECTOR_REPLICAS = 1                 # cert-manager: cainjector.replicaCount
CERT_MANAGER_STARTUPAPICHECK = Container(10, 32, 64)  # cert-manager: startupapicheck.resources
# Each tier release's weight-sync Job (tier_manifests.sync_job).
WEIGHT_SYNC = Container(1000, 2048, 4096, cpu_limit_m=2000)
OTEL_COLLECTOR = Container(100, 256, 512)  # opentelemetry-collector: resources (tracing/manifests.py values)
# Each benchmarked tier release's GuideLLM Job (benchmark/manifests.py job): the load generator and tokenizer.
BENCHMARK = Container(1000, 1024, 2048, cpu_limit_m=2000)
EVAL = Container(100, 512, 2048, cpu_limit_m=1000)  # eval Job: pip, lm-eval's chat client, the eval-set scorer
EVAL_GATE = Container(50, 64, 128, cpu_limit_m=200)  # promotion gate: reads a few JSON files
EXTERNAL_DNS = Container(20, 96, 256)  # external-dns: resources (one replica: the chart fixes it)
AWS_LOAD_BALANCER_CONTROLLER = Container(50, 128, 512)  # aws-load-balancer-controller: resources
AWS_LOAD_BALANCER_CONTROLLER_REPLICAS = 2  # aws-load-balancer-controller: replicaCount

# Not settable here, taken as upstream ships them:
# Envoy Gateway adds a shutdown-manager container to every proxy pod with fixed requests
# (envoyproxy/gateway v1.9.0 api/v1alpha1/shared_types.go DefaultShutdownManager*ResourceRequests, used by
# internal/infrastructure/kubernetes/proxy/resource.go).
ENVOY_SHUTDOWN_MANAGER = Container(10, 32)
# EKS add-ons run with their default requests (cluster/layout.py ADDON_CONFIGURATION sets no resources in their
# configuration values).
# Sources, at the versions pinned in versions.py:
#   vpc-cni v1.21.1: aws/amazon-vpc-cni-k8s config/master/aws-k8s-cni.yaml (aws-node and aws-eks-nodeagent:
#     cpu 25m each, no memory request)
#   aws-ebs-csi-driver v1.63.0: kubernetes-sigs/aws-ebs-csi-driver deploy/kubernetes/base/{controller,node}.yaml
#   aws-efs-csi-driver v3.4.1: kubernetes-sigs/aws-efs-csi-driver deploy/kubernetes/base/ (no requests)
#   eks-pod-identity-agent: aws/eks-pod-identity-agent charts/eks-pod-identity-agent/values.yaml (resources: {})
# Assumed (EKS does not publish these add-ons' manifests): coredns as upstream's
#   kubernetes/kubernetes cluster/addons/dns/coredns/coredns.yaml.base (cpu 100m, memory 70Mi, limit 170Mi;
#   EKS runs 2 replicas with preferred anti-affinity), kube-proxy cpu 100m and no memory request
#   (aws/containers-roadmap#1509).
AWS_NODE = (Container(25, 0), Container(25, 0))
KUBE_PROXY = (Container(100, 0),)
POD_IDENTITY_AGENT = (Container(0, 0),)
EBS_CSI_NODE = (Container(10, 40, 256), Container(10, 32, 32), Container(10, 32, 32))
EFS_CSI_NODE = (Container(0, 0), Container(0, 0), Container(0, 0))
COREDNS = (Container(100, 70, 170),)
EBS_CSI_CONTROLLER = (*(Container(10, 40, 256),) * 5, Container(10, 32, 32))
EFS_CSI_CONTROLLER = (Container(0, 0), Container(0, 0), Container(0, 0))
EKS_ADDON_CONTROLLER_REPLICAS = 2


# --------------------------------------------------------------------------------------------------
# A workload: pods of one kind on the system nodes
# --------------------------------------------------------------------------------------------------

Placement = Literal["daemonset", "required", "balanced", "preferred", "any"]


@dataclass(frozen=True)
class Workload:
    """Pods of one kind that run on the system nodes."""

    name: str
    """Who runs it, e.g. ``karpenter`` or ``coredns``."""
    source: str
    """Where its requests come from: ``helm:<release>``, ``manifest``, ``eks-addon:<name>``, ``upstream``."""
    containers: tuple[Container, ...]
    replicas: int = 1
    """Pods (ignored for DaemonSets: one per node)."""
    placement: Placement = "any"
    kind: Literal["Deployment", "StatefulSet", "DaemonSet", "Job"] = "Deployment"

    @property
    def cpu_m(self) -> int:
        """One pod's CPU request."""
        return sum(c.cpu_m for c in self.containers)

    @property
    def memory_mi(self) -> int:
        """One pod's memory request."""
        return sum(c.memory_mi for c in self.containers)
