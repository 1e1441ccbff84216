"""What a stack costs (pure): per tier and release at ``replicas.min`` and ``replicas.max``, the fixed platform
costs, and what is billed by use. plan.md opens with it and the ``bill`` stack output carries it.

Model (stated so a reviewer can argue with it):

* **GPU nodes: a node per replica.** A tier's Deployment spreads its pods over hostnames with
  ``whenUnsatisfiable: ScheduleAnyway``. Karpenter treats such preferences as required until a pod cannot
  be placed otherwise (``preferencePolicy: Respect``, the chart's default), so replicas that are pending
  together get one new node each, and the NodePools consolidate only empty nodes (``WhenEmpty``), so nothing
  repacks them afterwards. A replica is priced as the whole node Karpenter launches for it: the cheapest
  instance type of its GPU class that holds the pod's requests (``capacity.replica_node``), plus the node's
  gp3 root volume. That is exact when a replica takes every GPU of its node and an upper bound otherwise
  (kube-scheduler may still place a replica on a node another replica left room on); plan.md shows the
  packed figure beside it for such tiers.
* **A candidate release** (``tiers[i].candidate``) runs beside the live one with the same replica bounds
  until it is promoted or removed: its nodes are listed as their own rows and counted in the totals.
* **Spot**: a class that allows spot is still priced on-demand (an upper bound; spot prices move).
* **Fixed**: the EKS control plane, NAT gateways and public IPv4 addresses, the NLB, the system node group
  (``desiredSize`` nodes of the first listed type: an on-demand managed node group launches its types in the
  listed order), their root volumes, EFS storage of every weight cache, Prometheus's gp3 volumes, Secrets
  Manager secrets and KMS keys.
* **By use, not in the totals**: NAT and NLB data, EFS Elastic throughput (per GB), log ingestion, API calls.
  Each comes with its unit price and, where the stack determines it, an estimate (the weight downloads).

Prices: ``gpu_catalog`` (GPU instances) and ``prices`` (everything else), one region and date.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from llm_tiers.tiers import capacity
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.gpu import karpenter
from llm_tiers.gpu import warm
from llm_tiers.cluster import network
from llm_tiers.cost import prices
from llm_tiers import versions
from llm_tiers.tiers.capacity import GIB
from llm_tiers.config.schema import StackConfig
from llm_tiers.tiers.models_lock import ModelLockEntry
from llm_tiers.tiers.storage import MIRRORED  # the weightsFrom values whose revisions live in the S3 mirror

At = Literal["min", "max"]
HOURS = prices.HOURS_PER_MONTH


@dataclass(frozen=True)
class TierLine:
    """One release of a tier: the node each replica gets and what its replicas cost."""

    tier: str
    release: str
    """``live``, or ``candidate`` (runs beside live while a swap is in progress)."""
    instance_type: str
    capacity_types: tuple[str, ...]
    gpus_per_replica: int
    gpus_per_node: int
    cpu: int
    memory_gib: int
    instance_hourly: float
    root_volume_hourly: float
    replicas_min: int
    replicas_max: int
    replicas_per_node: int
    """How many replicas one node could hold by its requests (1: the replica fills its node)."""

    @property
    def node_hourly(self) -> float:
        return self.instance_hourly + self.root_volume_hourly

    def replicas(self, at: At) -> int:
        return self.replicas_min if at == "min" else self.replicas_max

    def hourly(self, at: At) -> float:
        return self.replicas(at) * self.node_hourly

    def packed_hourly(self, at: At) -> float:
        """If replicas shared nodes as tightly as their requests allow (the lower bound)."""
        return math.ceil(self.replicas(at) / self.replicas_per_node) * self.node_hourly


@dataclass(frozen=True)
class FixedLine:
    item: str
    quantity: str
    unit_price: str
    monthly: float

    @property
    def hourly(self) -> float:
        return self.monthly / HOURS


@dataclass(frozen=True)
class Bill:
    region: str
    tiers: tuple[TierLine, ...]
    fixed: tuple[FixedLine, ...]
    usage: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def fixed_hourly(self) -> float:
        return sum(f.hourly for f in self.fixed)

    def tiers_hourly(self, at: At) -> float:
        return sum(t.hourly(at) for t in self.tiers)

    def total_hourly(self, at: At) -> float:
        return self.tiers_hourly(at) + self.fixed_hourly

    def to_output(self) -> dict[str, Any]:
        """The ``bill`` stack output (JSON; $/hour to 4 decimals, $/month to cents)."""
        h, m = (lambda x: round(x, 4)), (lambda x: round(x * HOURS, 2))
        return {
            "region": self.region,
            "priceList": prices.PRICE_LIST,
            "hoursPerMonth": HOURS,
            "tiers": [{
                "tier": t.tier, "release": t.release, "instanceType": t.instance_type,
                "capacityTypes": list(t.capacity_types), "gpusPerReplica": t.gpus_per_replica,
                "gpusPerNode": t.gpus_per_node, "replicasPerNode": t.replicas_per_node,
                "requests": {"cpu": t.cpu, "memoryGiB": t.memory_gib},
                "instanceUsdPerHour": h(t.instance_hourly), "rootVolumeUsdPerHour": h(t.root_volume_hourly),
                "nodeUsdPerHour": h(t.node_hourly), "replicasMin": t.replicas_min, "replicasMax": t.replicas_max,
                "usdPerHourMin": h(t.hourly("min")), "usdPerHourMax": h(t.hourly("max")),
                "usdPerMonthMin": m(t.hourly("min")), "usdPerMonthMax": m(t.hourly("max")),
                "packedUsdPerMonthMin": m(t.packed_hourly("min")), "packedUsdPerMonthMax": m(t.packed_hourly("max")),
            } for t in self.tiers],
            "fixed": [{"item": f.item, "quantity": f.quantity, "unitPrice": f.unit_price,
                       "usdPerHour": h(f.hourly), "usdPerMonth": round(f.monthly, 2)} for f in self.fixed],
            "total": {"usdPerHourMin": h(self.total_hourly("min")), "usdPerHourMax": h(self.total_hourly("max")),
                      "usdPerMonthMin": m(self.total_hourly("min")), "usdPerMonthMax": m(self.total_hourly("max")),
                      "fixedUsdPerMonth": m(self.fixed_hourly)},
            "usageBilled": list(self.usage),
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------------- pieces


def gpu_root_volume_hourly(root_volume_gib: int, image_pull: str = "containerd") -> float:
    """A GPU node's gp3 root volume (size from its class; IOPS and throughput as karpenter.ec2_node_class sets for
    the class's ``imagePull``)."""
    return prices.gp3_monthly(root_volume_gib, *karpenter.root_volume_performance(image_pull)) / HOURS


def replicas_per_node(it: gpu_catalog.InstanceType, gpus: int, cpu: int, memory_gib: int) -> int:
    """How many replicas with these requests one node of ``it`` can hold."""
    n = 1
    while capacity.holds(it, (n + 1) * gpus, (n + 1) * cpu, (n + 1) * memory_gib):
        n += 1
    return n


def tier_lines(cfg: StackConfig) -> list[TierLine]:
    """One line per tier release (live, and candidate when set), in config order."""
    lines = []
    for t in cfg.tiers:
        cls = cfg.gpu_classes[t.gpu_class]
        types = [gpu_catalog.lookup(i) for i in cls.instance_types]
        cpu, memory = capacity.replica_requests(types, t.gpus_per_replica)
        node = capacity.replica_node(types, t.gpus_per_replica, cpu, memory)
        if node is None:  # llm_tiers.stack.parse refuses such a tier; kept total for callers with unchecked config
            continue
        for release in ("live", "candidate") if t.candidate is not None else ("live",):
            lines.append(TierLine(
                tier=t.name, release=release, instance_type=node.name, capacity_types=tuple(cls.capacity_types),
                gpus_per_replica=t.gpus_per_replica, gpus_per_node=node.gpu_count, cpu=cpu, memory_gib=memory,
                instance_hourly=node.hourly_usd,
                root_volume_hourly=gpu_root_volume_hourly(cls.root_volume_gib, cls.image_pull),
                replicas_min=t.replicas.min, replicas_max=t.replicas.max,
                replicas_per_node=replicas_per_node(node, t.gpus_per_replica, cpu, memory)))
    return lines


def weight_caches(cfg: StackConfig, lock: Mapping[str, ModelLockEntry],
                  where: tuple[str, ...] = ("efs",)) -> dict[tuple[str, str], int]:
    """(tier, revision) -> weights bytes of every cache the stack keeps on EFS (releases of one revision
    share a cache, as ``tier_manifests.cache_key`` names them); ``where=("nvme", "s3")``: the revisions in the S3
    weight mirror instead."""
    caches: dict[tuple[str, str], int] = {}
    for t in cfg.tiers:
        if t.weights_from not in where:
            continue
        models = [t.model_id] + ([t.candidate.model_id or t.model_id] if t.candidate is not None else [])
        for model in models:
            entry = lock.get(model)
            if entry is not None:
                caches[(t.name, entry.revision)] = entry.weights_bytes
    return caches




def _usd(x: float) -> str:
    """An amount: dollars and cents."""
    return f"${x:,.2f}"


def _rate(x: float) -> str:
    """A unit price: at least cents, all its digits (``$0.045``, ``$0.30``)."""
    return f"${x:.2f}" if round(x, 2) == x else f"${x:g}"


def fixed_lines(cfg: StackConfig, lock: Mapping[str, ModelLockEntry], has_hf_token: bool) -> list[FixedLine]:
    c, gw = cfg.cluster, cfg.gateway
    zones = network.zone_count(c.availability_zones)
    nats = network.nat_gateway_count(zones, c.nat_gateways)
    ng = c.system_node_group
    system_type = ng.instance_types[0]
    system_hourly = prices.SYSTEM_INSTANCE_HOURLY[system_type]
    public_ips = nats + (zones if gw.load_balancer_scheme == "internet-facing" else 0)
    eks_hourly = prices.EKS_CLUSTER_HOURLY[versions.EKS_SUPPORT_TYPE]
    efs_gib = sum(weight_caches(cfg, lock).values()) / GIB
    mirrored = weight_caches(cfg, lock, MIRRORED)
    mirror_gib = sum(mirrored.values()) / GIB
    prom = cfg.observability.prometheus
    secrets = int(has_hf_token) + len(cfg.tenants)
    keys = 2  # the cluster's envelope-encryption key and the secret store's key
    ip_use = (f"{nats} NAT" + (f" + {zones} NLB (internet-facing, one per zone)" if public_ips > nats else ""))
    lines = [
        FixedLine("EKS control plane", f"1 cluster, {versions.EKS_SUPPORT_TYPE.lower()} support",
                  f"{_rate(eks_hourly)}/h", eks_hourly * HOURS),
        FixedLine("NAT gateways", f"{nats} ({c.nat_gateways}, {zones} zones)", f"{_rate(prices.NAT_GATEWAY_HOURLY)}/h",
                  nats * prices.NAT_GATEWAY_HOURLY * HOURS),
        FixedLine("Public IPv4 addresses", f"{public_ips} ({ip_use})", f"{_rate(prices.PUBLIC_IPV4_HOURLY)}/h",
                  public_ips * prices.PUBLIC_IPV4_HOURLY * HOURS),
        FixedLine("Network Load Balancer", f"1 ({gw.load_balancer_scheme})", f"{_rate(prices.NLB_HOURLY)}/h",
                  prices.NLB_HOURLY * HOURS),
        FixedLine("System nodes", f"{ng.desired_size} x {system_type} (on-demand)", f"{_rate(system_hourly)}/h",
                  ng.desired_size * system_hourly * HOURS),
        FixedLine("System nodes' root volumes", f"{ng.desired_size} x {ng.disk_size_gib} GiB gp3",
                  f"{_rate(prices.GP3_GB_MONTH)}/GB-month", ng.desired_size * prices.gp3_monthly(ng.disk_size_gib)),
        FixedLine("EFS weight caches (Standard)", f"{efs_gib:.1f} GiB ({len(weight_caches(cfg, lock))} cache(s))",
                  f"{_rate(prices.EFS_STANDARD_GB_MONTH)}/GB-month", efs_gib * prices.EFS_STANDARD_GB_MONTH),
        *([FixedLine("S3 weight mirror (Standard)", f"{mirror_gib:.1f} GiB ({len(mirrored)} revision(s))",
                     f"{_rate(prices.S3_STANDARD_GB_MONTH)}/GB-month", mirror_gib * prices.S3_STANDARD_GB_MONTH)]
          if mirrored else []),
        FixedLine("Prometheus volumes", f"{prom.replicas} x {prom.storage_gib} GiB gp3",
                  f"{_rate(prices.GP3_GB_MONTH)}/GB-month", prom.replicas * prices.gp3_monthly(prom.storage_gib)),
        FixedLine("Secrets Manager secrets", f"{secrets} ({'HF token + ' if has_hf_token else ''}"
                  f"{len(cfg.tenants)} tenant key(s))", f"{_rate(prices.SECRET_MONTH)}/secret-month",
                  secrets * prices.SECRET_MONTH),
        FixedLine("KMS keys", f"{keys} (EKS secrets, platform secrets)", f"{_rate(prices.KMS_KEY_MONTH)}/key-month",
                  keys * prices.KMS_KEY_MONTH),
    ]
    relay = c.operator_access
    if relay.mode == "ssm":  # cluster.operatorAccess: the Session Manager relay and its root volume
        from llm_tiers.cluster import operator_access  # noqa: PLC0415

        lines.append(FixedLine("Operator access relay (SSM)", f"1 x {relay.instance_type} + "
                               f"{operator_access.ROOT_VOLUME_GIB} GiB gp3",
                               f"{_rate(operator_access.HOURLY_USD[relay.instance_type])}/h",
                               operator_access.HOURLY_USD[relay.instance_type] * HOURS
                               + prices.gp3_monthly(operator_access.ROOT_VOLUME_GIB)))
    return lines + warm_capacity_lines(cfg)


def warm_capacity_lines(cfg: StackConfig) -> list[FixedLine]:
    """Idle GPU nodes held for tiers waking from zero (``gpuClasses.<class>.warmNodes``, gpu/warm.py): each is the
    cheapest type of its class that holds a placeholder, on-demand all month, with its root volume. They cost this
    whether or not a tier ever wakes; what they buy is the node launch and image pull of a wake-up (rollout.md)."""
    out = []
    for name, cls in sorted(cfg.gpu_classes.items()):
        if not cls.warm_nodes:
            continue
        it = warm.warm_instance_type(cls)
        hourly = it.hourly_usd + gpu_root_volume_hourly(cls.root_volume_gib, cls.image_pull)
        out.append(FixedLine(f"Warm GPU capacity ({name})", f"{cls.warm_nodes} x {it.name} idle (on-demand, held by "
                             f"placeholder pods) + {cls.root_volume_gib} GiB gp3 root each",
                             f"{_rate(round(hourly, 4))}/h", cls.warm_nodes * hourly * HOURS))
    return out


def usage_lines(cfg: StackConfig, lock: Mapping[str, ModelLockEntry], tiers: list[TierLine]) -> list[str]:
    gb = sum(weight_caches(cfg, lock).values()) / GIB
    mirrored = weight_caches(cfg, lock, MIRRORED)
    hub_gb = gb + sum(mirrored.values()) / GIB
    elastic = cfg.cluster.efs.throughput_mode == "elastic"
    out = [
        f"NAT data processing {_rate(prices.NAT_GATEWAY_PER_GB)}/GB: the weight syncs download {hub_gb:.1f} GiB from "
        f"the Hub through NAT, about {_usd(hub_gb * prices.NAT_GATEWAY_PER_GB)} once per new revision (image pulls "
        "from public registries go through NAT too).",
    ]
    if mirrored:
        files = sum(len(lock[m].files) for m in {m for t in cfg.tiers if t.weights_from in MIRRORED
                                                 for m in [t.model_id] if m in lock})
        out.append(
            f"S3 weight mirror: the syncs upload each revision once (PUT {_rate(prices.S3_PUT_PER_1K)}/1,000 requests, "
            f"multipart parts counted: cents per revision); a replica's copy or stream reads it through the gateway "
            f"endpoint (GET {_rate(prices.S3_GET_PER_1K)}/1,000 requests, about {files} files in 8 MiB ranges: well "
            "under a dollar per start; same-region transfer to EC2 is free, and no NAT processing applies).")
    if elastic and gb:
        reads = "; ".join(f"{t.tier} {_usd(lock_gib * prices.EFS_ELASTIC_READ_PER_GB)}" for t, lock_gib in
                          _tier_weights_gib(cfg, lock, tiers))
        out.append(
            f"EFS Elastic throughput: writes {_rate(prices.EFS_ELASTIC_WRITE_PER_GB)}/GB (the syncs: about "
            f"{_usd(gb * prices.EFS_ELASTIC_WRITE_PER_GB)} once per new revision), reads "
            f"{_rate(prices.EFS_ELASTIC_READ_PER_GB)}/GB each time a replica starts and loads its weights ({reads} "
            f"per start; GPU nodes expire after {karpenter.EXPIRE_AFTER}, so every replica reloads at least monthly).")
    elif not elastic:
        out.append("EFS Bursting throughput: no per-GB charge (throughput comes from burst credits that grow with "
                   "the stored size; a small cache loads slowly once they are spent).")
    out += [
        f"NLB capacity units {_rate(prices.NLB_LCU_HOURLY)}/LCU-hour (new and active TCP flows, bytes); "
        "streaming completions hold long flows, a few LCUs cover a busy tier.",
        f"CloudWatch Logs for the control plane ({', '.join(cfg.cluster.control_plane_log_types)}): ingestion "
        f"{_rate(prices.LOGS_INGEST_PER_GB)}/GB, storage {_rate(prices.LOGS_STORED_GB_MONTH)}/GB-month for "
        f"{cfg.cluster.log_retention_days} days (the audit log dominates).",
        f"Secrets Manager API {_rate(prices.SECRETS_MANAGER_PER_10K_CALLS)}/10,000 calls (External Secrets reads every "
        f"{cfg.secret_store.refresh_interval}); KMS {_rate(prices.KMS_PER_10K_REQUESTS)}/10,000 requests.",
    ]
    if cfg.benchmark.tiers:
        out.append(f"Benchmark results ({', '.join(cfg.benchmark.tiers)}): JSON on EFS Standard at "
                   f"{_rate(prices.EFS_STANDARD_GB_MONTH)}/GB-month for the bytes stored (a few MB per release and "
                   "run); the GuideLLM Jobs run on the system nodes, already counted.")
    if cfg.gateway.dns is not None:
        out.append(f"Route 53: the hosted zone ({_rate(prices.ROUTE53_ZONE_MONTH)}/month) exists already and is not "
                   "counted; queries of the alias record to the NLB are free.")
    return out


def _tier_weights_gib(cfg: StackConfig, lock: Mapping[str, ModelLockEntry],
                      tiers: list[TierLine]) -> list[tuple[TierLine, float]]:
    by_tier = {t.name: t for t in cfg.tiers}
    out = []
    for line in tiers:
        t = by_tier[line.tier]
        if t.weights_from != "efs":
            continue
        model = t.model_id if line.release == "live" else (t.candidate.model_id or t.model_id)  # type: ignore[union-attr]
        entry = lock.get(model)
        if entry is not None:
            out.append((line, entry.weights_bytes / GIB))
    return out


def stack_bill(cfg: StackConfig, lock: Mapping[str, ModelLockEntry], region: str,
               has_hf_token: bool = True) -> Bill:
    """The whole stack's bill from its config, the models lock and the price tables."""
    tiers = tier_lines(cfg)
    notes = []
    if region != gpu_catalog.PRICE_REGION:
        notes.append(f"This stack deploys to {region}, but the price tables are {gpu_catalog.PRICE_REGION}'s: "
                     f"expect different figures there.")
    spot = sorted({t.tier for t in tiers if "spot" in t.capacity_types})
    if spot:
        notes.append(f"{', '.join(spot)}: the GPU class allows spot, which Karpenter prefers; priced on-demand "
                     "(an upper bound).")
    zero = [t.name for t in cfg.tiers if t.replicas.min == 0]
    if zero:
        notes.append(f"{', '.join(zero)}: scales to zero, so it costs nothing at replicas.min (the first request "
                     "after idle waits for a new GPU node).")
    return Bill(region=region, tiers=tuple(tiers), fixed=tuple(fixed_lines(cfg, lock, has_hf_token)),
                usage=tuple(usage_lines(cfg, lock, tiers)), notes=tuple(notes))
