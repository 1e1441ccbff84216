"""The stack configuration schema: one typed model for everything in ``stacks/Pulumi.<stack>.yaml``.

Pure module (no Pulumi resources). ``parse()`` validates a mapping of config keys once, before any
resource is registered, and raises ``ConfigError`` listing every problem by key path with a hint, e.g.::

    tiers[1].maxTotalTokens: must be greater than maxInputTokens (4096); raise maxTotalTokens or lower maxInputTokens

Keys are camelCase (as Pulumi config usually is); unknown keys are errors so typos cannot pass silently;
defaults live here and nowhere else. The config reference in docs/config.md is generated from the field
descriptions below (``python -m llm_tiers.cli.config_docs``) and a test keeps it current.

Secret values (the Hugging Face token, alert receiver URLs) are not part of this model: they are read
with ``pulumi.Config.get_secret`` in ``components.stack_config`` and stay ``Output`` secrets.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.cluster import system_capacity
from llm_tiers.tiers import tgi
from llm_tiers import versions

# --------------------------------------------------------------------------------------------------
# Reusable constrained types
# --------------------------------------------------------------------------------------------------

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# A Service name (RFC 1035 label): a tier's name is its Service's name, which must start with a letter.
DNS_1035_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
# A Kubernetes label value (tenant names end up in labels and headers).
LABEL_VALUE = r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$"
DNS_NAME_OR_LABEL = r"^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$"
DNS_NAME = r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]+$"
ACM_ARN = r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$"
DURATION = r"^([1-9][0-9]*)(s|m|h)$"
PROM_DURATION = r"^([1-9][0-9]*)(h|d|w|y)$"
MODEL_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$"
INSTANCE_TYPE = r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"
HOSTED_ZONE_ID = r"^Z[A-Z0-9]{1,31}$"

Name = Annotated[str, StringConstraints(pattern=DNS_LABEL, min_length=1, max_length=40)]
TierName = Annotated[str, StringConstraints(pattern=DNS_1035_LABEL, min_length=1, max_length=40)]
TenantName = Annotated[str, StringConstraints(pattern=LABEL_VALUE, min_length=1, max_length=63)]
RoleArn = Annotated[str, StringConstraints(pattern=ROLE_ARN)]
Duration = Annotated[str, StringConstraints(pattern=DURATION)]
PositiveInt = Annotated[int, Field(gt=0)]

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)

# TGI 3.3.x ``--quantize`` and ``--dtype`` values (DESIGN.md section 4).
Quantize = Literal[tgi.QUANTIZE]  # type: ignore[valid-type]
Dtype = Literal[tgi.DTYPES]  # type: ignore[valid-type]


def _cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not an IPv4 CIDR block ({exc}); write it like 10.0.0.0/16") from None
    return str(net)


Cidr = Annotated[str, Field(json_schema_extra={"format": "ipv4-cidr"})]


class _Model(BaseModel):
    """Base for every section: camelCase keys, unknown keys rejected, immutable once parsed."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        validate_default=True,
        # python-re: the DNS-name pattern needs a look-ahead for its length bound.
        regex_engine="python-re",
    )


# --------------------------------------------------------------------------------------------------
# cluster
# --------------------------------------------------------------------------------------------------


class SystemNodeGroupConfig(_Model):
    """The managed node group that runs controllers (Karpenter, ESO, Prometheus, gateway)."""

    instance_types: list[Annotated[str, StringConstraints(pattern=INSTANCE_TYPE)]] = Field(
        default_factory=lambda: ["m7i.xlarge"], min_length=1,
        description="EC2 instance types for the system nodes (on-demand, AL2023), from the system catalog in "
                    "`components/llm_tiers/cluster/system_capacity.py`. `desiredSize` nodes of each listed type must hold every "
                    "system pod: a stack that does not fit is refused (see docs/components/cluster.md).")
    min_size: int = Field(2, ge=1, description="Minimum number of system nodes.")
    desired_size: int = Field(
        2, ge=1, description="Number of system nodes the group runs (between min and max); nothing scales the "
                             "group (Karpenter manages only GPU nodes), so the system pods must fit on this many.")
    max_size: int = Field(4, ge=1, description="Maximum number of system nodes.")
    disk_size_gib: int = Field(50, alias="diskSizeGiB", ge=20, le=1000, description="Encrypted gp3 root volume size (GiB).")


class EfsConfig(_Model):
    """The EFS file system that holds every tier's weight cache."""

    throughput_mode: Literal["elastic", "bursting"] = Field(
        "elastic", description="EFS throughput mode. `elastic` suits bursty multi-GB weight loads.")
    storage_class_name: Annotated[str, StringConstraints(pattern=DNS_LABEL)] = Field(
        "efs-weights", description="Name of the Kubernetes StorageClass for weight caches (ReadWriteMany).")
    reclaim_policy: Literal["Delete", "Retain"] = Field(
        "Delete", description="What happens to a tier's cache directory when its PVC is deleted.")


ControlPlaneLogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]


class ClusterConfig(_Model):
    """The VPC, EKS control plane, system node group and EFS weight store."""

    name: Optional[Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=38)]] = Field(
        None, description="EKS cluster name. Default: `llm-<environment>`.")
    kubernetes_version: str = Field(
        versions.DEFAULT_KUBERNETES_VERSION,
        description="EKS Kubernetes minor version; one of the versions with add-on pins in "
                    "`components/llm_tiers/versions.py`.")
    vpc_cidr: Cidr = Field("10.0.0.0/16", description="IPv4 CIDR of the VPC (a /16 to /20).")
    availability_zones: Optional[list[Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")]]] = Field(
        None, min_length=2, max_length=4,
        description="Availability zones to use (2-4). Default: the region's first three available zones. "
                    "Pin them when a GPU instance type is only offered in some zones.")
    nat_gateways: Literal["single", "perAz"] = Field(
        "perAz", description="`perAz`: a NAT gateway per zone (production); `single`: one shared NAT "
                             "gateway (cheaper, a zone outage cuts egress).")
    endpoint_public_access: bool = Field(
        False, description="Expose the Kubernetes API endpoint publicly (restricted to `publicAccessCidrs`). "
                           "The private endpoint is always on.")
    public_access_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="CIDR blocks allowed to reach the public API endpoint. Required when "
                    "`endpointPublicAccess` is true; must be empty otherwise.")
    admin_role_arns: list[Annotated[str, StringConstraints(pattern=ROLE_ARN)]] = Field(
        ..., min_length=1,
        description="IAM role ARNs granted cluster-admin through EKS access entries (no aws-auth ConfigMap). "
                    "The identity running `pulumi up` gets no implicit admin.")
    kubeconfig_role_arn: Optional[RoleArn] = Field(
        None, description="Role the Kubernetes provider and the exported kubeconfig assume "
                          "(`aws eks get-token --role-arn`); must be one of `adminRoleArns`. Default: the "
                          "identity running Pulumi, which must then itself be in `adminRoleArns`.")
    control_plane_log_types: list[ControlPlaneLogType] = Field(
        default_factory=lambda: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
        description="Control-plane log types sent to CloudWatch Logs.")
    log_retention_days: int = Field(
        90, description="Retention of the control-plane log group, in days (a CloudWatch-allowed value).")
    system_node_group: SystemNodeGroupConfig = Field(
        default_factory=SystemNodeGroupConfig, description="The system node group.")
    efs: EfsConfig = Field(default_factory=EfsConfig, description="The weight-cache file system.")
    tags: dict[str, str] = Field(default_factory=dict, description="Extra AWS tags on every AWS resource.")


# --------------------------------------------------------------------------------------------------
# gpuClasses
# --------------------------------------------------------------------------------------------------


class GpuClassConfig(_Model):
    """One class of GPU nodes: a Karpenter NodePool + EC2NodeClass that tiers select by name."""

    instance_types: list[Annotated[str, StringConstraints(pattern=INSTANCE_TYPE)]] = Field(
        ..., min_length=1, description="EC2 instance types in this class, from the GPU catalog (`components/llm_tiers/gpu/catalog.py`); "
                    "all must carry the same GPU model.")
    capacity_types: list[Literal["on-demand", "spot"]] = Field(
        default_factory=lambda: ["on-demand"], min_length=1,
        description="Karpenter capacity types. With both, Karpenter prefers spot.")
    max_gpus: PositiveInt = Field(..., description="Upper bound on `nvidia.com/gpu` across all nodes of the class.")
    root_volume_gib: int = Field(
        200, alias="rootVolumeGiB", ge=100, le=16000, description="Root volume size (GiB); the TGI image alone is about 10 GB.")
    consolidate_after: Duration = Field(
        "30m", description="How long a node must be empty or underused before Karpenter may consolidate it.")


# --------------------------------------------------------------------------------------------------
# secretStore
# --------------------------------------------------------------------------------------------------


class SecretStoreConfig(_Model):
    """Secrets Manager + KMS + External Secrets Operator."""

    refresh_interval: Duration = Field(
        "1h", description="How often External Secrets re-reads Secrets Manager (a rotation reaches the "
                          "cluster within this interval).")
    recovery_window_days: int = Field(
        30, ge=7, le=30, description="Secrets Manager recovery window for deleted secrets (7-30 days).")


# --------------------------------------------------------------------------------------------------
# observability
# --------------------------------------------------------------------------------------------------


class PrometheusConfig(_Model):
    retention: Annotated[str, StringConstraints(pattern=PROM_DURATION)] = Field(
        "15d", description="Prometheus TSDB retention (e.g. `15d`).")
    storage_gib: int = Field(50, alias="storageGiB", ge=10, le=16000, description="Prometheus persistent volume size (GiB).")
    replicas: int = Field(1, ge=1, le=3, description="Prometheus replicas.")


class AlertReceiverConfig(_Model):
    name: Annotated[str, StringConstraints(pattern=DNS_LABEL)] = Field(
        ..., description="Receiver name; its URL is read from the secret config key "
                         "`alertReceiverUrls.<name>`.")
    type: Literal["slack", "pagerduty", "webhook"] = Field(..., description="Alertmanager receiver type.")
    severities: list[Literal["critical", "warning", "info"]] = Field(
        default_factory=lambda: ["critical", "warning"], min_length=1,
        description="Alert severities routed to this receiver.")


class AlertmanagerConfig(_Model):
    receivers: list[AlertReceiverConfig] = Field(
        default_factory=list, description="Where alerts go. Empty: alerts are only visible in Alertmanager.")


class TracingConfig(_Model):
    enabled: bool = Field(False, description="Send TGI traces over OTLP.")
    otlp_endpoint: Optional[str] = Field(
        None, description="OTLP gRPC endpoint (e.g. `http://otel-collector.observability:4317`). "
                          "Required when tracing is enabled.")


class ObservabilityConfig(_Model):
    """kube-prometheus-stack, DCGM exporter, KEDA, rules, alerts, dashboards."""

    prometheus: PrometheusConfig = Field(default_factory=PrometheusConfig, description="Prometheus server.")
    alertmanager: AlertmanagerConfig = Field(default_factory=AlertmanagerConfig, description="Alertmanager.")
    grafana_enabled: bool = Field(True, description="Install Grafana with the tier dashboards.")
    tracing: TracingConfig = Field(default_factory=TracingConfig, description="OpenTelemetry tracing.")


# --------------------------------------------------------------------------------------------------
# gateway and tenants
# --------------------------------------------------------------------------------------------------


class LimitsConfig(_Model):
    requests_per_minute: PositiveInt = Field(..., description="Sustained requests per minute per tenant and tier.")
    burst_per_second: PositiveInt = Field(..., description="Requests per second allowed in a burst.")
    max_request_body_bytes: int = Field(
        1_048_576, gt=0, le=2_000_000,
        description="Largest request body accepted (larger: HTTP 413, or 403 when another tenant of the tier "
                    "may send more). At most 2,000,000: TGI's own payload limit (`--payload-limit`).")


class TlsConfig(_Model):
    mode: Literal["acm", "cert-manager"] = Field(
        "acm", description="`acm`: TLS terminated at the NLB with an ACM certificate; `cert-manager`: the NLB "
                           "passes TCP through and Envoy terminates TLS with a certificate cert-manager (installed "
                           "by the platform, Gateway API support on) issues for `hostname` from `issuer`.")
    certificate_arn: Optional[Annotated[str, StringConstraints(pattern=ACM_ARN)]] = Field(
        None, description="ACM certificate ARN (required with `mode: acm`).")
    issuer: Optional[Annotated[str, StringConstraints(pattern=DNS_NAME_OR_LABEL)]] = Field(
        None, description="cert-manager issuer that signs the listener's certificate (required with "
                          "`mode: cert-manager`; it must exist, the platform does not create it). With an "
                          "internal NLB, use a DNS-01 solver: an ACME server cannot reach the HTTP-01 challenge.")
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = Field(
        "ClusterIssuer", description="Kind of `issuer` (an `Issuer` must live in the gateway's namespace).")


class DnsConfig(_Model):
    """ExternalDNS keeps `gateway.hostname` pointing at the gateway's NLB in one Route 53 hosted zone."""

    hosted_zone_id: Annotated[str, StringConstraints(pattern=HOSTED_ZONE_ID)] = Field(
        ..., description="Route 53 hosted zone that holds `gateway.hostname` (e.g. `Z0123456789ABCDEFGHIJ`). "
                         "ExternalDNS's role may change records in this zone only, and only the hostname's. An "
                         "internal NLB resolves to private addresses: use a private zone associated with the VPC "
                         "unless clients outside it may learn them.")
    zone_name: Annotated[str, StringConstraints(pattern=DNS_NAME)] = Field(
        ..., description="DNS name of that zone (e.g. `example.com`); `gateway.hostname` must be in it. Also "
                         "ExternalDNS's domain filter.")
    txt_owner_id: Optional[Annotated[str, StringConstraints(pattern=LABEL_VALUE, max_length=63)]] = Field(
        None, description="Owner id ExternalDNS writes into its TXT ownership records, so stacks sharing a zone "
                          "never touch each other's records. Default: the cluster name.")


class GatewayConfig(_Model):
    """Envoy Gateway: the OpenAI-compatible entry point with per-tenant keys and limits."""

    hostname: Annotated[str, StringConstraints(pattern=DNS_NAME)] = Field(
        ..., description="Public DNS name of the API (clients use `https://<hostname>/<tier>/v1`).")
    load_balancer_scheme: Literal["internal", "internet-facing"] = Field(
        "internal", description="NLB scheme.")
    source_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="Client CIDRs allowed through the NLB. Required when the scheme is `internet-facing`.")
    tls: TlsConfig = Field(default_factory=TlsConfig, description="TLS termination.")
    replicas: int = Field(2, ge=2, le=20, description="Envoy proxy replicas, spread across zones (at least 2).")
    default_limits: LimitsConfig = Field(
        default_factory=lambda: LimitsConfig(requests_per_minute=60, burst_per_second=5),
        description="Limits for tenants that set none.")
    request_timeout_seconds: int = Field(
        600, ge=30, le=3600, description="Whole-request timeout for a route (long enough for streaming).")
    stream_idle_timeout_seconds: int = Field(
        120, ge=10, le=3600, description="A stream with no bytes for this long is closed.")
    dns: Optional[DnsConfig] = Field(
        None, description="Create the DNS record of `hostname` with ExternalDNS. Unset: nothing does; the stack "
                          "outputs `gatewayAddress` (the NLB's name) and README \"First day\" has the one manual step.")


PREVIOUS_KEY_SUFFIX = "-previous"  # client id of a tenant's previous API key during a rotation


class TenantConfig(_Model):
    name: TenantName = Field(..., description="Tenant id (a Kubernetes label value).")
    tiers: list[TierName] = Field(..., min_length=1, description="Tiers this tenant may call.")
    limits: Optional[LimitsConfig] = Field(None, description="This tenant's limits; default: `gateway.defaultLimits`.")
    rotate: int = Field(0, ge=0, description="Increment to issue the tenant a new API key. The previous key stays "
                        "valid beside it (no outage while clients move) until `dropPreviousKey: true`.")
    drop_previous_key: bool = Field(
        False, description="After a rotation, stop accepting the previous key: set it once the tenant's clients use "
                           "the new one (previews warn while a previous key is valid), and back to false before the "
                           "next `rotate` for another overlap (while true, a rotation cuts the old key at once). The "
                           "grace period ends with this reviewed change, not a clock: previews have none, and the "
                           "same commit must render the same everywhere.")

    @property
    def previous_key_valid(self) -> bool:
        """Whether the key before the last rotation is still accepted (client id ``<name>-previous``)."""
        return self.rotate >= 1 and not self.drop_previous_key


# --------------------------------------------------------------------------------------------------
# tiers
# --------------------------------------------------------------------------------------------------


class ReplicasConfig(_Model):
    min: int = Field(1, ge=0, le=100, description="Minimum replicas (0 only with `sporadic: true`).")
    max: int = Field(2, ge=1, le=100, description="Maximum replicas.")


class AutoscalingConfig(_Model):
    queue_depth_per_replica: PositiveInt = Field(
        8, description="Target queued requests per replica; above it the tier scales out.")
    gpu_utilization_percent: int = Field(85, ge=1, le=100, description="Target GPU utilization (%).")
    scale_down_stabilization_seconds: int = Field(
        600, ge=60, le=3600, description="How long load must stay low before replicas are removed.")
    idle_minutes_before_zero: int = Field(
        30, ge=5, le=1440, description="Sporadic tiers: idle minutes before scaling to zero.")


class SloConfig(_Model):
    ttft_p95_seconds: float = Field(2.0, gt=0, description="P95 time-to-first-token objective (queue + prefill).")
    error_rate_percent: float = Field(2.0, gt=0, le=100, description="Alert when 5xx/failed requests exceed this share.")
    queue_alert_minutes: int = Field(10, ge=1, le=120, description="Minutes queue depth must stay high before alerting.")


class ReleaseConfig(_Model):
    """What changes between a tier's live release and a candidate (blue/green)."""

    model_id: Optional[Annotated[str, StringConstraints(pattern=MODEL_ID)]] = Field(
        None, description="Candidate model (default: the tier's).")
    revision: Optional[str] = Field(None, description="Candidate revision (must match the models lock).")
    image: Optional[str] = Field(None, description="Candidate engine image `repo:tag` (default: the pinned one).")
    extra_args: Optional[list[str]] = Field(None, description="Candidate extra engine arguments.")


class TierConfig(_Model):
    """A tier: a pinned model on a GPU class with its own limits, cache and autoscaling."""

    name: TierName = Field(..., description="Tier name: the name of its Service, so an RFC 1035 label (lowercase "
                                            "letters, digits and '-', starting with a letter), at most 40 "
                                            "characters; also its URL prefix.")
    engine: Literal["tgi"] = Field("tgi", description="Serving engine.")
    model_id: Annotated[str, StringConstraints(pattern=MODEL_ID)] = Field(
        ..., description="Hugging Face model id `org/name`.")
    revision: Optional[str] = Field(
        None, description="Model revision; default: the commit recorded in the models lock.")
    trust_remote_code: bool = Field(False, description="Allow models that need custom code.")
    gpu_class: Name = Field(..., description="Key of `gpuClasses` this tier runs on.")
    gpus_per_replica: Literal[1, 2, 4, 8] = Field(1, description="GPUs per replica (= `--num-shard`).")
    max_input_tokens: PositiveInt = Field(..., description="`--max-input-tokens`: longest prompt accepted.")
    max_total_tokens: PositiveInt = Field(
        ..., description="`--max-total-tokens`: prompt + generated tokens; caps `max_tokens`.")
    max_batch_prefill_tokens: Optional[PositiveInt] = Field(
        None, description="`--max-batch-prefill-tokens`; default: maxInputTokens.")
    max_concurrent_requests: PositiveInt = Field(
        128, description="`--max-concurrent-requests`; beyond it the replica answers 429.")
    quantize: Optional[Quantize] = Field(None, description="`--quantize` method.")
    dtype: Optional[Dtype] = Field(None, description="`--dtype` (not with `quantize`, except bitsandbytes*).")
    extra_args: list[str] = Field(default_factory=list, description="Extra engine flags (guarded flags refused).")
    sporadic: bool = Field(False, description="Scale to zero when idle and wake on traffic.")
    replicas: ReplicasConfig = Field(default_factory=ReplicasConfig, description="Replica bounds.")
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig, description="Autoscaling targets.")
    slo: SloConfig = Field(default_factory=SloConfig, description="Objectives that drive alerts.")
    candidate: Optional[ReleaseConfig] = Field(None, description="A candidate release deployed beside the live one.")
    serve: Literal["live", "candidate"] = Field(
        "live", description="Which release receives traffic; flip to `candidate` to switch, back to roll back.")


class ModelPolicyConfig(_Model):
    allowed_licenses: list[str] = Field(
        default_factory=lambda: ["apache-2.0", "mit"], min_length=1,
        description="Hub license ids a tier's model may carry (e.g. `apache-2.0`, `llama3.1`).")
    lock_file: str = Field(
        "models.lock.json",
        description="Path of the committed models lock (relative to the project directory), written by "
                    "`make models-lock`. Every model a tier deploys must be in it; gating, license, revision and "
                    "capacity checks read it.")


# --------------------------------------------------------------------------------------------------
# The whole stack
# --------------------------------------------------------------------------------------------------


class StackConfig(_Model):
    """Every key of the project's config namespace (`<project>:<key>` in the stack file)."""

    environment: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{0,11}$")] = Field(
        ..., description="Environment name (`dev`, `staging`, `prod`, ...): used in names and tags.")
    cluster: ClusterConfig = Field(..., description="VPC, EKS, node group, EFS.")
    gpu_classes: dict[Name, GpuClassConfig] = Field(
        ..., min_length=1, description="GPU node classes by name (e.g. `l4`, `l40s`, `h100`).")
    secret_store: SecretStoreConfig = Field(default_factory=SecretStoreConfig, description="Secret store.")
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig, description="Observability.")
    gateway: GatewayConfig = Field(..., description="The API gateway.")
    tenants: list[TenantConfig] = Field(default_factory=list, description="API tenants.")
    tiers: list[TierConfig] = Field(default_factory=list, description="Model tiers.")
    model_policy: ModelPolicyConfig = Field(default_factory=ModelPolicyConfig, description="Model policy.")
    protect: bool = Field(
        False, description="Protect the stateful resources: the EKS cluster, the EFS weight store, the KMS keys and "
        "the Secrets Manager secrets get Pulumi's `protect` (`pulumi destroy`, and any change that would replace "
        "them, stop with an error until `pulumi state unprotect`), and Prometheus's volume uses a StorageClass "
        "with reclaimPolicy Retain, so its EBS volume outlives the stack.")

    @property
    def cluster_name(self) -> str:
        return self.cluster.name or f"llm-{self.environment}"


# Secret keys: read with get_secret, never part of StackConfig, listed so that they are not "unknown".
SECRET_KEYS: dict[str, str] = {
    "hfToken": "Hugging Face access token for gated models (`pulumi config set --secret hfToken`).",
    "alertReceiverUrls": "Map of alert receiver name to its webhook/integration URL, as a secret "
                         "(`pulumi config set --secret --path 'alertReceiverUrls.oncall' <url>`).",
}


def secret_placeholders(values: Mapping[str, Any], placeholder: str = "render-placeholder") -> dict[str, Any]:
    """Stand-in values for the secret keys, shaped as the stack needs them (for offline renders, where the
    stack's encrypted values cannot be decrypted): a token, and a URL per configured alert receiver."""
    receivers = ((values.get("observability") or {}).get("alertmanager") or {}).get("receivers") or []
    out: dict[str, Any] = {"hfToken": f"{placeholder}-hfToken"}
    names = [r.get("name") for r in receivers if isinstance(r, dict) and r.get("name")]
    if names:
        out["alertReceiverUrls"] = {n: f"https://{placeholder}.invalid/{n}" for n in names}
    return out


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


class ConfigIssue(typing.NamedTuple):
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(ValueError):
    """The stack config is invalid. ``issues`` holds every problem found."""

    def __init__(self, issues: Iterable[ConfigIssue], stack_file: str = "the stack config",
                 partial: Optional["StackConfig"] = None,
                 hint: str = "Fix them in the stack file (see docs/config.md); nothing was created."):
        self.issues = sorted(set(issues), key=lambda i: (_path_sort_key(i.path), i.message))
        self.partial = partial
        """What did validate, for the checks of later layers (models lock, capacity): the whole config when only
        cross-field checks failed; otherwise a ``StackConfig.model_construct`` of the sections that validated
        on their own, with ``None`` in place of each tier that did not (so key paths keep their indices)."""
        lines = "\n".join(f"  - {i}" for i in self.issues)
        super().__init__(
            f"{len(self.issues)} problem(s) in {stack_file}:\n{lines}\n{hint}")


def _path_sort_key(path: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", path) if p]


def _fmt_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated/list/dict down to the model class a key path walks into."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin is Union:
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        else:
            return annotation


def _model_at(loc: tuple[Any, ...]) -> Optional[type[BaseModel]]:
    current: Any = StackConfig
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if origin in (list, dict):
            current = typing.get_args(current)[-1]
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return None
            current = field.annotation
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _issue_from_pydantic(err: Mapping[str, Any]) -> ConfigIssue:
    loc = tuple(err["loc"])
    kind = err["type"]
    path = _fmt_path(loc)
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        allowed = _allowed_keys(parent) if parent else []
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean `{guess[0]}`? " if guess else ""
        return ConfigIssue(path, f"unknown key; {hint}allowed keys here: {', '.join(allowed)}")
    if kind == "missing":
        return ConfigIssue(path, "required key is missing; add it (see docs/config.md)")
    if kind == "string_pattern_mismatch":
        return ConfigIssue(path, f"{err['input']!r} is not valid: {_pattern_hint(err['ctx']['pattern'])}")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return ConfigIssue(path, f"{msg} (got {err['input']!r})" if "input" in err and not isinstance(
        err["input"], (dict, list)) else msg)


_PATTERN_HINTS = {
    DNS_LABEL: "use lowercase letters, digits and '-', starting and ending with a letter or digit",
    DNS_1035_LABEL: "it names a Kubernetes Service (an RFC 1035 label): use lowercase letters, digits and '-', "
                    "starting with a letter and ending with a letter or digit",
    LABEL_VALUE: "use lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    DNS_NAME: "must be a fully qualified DNS name such as api.example.com (lowercase)",
    ROLE_ARN: "must be an IAM role ARN like arn:aws:iam::111122223333:role/platform-admin",
    ACM_ARN: "must be an ACM certificate ARN like arn:aws:acm:us-east-1:111122223333:certificate/<uuid>",
    DURATION: "must be a duration like 30s, 15m or 1h",
    PROM_DURATION: "must be a Prometheus retention like 15d, 12h or 2w",
    MODEL_ID: "must be a Hugging Face model id like meta-llama/Llama-3.1-8B-Instruct",
    INSTANCE_TYPE: "must be an EC2 instance type like g6.xlarge",
    HOSTED_ZONE_ID: "must be a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ (without /hostedzone/)",
}


def _pattern_hint(pattern: str) -> str:
    return _PATTERN_HINTS.get(pattern, f"must match {pattern}")


# --------------------------------------------------------------------------------------------------
# Cross-field checks (everything a type alone cannot say)
# --------------------------------------------------------------------------------------------------


def _check_cidrs(values: Iterable[str], path: str) -> list[ConfigIssue]:
    issues = []
    for i, value in enumerate(values):
        try:
            _cidr(value)
        except ValueError as exc:
            issues.append(ConfigIssue(f"{path}[{i}]", f"{value!r} is {exc}"))
    return issues


def _check_cluster(c: ClusterConfig) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    if c.kubernetes_version not in versions.SUPPORTED_KUBERNETES_VERSIONS:
        issues.append(ConfigIssue(
            "cluster.kubernetesVersion",
            f"{c.kubernetes_version!r} is not supported; use one of "
            f"{', '.join(versions.SUPPORTED_KUBERNETES_VERSIONS)} (add-on pins live in components/llm_tiers/versions.py)"))
    try:
        vpc = ipaddress.IPv4Network(_cidr(c.vpc_cidr))
        if not 16 <= vpc.prefixlen <= 20:
            issues.append(ConfigIssue("cluster.vpcCidr", f"{c.vpc_cidr} is a /{vpc.prefixlen}; use a /16 to /20 "
                                      "so every zone gets a large private subnet for pod IPs"))
        if not vpc.is_private:
            issues.append(ConfigIssue("cluster.vpcCidr", f"{c.vpc_cidr} is not a private (RFC 1918) range"))
    except ValueError as exc:
        issues.append(ConfigIssue("cluster.vpcCidr", f"{c.vpc_cidr!r} is {exc}"))
    issues += _check_cidrs(c.public_access_cidrs, "cluster.publicAccessCidrs")
    if c.endpoint_public_access and not c.public_access_cidrs:
        issues.append(ConfigIssue("cluster.publicAccessCidrs", "required when endpointPublicAccess is true: list "
                                  "the CIDRs allowed to reach the API (the AWS default is the whole internet)"))
    if not c.endpoint_public_access and c.public_access_cidrs:
        issues.append(ConfigIssue("cluster.publicAccessCidrs", "has no effect while endpointPublicAccess is false; "
                                  "remove it or set endpointPublicAccess: true"))
    if c.availability_zones and len(set(c.availability_zones)) != len(c.availability_zones):
        issues.append(ConfigIssue("cluster.availabilityZones", "lists a zone twice"))
    if c.log_retention_days not in LOG_RETENTION_DAYS:
        issues.append(ConfigIssue("cluster.logRetentionDays", f"{c.log_retention_days} is not a CloudWatch "
                                  f"retention; use one of {', '.join(map(str, LOG_RETENTION_DAYS))}"))
    ng = c.system_node_group
    if not ng.min_size <= ng.desired_size <= ng.max_size:
        issues.append(ConfigIssue("cluster.systemNodeGroup.desiredSize",
                                  f"must be between minSize ({ng.min_size}) and maxSize ({ng.max_size}); "
                                  f"got {ng.desired_size}"))
    if c.kubeconfig_role_arn and c.kubeconfig_role_arn not in c.admin_role_arns:
        issues.append(ConfigIssue("cluster.kubeconfigRoleArn", "must be one of adminRoleArns, or the Kubernetes "
                                  "provider cannot manage the cluster"))
    if len(set(c.admin_role_arns)) != len(c.admin_role_arns):
        issues.append(ConfigIssue("cluster.adminRoleArns", "lists a role twice"))
    if len(set(c.control_plane_log_types)) != len(c.control_plane_log_types):
        issues.append(ConfigIssue("cluster.controlPlaneLogTypes", "lists a log type twice"))
    return issues


def _check_gpu_class(name: str, cls: GpuClassConfig) -> list[ConfigIssue]:
    path = f"gpuClasses.{name}.instanceTypes"
    issues: list[ConfigIssue] = []
    if len(set(cls.instance_types)) != len(cls.instance_types):
        issues.append(ConfigIssue(path, "lists an instance type twice"))
    unknown = False
    for j, itype in enumerate(cls.instance_types):
        try:
            gpu_catalog.lookup(itype)
        except gpu_catalog.UnknownInstanceType as exc:
            unknown = True
            issues.append(ConfigIssue(f"{path}[{j}]", f"{exc.args[0]}; add it to components/llm_tiers/gpu/catalog.py "
                                      "with its GPU model, count, memory and price"))
    if not unknown:
        try:
            gpu_catalog.class_gpu(list(cls.instance_types))
        except ValueError as exc:
            issues.append(ConfigIssue(path, f"{exc}; split it into one class per GPU model"))
    return issues


def _duplicates(names: list[str]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        seen.setdefault(n, []).append(i)
    return {n: idx for n, idx in seen.items() if len(idx) > 1}


def _check_tier(i: int, t: TierConfig, gpu_classes: Optional[Mapping[str, GpuClassConfig]]) -> list[ConfigIssue]:
    p = f"tiers[{i}]"
    issues: list[ConfigIssue] = []
    if t.max_total_tokens <= t.max_input_tokens:
        issues.append(ConfigIssue(f"{p}.maxTotalTokens", f"must be greater than maxInputTokens "
                                  f"({t.max_input_tokens}); raise maxTotalTokens or lower maxInputTokens"))
    if t.max_batch_prefill_tokens is not None and t.max_batch_prefill_tokens < t.max_input_tokens:
        issues.append(ConfigIssue(f"{p}.maxBatchPrefillTokens", f"must be at least maxInputTokens "
                                  f"({t.max_input_tokens}), or a full prompt can never be prefilled"))
    if gpu_classes is None:
        pass  # gpuClasses itself is invalid and already reported
    elif t.gpu_class not in gpu_classes:
        known = ", ".join(sorted(gpu_classes)) or "none"
        issues.append(ConfigIssue(f"{p}.gpuClass", f"unknown GPU class {t.gpu_class!r}; defined in gpuClasses: {known}"))
    else:
        cls = gpu_classes[t.gpu_class]
        known = [it for it in cls.instance_types if it in gpu_catalog.CATALOG]
        if known and gpu_catalog.max_gpus_per_node(known) < t.gpus_per_replica:
            issues.append(ConfigIssue(f"{p}.gpusPerReplica", f"{t.gpus_per_replica} GPUs per replica, but the largest "
                                      f"instance type of gpuClasses.{t.gpu_class} has "
                                      f"{gpu_catalog.max_gpus_per_node(known)}; add a larger instance type to the "
                                      "class or use fewer GPUs"))
        need = t.gpus_per_replica * max(t.replicas.max, 1)
        if need > cls.max_gpus:
            issues.append(ConfigIssue(f"{p}.replicas.max", f"{t.replicas.max} replicas x {t.gpus_per_replica} GPU(s) "
                                      f"= {need} GPUs exceeds gpuClasses.{t.gpu_class}.maxGpus ({cls.max_gpus}); "
                                      "lower replicas.max or raise maxGpus"))
    if t.quantize and t.dtype and not t.quantize.startswith("bitsandbytes"):
        issues.append(ConfigIssue(f"{p}.dtype", f"cannot be combined with quantize: {t.quantize} (TGI only allows "
                                  "dtype with bitsandbytes*); remove dtype"))
    if t.replicas.min > t.replicas.max:
        issues.append(ConfigIssue(f"{p}.replicas.min", f"must not exceed replicas.max ({t.replicas.max})"))
    if t.replicas.min == 0 and not t.sporadic:
        issues.append(ConfigIssue(f"{p}.replicas.min", "0 scales the tier to zero; set sporadic: true to allow it, "
                                  "or use at least 1"))
    if t.sporadic and t.replicas.min != 0:
        issues.append(ConfigIssue(f"{p}.sporadic", f"a sporadic tier scales to zero; set replicas.min to 0 "
                                  f"(got {t.replicas.min})"))
    if t.serve == "candidate" and t.candidate is None:
        issues.append(ConfigIssue(f"{p}.serve", "is `candidate` but the tier has no candidate release"))
    # The live release's flags, and the candidate's (a candidate is deployed like the live release, so it is
    # checked like it: a guarded flag there would otherwise fail the engine argument builder mid-deploy).
    flag_lists = [(f"{p}.extraArgs", t.extra_args)]
    if t.candidate is not None and t.candidate.extra_args is not None:
        flag_lists.append((f"{p}.candidate.extraArgs", t.candidate.extra_args))
    for where, extra in flag_lists:
        for j, arg in enumerate(extra):
            if not arg.startswith("--"):
                issues.append(ConfigIssue(f"{where}[{j}]", f"{arg!r} is not a flag; write it as --flag or --flag=value"))
        for j, flag in tgi.guarded_extra_args(extra):
            issues.append(ConfigIssue(f"{where}[{j}]", f"{flag} is set by the platform from the tier's config "
                                      "(token limits, shards, quantization, model, ports); use the tier keys instead"))
    if t.candidate and t.candidate.image and not _has_explicit_tag(t.candidate.image):
        issues.append(ConfigIssue(f"{p}.candidate.image", "must name an explicit tag (not latest), e.g. "
                                  f"{versions.IMAGES['tgi']}"))
    return issues


def gpu_demand(tiers: Sequence[TierConfig], gpu_class: str) -> list[tuple[str, int]]:
    """(what, GPUs) the class must hold at once, worst case: every release of every tier on it at
    ``replicas.max``, plus one surge replica per release (rollouts use ``maxSurge: 1``, ``maxUnavailable: 0``,
    and an image or flag change rolls every tier at once)."""
    out = []
    for t in tiers:
        if t.gpu_class != gpu_class:
            continue
        releases = 2 if t.candidate is not None else 1
        gpus = releases * (max(t.replicas.max, 1) + 1) * t.gpus_per_replica
        out.append((f"{t.name}: {releases} release(s) x ({t.replicas.max} + 1 surge) x {t.gpus_per_replica} GPU(s)",
                    gpus))
    return out


def _check_gpu_budget(name: str, cls: GpuClassConfig, tiers: Sequence[TierConfig]) -> list[ConfigIssue]:
    demand = gpu_demand(tiers, name)
    need = sum(g for _, g in demand)
    if need <= cls.max_gpus:
        return []
    return [ConfigIssue(f"gpuClasses.{name}.maxGpus", f"{cls.max_gpus} GPUs cannot hold a rollout at replicas.max: "
                        f"{'; '.join(w for w, _ in demand)} = {need} GPUs (Karpenter launches nothing past the "
                        f"NodePool's limit, so the surge replica would stay Pending and the update time out); "
                        f"raise maxGpus to {need} or lower replicas.max")]


def _check_system_capacity(cfg: StackConfig) -> list[ConfigIssue]:
    """Every system pod must fit on desiredSize nodes of each listed instance type (no autoscaler grows the
    system node group; components/llm_tiers/cluster/system_capacity.py has the requests and the allocatable formula)."""
    path = "cluster.systemNodeGroup"
    issues: list[ConfigIssue] = []
    for i, itype in enumerate(cfg.cluster.system_node_group.instance_types):
        if system_capacity.lookup(itype) is None:
            families = sorted({name.split(".")[0] for name in system_capacity.CATALOG})
            issues.append(ConfigIssue(f"{path}.instanceTypes[{i}]", (
                f"{itype!r} is not in the system instance catalog, so the system pods cannot be checked against it; "
                f"use a {'/'.join(families)} size from large to 8xlarge, or add it to CATALOG in "
                "components/llm_tiers/cluster/system_capacity.py with its vCPUs, memory and ENI limits")))
    for fit in system_capacity.fits_for(cfg):
        if not fit.fits:
            key, message = system_capacity.misfit_message(cfg, fit)
            issues.append(ConfigIssue(f"{path}.{key}", message))
    return issues


def _has_explicit_tag(image: str) -> bool:
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("", "latest")


def _check_semantics(cfg: StackConfig) -> list[ConfigIssue]:
    issues = _check_cluster(cfg.cluster)
    tier_names = [t.name for t in cfg.tiers]
    for name, idx in _duplicates(tier_names).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"tiers[{i}].name", f"duplicate tier name {name!r} (first at tiers[{idx[0]}])"))
    for i, t in enumerate(cfg.tiers):
        issues += _check_tier(i, t, cfg.gpu_classes)
    for name, cls in cfg.gpu_classes.items():
        issues += _check_gpu_class(name, cls)
        issues += _check_gpu_budget(name, cls, cfg.tiers)
    for name, idx in _duplicates([t.name for t in cfg.tenants]).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"tenants[{i}].name", f"duplicate tenant name {name!r} (first at tenants[{idx[0]}])"))
    for i, tenant in enumerate(cfg.tenants):
        if tenant.name.endswith(PREVIOUS_KEY_SUFFIX):
            issues.append(ConfigIssue(f"tenants[{i}].name", f"must not end with {PREVIOUS_KEY_SUFFIX!r}: the gateway "
                                      "names a tenant's previous API key that way; pick another name"))
        for j, tier in enumerate(tenant.tiers):
            if tier not in tier_names:
                issues.append(ConfigIssue(f"tenants[{i}].tiers[{j}]", f"unknown tier {tier!r}; tiers are: "
                                          f"{', '.join(tier_names) or 'none'}"))
    gw = cfg.gateway
    issues += _check_cidrs(gw.source_cidrs, "gateway.sourceCidrs")
    if gw.load_balancer_scheme == "internet-facing" and not gw.source_cidrs:
        issues.append(ConfigIssue("gateway.sourceCidrs", "required when loadBalancerScheme is internet-facing "
                                  "(use 0.0.0.0/0 explicitly to accept any client)"))
    if gw.tls.mode == "acm" and not gw.tls.certificate_arn:
        issues.append(ConfigIssue("gateway.tls.certificateArn", "required with tls.mode: acm"))
    if gw.tls.mode == "acm" and gw.tls.issuer:
        issues.append(ConfigIssue("gateway.tls.issuer", "only used with tls.mode: cert-manager; remove it"))
    if gw.tls.mode == "cert-manager" and not gw.tls.issuer:
        issues.append(ConfigIssue("gateway.tls.issuer", "required with tls.mode: cert-manager (the name of an "
                                  "existing ClusterIssuer, or Issuer in the gateway's namespace)"))
    if gw.dns is not None and not (gw.hostname == gw.dns.zone_name or gw.hostname.endswith(f".{gw.dns.zone_name}")):
        issues.append(ConfigIssue("gateway.dns.zoneName", f"gateway.hostname {gw.hostname} is not in zone "
                                  f"{gw.dns.zone_name}; set zoneName (and hostedZoneId) to the zone that holds the "
                                  "hostname, or change the hostname"))
    if gw.tls.mode == "cert-manager" and gw.tls.certificate_arn:
        issues.append(ConfigIssue("gateway.tls.certificateArn", "only used with tls.mode: acm (with cert-manager, "
                                  "Envoy terminates TLS with the issued certificate); remove it"))
    issues += _check_system_capacity(cfg)
    tracing = cfg.observability.tracing
    if tracing.enabled and not tracing.otlp_endpoint:
        issues.append(ConfigIssue("observability.tracing.otlpEndpoint", "required when tracing is enabled"))
    for name, idx in _duplicates([r.name for r in cfg.observability.alertmanager.receivers]).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"observability.alertmanager.receivers[{i}].name", f"duplicate receiver {name!r}"))
    return issues


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def top_level_keys() -> list[str]:
    """Every key the project's config namespace accepts (schema keys and secret keys)."""
    return _allowed_keys(StackConfig) + list(SECRET_KEYS)


def parse(values: Mapping[str, Any], stack_file: str = "the stack config") -> StackConfig:
    """Validate the project's config values (keys without the ``<project>:`` prefix).

    Secret keys are accepted and ignored here. Raises ``ConfigError`` with every problem found.
    """
    issues: list[ConfigIssue] = []
    allowed = top_level_keys()
    data = {}
    for key, value in values.items():
        if key in SECRET_KEYS:
            continue
        if key not in allowed:
            guess = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean `{guess[0]}`? " if guess else ""
            issues.append(ConfigIssue(key, f"unknown config key; {hint}known keys: {', '.join(allowed)}"))
            continue
        data[key] = value
    try:
        cfg = StackConfig.model_validate(data)
    except ValidationError as exc:
        issues += [_issue_from_pydantic(e) for e in exc.errors()]
        # Cross-field checks still run on each section that validated on its own, so one run reports as
        # much as possible; the sections that validated go on to the later layers (ConfigError.partial).
        more, partial = _partial_semantics(data)
        raise ConfigError([*issues, *more], stack_file, partial) from None
    issues += _check_semantics(cfg)
    if issues:
        raise ConfigError(issues, stack_file, cfg)
    return cfg


def plannable_gpu_classes(gpu_classes: Mapping[str, GpuClassConfig]) -> dict[str, GpuClassConfig]:
    """The classes the capacity planner can use: every instance type in the catalog, one GPU model."""
    return {n: c for n, c in gpu_classes.items() if not _check_gpu_class(n, c)}


def _partial_semantics(data: Mapping[str, Any]) -> tuple[list[ConfigIssue], StackConfig]:
    """The section-local checks for the sections that are valid on their own, and those sections as a
    partial config (``model_construct``: nothing more is validated) for the later layers."""
    issues: list[ConfigIssue] = []
    sections: dict[str, Any] = {}
    for field_name, field in StackConfig.model_fields.items():
        key = field.alias or field_name
        if field_name in ("gpu_classes", "tiers"):
            continue
        try:
            adapter = TypeAdapter(field.annotation)
            value = data[key] if key in data else field.get_default(call_default_factory=True)
            sections[field_name] = adapter.validate_python(value)
        except (ValidationError, KeyError, TypeError):
            sections[field_name] = None
    if sections.get("cluster") is not None:
        issues += _check_cluster(sections["cluster"])
    gpu_classes: Optional[dict[str, GpuClassConfig]]
    try:
        gpu_classes = _GPU_CLASSES.validate_python(data.get("gpuClasses"))
    except ValidationError:
        gpu_classes = None
    sections["gpu_classes"] = plannable_gpu_classes(gpu_classes or {})
    raw_tiers = data.get("tiers")
    tiers: list[Optional[TierConfig]] = []
    for i, raw in enumerate(raw_tiers if isinstance(raw_tiers, list) else []):
        try:
            tier = TierConfig.model_validate(raw)
        except ValidationError:
            tiers.append(None)
            continue
        issues += _check_tier(i, tier, gpu_classes)
        tiers.append(tier)
    sections["tiers"] = tiers
    # An invalid section stays None (not its default: a default modelPolicy would refuse licenses the stack
    # allows), and the later layers skip what is None.
    return issues, StackConfig.model_construct(**sections)


_GPU_CLASSES = TypeAdapter(dict[Name, GpuClassConfig])


# --------------------------------------------------------------------------------------------------
# Keys outside the project's schema: namespaces, aws:region
# --------------------------------------------------------------------------------------------------

# Commercial AWS regions (Regions and Zones table, AWS General Reference). A region outside this list is
# refused at its key; add one here when AWS opens it (and check that EKS and the GPU types exist there).
AWS_REGIONS = (
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1",
    "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1",
    "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "us-gov-east-1", "us-gov-west-1",
)

# Namespaces a stack file may hold keys of: this program's and the providers' and Pulumi's own.
PROVIDER_NAMESPACES = ("aws", "kubernetes", "random", "pulumi")
# aws provider keys this program or the provider reads (a near-miss of one is an error; others pass).
AWS_PROVIDER_KEYS = (
    "region", "profile", "accessKey", "secretKey", "token", "assumeRole", "assumeRoles",
    "assumeRoleWithWebIdentity", "allowedAccountIds", "forbiddenAccountIds", "defaultTags", "ignoreTags",
    "sharedCredentialsFiles", "sharedConfigFiles", "skipCredentialsValidation", "skipMetadataApiCheck",
    "skipRegionValidation", "skipRequestingAccountId", "maxRetries", "retryMode", "endpoints", "insecure",
    "stsRegion", "s3UsePathStyle", "customCaBundle", "httpProxy", "httpsProxy", "noProxy", "ec2MetadataServiceEndpoint",
    "ec2MetadataServiceEndpointMode", "useFipsEndpoint", "useDualstackEndpoint", "tokenBucketRateLimiterCapacity",
)


def check_config_keys(keys: Iterable[str], project: str) -> list[ConfigIssue]:
    """Keys of a stack's ``config`` that no one would read: in no namespace (``cluster:`` instead of
    ``<project>:cluster``), in a misspelled or unknown namespace (``llm-tier:tenants``), or a near-miss of an
    aws provider key (``aws:regoin``). Pulumi passes such keys along silently, so a stack would lose its
    tenants or its alerting without a word; each is an error naming the key to write instead."""
    issues: list[ConfigIssue] = []
    project_keys = top_level_keys()
    namespaces = (project, *PROVIDER_NAMESPACES)
    for full in keys:
        namespace, sep, key = full.partition(":")
        if not sep:
            guess = full if full in project_keys else next(iter(difflib.get_close_matches(full, project_keys, n=1)), None)
            where = (f"write it as `{project}:{guess}`" if guess else
                     f"config keys are `<namespace>:<key>`; this project's are `{project}:<key>` "
                     f"({', '.join(project_keys)})")
            issues.append(ConfigIssue(full, f"has no namespace prefix, so the program never reads it; {where}"))
            continue
        if namespace == project:
            continue  # parse() checks the project's keys (unknown ones, near-misses)
        if namespace == "aws":
            if key not in AWS_PROVIDER_KEYS:
                guess = difflib.get_close_matches(key, AWS_PROVIDER_KEYS, n=1)
                if guess:
                    issues.append(ConfigIssue(full, f"unknown aws provider key; did you mean `aws:{guess[0]}`?"))
            continue
        if namespace in PROVIDER_NAMESPACES:
            continue
        close = difflib.get_close_matches(namespace, namespaces, n=1, cutoff=0.6)
        if key in project_keys or (close and close[0] == project):
            hint = f"write it as `{project}:{key}`" if key in project_keys else \
                f"did you mean `{project}:`? (its keys: {', '.join(project_keys)})"
            issues.append(ConfigIssue(full, f"`{namespace}:` is not this project's namespace (`{project}:`), so the "
                                            f"program never reads this key; {hint}"))
        else:
            issues.append(ConfigIssue(full, f"unknown config namespace `{namespace}:`; nothing reads it (this stack "
                                            f"reads `{project}:` keys and the providers' "
                                            f"{', '.join(f'`{n}:`' for n in PROVIDER_NAMESPACES)}); remove it or fix "
                                            "the prefix"))
    return issues


def check_region(region: Optional[str], cfg: Optional[StackConfig] = None) -> list[ConfigIssue]:
    """``aws:region`` is a known region, and the stack's zones and certificate are in it."""
    if not region:
        return [ConfigIssue("aws:region", "required; run `pulumi config set aws:region us-east-1`")]
    if region not in AWS_REGIONS:
        guess = difflib.get_close_matches(region, AWS_REGIONS, n=2)
        hint = f"did you mean {' or '.join(f'`{g}`' for g in guess)}? " if guess else ""
        return [ConfigIssue("aws:region", f"{region!r} is not an AWS region; {hint}use one of {', '.join(AWS_REGIONS)} "
                                          "(components/llm_tiers/config/schema.py AWS_REGIONS)")]
    issues = []
    cluster = getattr(cfg, "cluster", None)
    for i, zone in enumerate((cluster.availability_zones or []) if cluster else []):
        if zone[:-1] != region:
            issues.append(ConfigIssue(f"cluster.availabilityZones[{i}]", f"{zone} is not a zone of aws:region "
                                      f"{region}; use {region}a, {region}b, ..."))
    gateway = getattr(cfg, "gateway", None)
    arn = gateway.tls.certificate_arn if gateway else None
    if arn and arn.split(":")[3] != region:
        issues.append(ConfigIssue("gateway.tls.certificateArn", f"the certificate is in {arn.split(':')[3]}, but the "
                                  f"load balancer is in aws:region {region}; an NLB can only use an ACM certificate of "
                                  "its own region"))
    return issues
