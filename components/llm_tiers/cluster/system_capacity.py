"""System node group capacity (pure): what every system pod requests, what a system node can allocate, and
whether the pods fit on the node group as configured.

There is no cluster autoscaler for the system node group (Karpenter manages the GPU NodePools only), so the
group runs ``desiredSize`` nodes and every system pod must fit on them. ``config.parse`` refuses a stack
whose pods do not (``cluster.systemNodeGroup.instanceTypes`` / ``.desiredSize``), before anything is
registered; plan.md shows the per-node table.

The requests are defined here, once: the values builders (``gpu_capacity``, ``secret_store``,
``observability``, ``gateway``, ``gateway_manifests``, ``tier_manifests``) import these constants, and
tests/test_system_capacity.py checks that the rendered Helm values and Kubernetes objects carry exactly the
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Optional

if TYPE_CHECKING:  # config imports this module; the schema types are only needed for annotations
    from llm_tiers.config.schema import StackConfig

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
WEIGHT_SYNC = Container(1000, 2048, 4096, cpu_limit_m=2000)  # each tier release's weight-sync Job (tier_manifests.sync_job)
OTEL_COLLECTOR = Container(100, 256, 512)           # opentelemetry-collector: resources (tracing/manifests.py values)
# Each benchmarked tier release's GuideLLM Job (benchmark/manifests.py job): the load generator and tokenizer.
BENCHMARK = Container(1000, 1024, 2048, cpu_limit_m=2000)
EVAL = Container(100, 512, 2048, cpu_limit_m=1000)   # eval Job: pip, lm-eval's chat client, the eval-set scorer
EVAL_GATE = Container(50, 64, 128, cpu_limit_m=200)  # promotion gate: reads a few JSON files
EXTERNAL_DNS = Container(20, 96, 256)                # external-dns: resources (one replica: the chart fixes it)
AWS_LOAD_BALANCER_CONTROLLER = Container(50, 128, 512)  # aws-load-balancer-controller: resources
AWS_LOAD_BALANCER_CONTROLLER_REPLICAS = 2            # aws-load-balancer-controller: replicaCount

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
# The system workloads of a stack
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


def tier_releases(cfg: "StackConfig") -> list[tuple[str, str]]:
    """(tier, cache) of every weight-sync Job: one per weights cache, and a cache holds one revision of one
    model (tier_manifests.cache_key), so a candidate of the same model and revision shares the live one's."""
    out = []
    for t in cfg.tiers:
        caches = {(t.model_id, t.revision)}
        if t.candidate:
            same_model = t.candidate.model_id in (None, t.model_id)
            caches.add((t.candidate.model_id or t.model_id,
                        t.candidate.revision or (t.revision if same_model else None)))
        out += [(t.name, f"{m}@{r or 'locked'}") for m, r in sorted(caches, key=str)]
    return out


def system_workloads(cfg: "StackConfig") -> list[Workload]:
    """Every pod the stack runs on the system node group, with the requests and replicas it is given."""
    obs, gw = cfg.observability, cfg.gateway
    w = [
        # Per node (system nodes too): EKS add-on agents and the node exporter.
        Workload("aws-node", "eks-addon:vpc-cni", AWS_NODE, kind="DaemonSet", placement="daemonset"),
        Workload("kube-proxy", "eks-addon:kube-proxy", KUBE_PROXY, kind="DaemonSet", placement="daemonset"),
        Workload("eks-pod-identity-agent", "eks-addon:eks-pod-identity-agent", POD_IDENTITY_AGENT,
                 kind="DaemonSet", placement="daemonset"),
        Workload("ebs-csi-node", "eks-addon:aws-ebs-csi-driver", EBS_CSI_NODE, kind="DaemonSet", placement="daemonset"),
        Workload("efs-csi-node", "eks-addon:aws-efs-csi-driver", EFS_CSI_NODE, kind="DaemonSet", placement="daemonset"),
        Workload("node-exporter", "helm:kube-prometheus-stack", (NODE_EXPORTER,), kind="DaemonSet",
                 placement="daemonset"),
        # EKS add-on controllers.
        Workload("coredns", "eks-addon:coredns", COREDNS, EKS_ADDON_CONTROLLER_REPLICAS, "preferred"),
        Workload("ebs-csi-controller", "eks-addon:aws-ebs-csi-driver", EBS_CSI_CONTROLLER,
                 EKS_ADDON_CONTROLLER_REPLICAS, "preferred"),
        Workload("efs-csi-controller", "eks-addon:aws-efs-csi-driver", EFS_CSI_CONTROLLER,
                 EKS_ADDON_CONTROLLER_REPLICAS),
        # GpuCapacity. The chart's default affinity: required anti-affinity on the hostname, zone spread.
        Workload("karpenter", "helm:karpenter", (KARPENTER,), KARPENTER_REPLICAS, "required"),
        # SecretStore.
        Workload("external-secrets", "helm:external-secrets", (ESO_CONTROLLER,), ESO_REPLICAS),
        Workload("external-secrets-webhook", "helm:external-secrets", (ESO_WEBHOOK,), ESO_WEBHOOK_REPLICAS),
        Workload("external-secrets-cert-controller", "helm:external-secrets", (ESO_CERT_CONTROLLER,),
                 ESO_CERT_CONTROLLER_REPLICAS),
        # Observability.
        Workload("keda-operator", "helm:keda", (KEDA_OPERATOR,), KEDA_REPLICAS),
        Workload("keda-metrics-apiserver", "helm:keda", (KEDA_METRICS_SERVER,), KEDA_REPLICAS),
        Workload("keda-admission-webhooks", "helm:keda", (KEDA_WEBHOOKS,), KEDA_REPLICAS),
        # The operator runs each Prometheus/Alertmanager pod with a config-reloader sidecar; the chart's
        # podAntiAffinity "soft" spreads replicas over hostnames when it can.
        Workload("prometheus", "helm:kube-prometheus-stack", (PROMETHEUS, CONFIG_RELOADER), obs.prometheus.replicas,
                 "preferred", "StatefulSet"),
        Workload("alertmanager", "helm:kube-prometheus-stack", (ALERTMANAGER, CONFIG_RELOADER), ALERTMANAGER_REPLICAS,
                 "preferred", "StatefulSet"),
        Workload("prometheus-operator", "helm:kube-prometheus-stack", (PROMETHEUS_OPERATOR,)),
        # Helm hooks: the admission webhook's certificate Job and its patch Job.
        Workload("prometheus-admission-jobs", "helm:kube-prometheus-stack", (ADMISSION_JOB,), 2, kind="Job"),
        Workload("kube-state-metrics", "helm:kube-prometheus-stack", (KUBE_STATE_METRICS,), KUBE_STATE_METRICS_REPLICAS),
    ]
    if obs.grafana_enabled:
        # Grafana runs its dashboards and datasources sidecars as containers (kube-prometheus-stack enables both).
        w.append(Workload("grafana", "helm:kube-prometheus-stack", (GRAFANA, GRAFANA_SIDECAR, GRAFANA_SIDECAR),
                          GRAFANA_REPLICAS))
    w += [
        # Gateway: the controller (and its certgen hook Job), the rate limiter it runs, the Envoy proxies
        # (spread over zones and hostnames with DoNotSchedule), the rate-limit store.
        Workload("envoy-gateway", "helm:envoy-gateway", (ENVOY_GATEWAY,), ENVOY_GATEWAY_REPLICAS),
        Workload("envoy-gateway-certgen", "helm:envoy-gateway", (ENVOY_GATEWAY_CERTGEN,), kind="Job"),
        Workload("envoy-ratelimit", "helm:envoy-gateway", (ENVOY_RATELIMIT,), ENVOY_RATELIMIT_REPLICAS),
        Workload("envoy-proxy", "manifest", (ENVOY_PROXY, ENVOY_SHUTDOWN_MANAGER, AIGW_EXTPROC), gw.replicas,
                 "balanced"),
        Workload("ai-gateway-controller", "helm:ai-gateway", (AIGW_CONTROLLER,), AIGW_CONTROLLER_REPLICAS),
        Workload("request-guard", "manifest", (REQUEST_GUARD,), REQUEST_GUARD_REPLICAS),
        Workload("ratelimit-redis", "manifest", (VALKEY,)),
        # LoadBalancerController: the chart's default affinity prefers distinct hostnames.
        Workload("aws-load-balancer-controller", "helm:aws-load-balancer-controller", (AWS_LOAD_BALANCER_CONTROLLER,),
                 AWS_LOAD_BALANCER_CONTROLLER_REPLICAS, "preferred"),
    ]
    if gw.tls.mode == "cert-manager":
        w += [
            Workload("cert-manager", "helm:cert-manager", (CERT_MANAGER,), CERT_MANAGER_REPLICAS),
            Workload("cert-manager-webhook", "helm:cert-manager", (CERT_MANAGER_WEBHOOK,), CERT_MANAGER_WEBHOOK_REPLICAS),
            Workload("cert-manager-cainjector", "helm:cert-manager", (CERT_MANAGER_CAINJECTOR,),
                     CERT_MANAGER_CAINJECTOR_REPLICAS),
            Workload("cert-manager-startupapicheck", "helm:cert-manager", (CERT_MANAGER_STARTUPAPICHECK,), kind="Job"),
        ]
    if gw.dns is not None:
        # Dns: ExternalDNS, one replica (its chart's Deployment has replicas: 1).
        w.append(Workload("external-dns", "helm:external-dns", (EXTERNAL_DNS,)))
    # ModelTier's weight-sync Jobs run on the weight-sync NodePool (weight_sync_report), not here.
    if obs.tracing.enabled:
        # Tracing: the OpenTelemetry Collector, one replica (tracing/manifests.py values replicaCount).
        w.append(Workload("otel-collector", "helm:opentelemetry-collector", (OTEL_COLLECTOR,)))
    benchmarked = [t for t in cfg.tiers if t.name in cfg.benchmark.tiers]
    if benchmarked:
        # Benchmark: one GuideLLM Job per release of every benchmarked tier, on the system nodes.
        jobs = sum(2 if t.candidate is not None else 1 for t in benchmarked)
        w.append(Workload("benchmark", "manifest", (BENCHMARK,), jobs, kind="Job"))
    w += _eval_workloads(cfg)
    return w


def _eval_workloads(cfg: Any) -> list[Workload]:
    """Evaluation (components/llm_tiers/evaluation/): an eval Job per release of every tier with ``eval``, and a
    gate Job per tier whose Service is switching to its candidate, on the system nodes."""
    evaluated = [t for t in cfg.tiers if getattr(t, "eval", None) is not None and t.name in cfg.benchmark.tiers]
    w = []
    if evaluated:
        jobs = sum(2 if t.candidate is not None else 1 for t in evaluated)
        w.append(Workload("eval", "manifest", (EVAL,), jobs, kind="Job"))
    gates = [t for t in evaluated if t.candidate is not None and t.serve == "candidate"]
    if gates:
        w.append(Workload("eval-gate", "manifest", (EVAL_GATE,), len(gates), kind="Job"))
    return w


# --------------------------------------------------------------------------------------------------
# Packing
# --------------------------------------------------------------------------------------------------


@dataclass
class NodeUse:
    """What one node runs after packing."""

    cpu_m: int = 0
    memory_mi: int = 0
    pods: list[str] = field(default_factory=list)
    groups: dict[str, int] = field(default_factory=dict)
    """Pods per workload name on this node."""


@dataclass(frozen=True)
class Fit:
    """The result of packing a stack's system pods onto ``nodes`` nodes of ``instance_type``."""

    instance_type: SystemInstanceType
    nodes: int
    node_use: tuple[NodeUse, ...]
    unplaced: tuple[str, ...]
    """Pods that found no node (``<workload>-<n>``)."""
    requested_cpu_m: int
    requested_memory_mi: int
    pod_count: int

    @property
    def fits(self) -> bool:
        return not self.unplaced

    @property
    def allocatable_cpu_m(self) -> int:
        return self.instance_type.allocatable_cpu_m * self.nodes

    @property
    def allocatable_memory_mi(self) -> int:
        return self.instance_type.allocatable_memory_mi * self.nodes

    @property
    def headroom_cpu_m(self) -> int:
        return self.allocatable_cpu_m - self.requested_cpu_m

    @property
    def headroom_memory_mi(self) -> int:
        return self.allocatable_memory_mi - self.requested_memory_mi

    @property
    def headroom_cpu_percent(self) -> float:
        return 100 * self.headroom_cpu_m / self.allocatable_cpu_m

    @property
    def headroom_memory_percent(self) -> float:
        return 100 * self.headroom_memory_mi / self.allocatable_memory_mi

    def summary(self) -> str:
        it = self.instance_type
        return (f"{self.nodes} x {it.name} allocate {fmt_cpu(self.allocatable_cpu_m)} and "
                f"{fmt_memory(self.allocatable_memory_mi)} ({fmt_cpu(it.allocatable_cpu_m)}, "
                f"{fmt_memory(it.allocatable_memory_mi)}, {it.max_pods} pods each after kube-reserved and the "
                f"eviction threshold); the system pods request {fmt_cpu(self.requested_cpu_m)} and "
                f"{fmt_memory(self.requested_memory_mi)} ({self.pod_count} pods)")


def pack(workloads: Sequence[Workload], instance_type: SystemInstanceType, nodes: int) -> Fit:
    """First-fit decreasing of ``workloads`` onto ``nodes`` identical nodes (see the module docstring)."""
    it = instance_type
    use = [NodeUse() for _ in range(nodes)]
    unplaced: list[str] = []
    requested_cpu = requested_mem = pod_count = 0

    def room(n: NodeUse, w: Workload) -> bool:
        return (n.cpu_m + w.cpu_m <= it.allocatable_cpu_m and n.memory_mi + w.memory_mi <= it.allocatable_memory_mi
                and len(n.pods) < it.max_pods)

    def place(n: NodeUse, w: Workload, pod: str) -> None:
        n.cpu_m += w.cpu_m
        n.memory_mi += w.memory_mi
        n.pods.append(pod)
        n.groups[w.name] = n.groups.get(w.name, 0) + 1

    for w in (w for w in workloads if w.placement == "daemonset"):
        for i, n in enumerate(use):
            requested_cpu, requested_mem, pod_count = requested_cpu + w.cpu_m, requested_mem + w.memory_mi, pod_count + 1
            if room(n, w):
                place(n, w, w.name)
            else:
                unplaced.append(f"{w.name} (node {i + 1})")

    def size(w: Workload) -> float:
        return max(w.cpu_m / max(it.allocatable_cpu_m, 1), w.memory_mi / max(it.allocatable_memory_mi, 1))

    pods = sorted(((w, r) for w in workloads if w.placement != "daemonset" for r in range(w.replicas)),
                  key=lambda p: (-size(p[0]), p[0].name, p[1]))
    for w, r in pods:
        pod = f"{w.name}-{r}"
        requested_cpu, requested_mem, pod_count = requested_cpu + w.cpu_m, requested_mem + w.memory_mi, pod_count + 1
        counts = [n.groups.get(w.name, 0) for n in use]
        if w.placement == "required":
            candidates = [i for i in range(nodes) if counts[i] == 0]
        elif w.placement == "balanced":
            candidates = [i for i in range(nodes) if counts[i] == min(counts)]
        elif w.placement == "preferred":
            candidates = sorted(range(nodes), key=lambda i: (counts[i], i))
        else:
            candidates = list(range(nodes))
        chosen = next((i for i in candidates if room(use[i], w)), None)
        if chosen is None:
            unplaced.append(pod)
        else:
            place(use[chosen], w, pod)
    return Fit(it, nodes, tuple(use), tuple(unplaced), requested_cpu, requested_mem, pod_count)


# --------------------------------------------------------------------------------------------------
# The check (config/schema.py turns these into ConfigIssues) and what plan.md shows
# --------------------------------------------------------------------------------------------------

HEADROOM_WARNING_PERCENT = 15
MAX_SUGGESTED_NODES = 10


def fits_for(cfg: "StackConfig", nodes: Optional[int] = None) -> list[Fit]:
    """One packing per listed instance type that the catalog knows, on ``nodes`` (default desiredSize)."""
    ng = cfg.cluster.system_node_group
    workloads = system_workloads(cfg)
    n = nodes if nodes is not None else ng.desired_size
    return [pack(workloads, CATALOG[t], n) for t in dict.fromkeys(ng.instance_types) if t in CATALOG]


def tightest(fits: Sequence[Fit]) -> Optional[Fit]:
    """The packing the stack is judged by: a misfit first, else the one with the least headroom."""
    if not fits:
        return None
    return min(fits, key=lambda f: (f.fits, min(f.headroom_cpu_percent, f.headroom_memory_percent)))


def _needs_more_nodes(workloads: Sequence[Workload], fit: Fit) -> Optional[Workload]:
    """A workload whose replicas must sit on distinct nodes but outnumber them."""
    return next((w for w in workloads if w.placement == "required" and w.replicas > fit.nodes), None)


def misfit_message(cfg: "StackConfig", fit: Fit) -> tuple[str, str]:
    """(key, message) for a packing that does not fit: what is short, by how much, and what to do."""
    ng = cfg.cluster.system_node_group
    workloads = system_workloads(cfg)
    spread = _needs_more_nodes(workloads, fit)
    if spread is not None:
        return "desiredSize", (
            f"{spread.name} runs {spread.replicas} replicas that must be on different nodes (required pod "
            f"anti-affinity), but the group runs {fit.nodes} node(s); set desiredSize (and minSize) to at least "
            f"{spread.replicas}")
    it = fit.instance_type
    shown = ", ".join(fit.unplaced[:4]) + (f" and {len(fit.unplaced) - 4} more" if len(fit.unplaced) > 4 else "")
    hints = []
    family = it.name.split(".")[0]
    bigger = sorted((t for t in CATALOG.values() if t.name.split(".")[0] == family and t.vcpus > it.vcpus),
                    key=lambda t: t.vcpus)
    for t in bigger:
        f = pack(workloads, t, fit.nodes)
        if f.fits:
            hints.append(f"use {t.name} instead of {it.name} ({fit.nodes} nodes then leave "
                         f"{f.headroom_cpu_percent:.0f}% CPU and {f.headroom_memory_percent:.0f}% memory free)")
            break
    for n in range(fit.nodes + 1, MAX_SUGGESTED_NODES + 1):
        if pack(workloads, it, n).fits:
            hints.append(f"raise desiredSize to {n}" + (f" (and maxSize to at least {n})" if n > ng.max_size else ""))
            break
    hints.append("lower the requests in components/llm_tiers/cluster/system_capacity.py")
    return "instanceTypes", (f"the system pods do not fit on {it.name}: {fit.summary()}; no room for {shown}. "
                             f"To fix: {'; or '.join(hints)}")


def warnings(cfg: "StackConfig") -> list[str]:
    """What the preview should show but not refuse: thin headroom, or a misfit at minSize."""
    ng = cfg.cluster.system_node_group
    out = []
    fit = tightest(fits_for(cfg))
    if fit is None or not fit.fits:
        return out  # unknown types or a misfit are config errors, reported by config.parse
    low = min(fit.headroom_cpu_percent, fit.headroom_memory_percent)
    if low < HEADROOM_WARNING_PERCENT:
        out.append(f"cluster.systemNodeGroup: the system pods fit on {fit.nodes} x {fit.instance_type.name} with only "
                   f"{fit.headroom_cpu_percent:.0f}% CPU and {fit.headroom_memory_percent:.0f}% memory free; a "
                   "rolling update or one more tier release may leave pods Pending (use a larger type or more nodes)")
    if ng.min_size < ng.desired_size:
        at_min = tightest(fits_for(cfg, ng.min_size))
        if at_min is not None and not at_min.fits:
            out.append(f"cluster.systemNodeGroup.minSize: the system pods do not fit on {ng.min_size} x "
                       f"{at_min.instance_type.name}; scaling the group in to minSize would leave "
                       f"{len(at_min.unplaced)} pod(s) Pending")
    return out


def weight_sync_report(cfg: "StackConfig") -> dict[str, Any]:
    """Where the weight-sync Jobs run: their own Karpenter NodePool, with the CPU limit that lets all of them
    run at once (gpu/karpenter.py)."""
    from llm_tiers.gpu import karpenter  # imports the config schema, which imports this module

    jobs = len(tier_releases(cfg))
    return {"nodePool": karpenter.SYNC_POOL, "jobs": jobs, "requested": {"cpuM": jobs * WEIGHT_SYNC.cpu_m,
                                                                          "memoryMi": jobs * WEIGHT_SYNC.memory_mi},
            "cpuLimit": karpenter.sync_cpu_limit(jobs, WEIGHT_SYNC.cpu_m) if jobs else 0}


def report(cfg: "StackConfig") -> dict[str, Any]:
    """The capacity table of plan.md (and the ``systemCapacity`` stack output): the tightest packing, and
    where the weight-sync Jobs run."""
    fit = tightest(fits_for(cfg))
    if fit is None:
        return {}
    it = fit.instance_type
    return {
        "instanceType": it.name,
        "nodes": fit.nodes,
        "fits": fit.fits,
        "allocatablePerNode": {"cpuM": it.allocatable_cpu_m, "memoryMi": it.allocatable_memory_mi,
                               "pods": it.max_pods},
        "requested": {"cpuM": fit.requested_cpu_m, "memoryMi": fit.requested_memory_mi, "pods": fit.pod_count},
        "headroomPercent": {"cpu": round(fit.headroom_cpu_percent, 1), "memory": round(fit.headroom_memory_percent, 1)},
        "perNode": [{"node": i + 1, "cpuM": n.cpu_m, "memoryMi": n.memory_mi, "pods": len(n.pods)}
                    for i, n in enumerate(fit.node_use)],
        "unplaced": list(fit.unplaced),
        "weightSync": weight_sync_report(cfg),
    }
