"""Dns: ExternalDNS keeps the gateway's hostname pointing at its load balancer, in one Route 53 hosted zone.

Kept apart from the Gateway on purpose: it reads what any Gateway API implementation publishes (the routes'
``hostnames`` and the Gateway's ``status.addresses``), so it survives a change of gateway implementation.

Choices (ExternalDNS v0.21.0, chart 1.21.1; every chart key set below exists in kubernetes-sigs/external-dns
``charts/external-dns/values.yaml`` at tag ``external-dns-helm-chart-1.21.1``):

* **Source ``gateway-httproute``**, limited to one Gateway (``--gateway-namespace``, ``--gateway-name``): the
  names are the routes' hostnames narrowed to the listener's hostname, the target is the Gateway's
  ``status.addresses`` (the NLB's DNS name), docs/sources/gateway.md at v0.21.0. Nothing on the gateway's
  objects needs an ExternalDNS annotation.
* **Policy ``upsert-only``**: ExternalDNS creates and updates the record (a replaced NLB gets a new name, the
  record follows) but never deletes one. A moment without routes (a gateway migration, routes replaced, the
  controller restarting before the Gateway has an address) would otherwise take the API's name out of DNS
  for clients and resolvers' negative caches. The cost: after a hostname change or ``pulumi destroy`` the old
  record and its TXT companion stay; README "First day" has the command that removes them.
* **TXT registry** with ``txtOwnerId`` (default: the cluster name), so stacks that share a zone never take
  over each other's records; ``--zone-id-filter`` and ``domainFilters`` keep it to the configured zone.
* **IAM (EKS Pod Identity)**: change and list record sets in that one zone only, and only records named like
  the hostname or its TXT companions (Route 53's ``ChangeResourceRecordSetsNormalizedRecordNames`` condition
  key); ``ListHostedZones`` cannot be scoped to a resource (docs/tutorials/aws.md at v0.21.0, "IAM Policy").
* ``AWS_DEFAULT_REGION`` is set because the pod cannot reach IMDS (system nodes allow one metadata hop) and
  the SDK needs a region even for the global Route 53 API (same tutorial, "Using Helm").
"""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any, Optional, Required, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from llm_tiers.pod_identity import pod_identity_role
from llm_tiers import arguments
from llm_tiers import helm
from llm_tiers import iam
from llm_tiers import naming
from llm_tiers.cluster import system_capacity as sc
from llm_tiers.gateway import rules

SERVICE_ACCOUNT = "external-dns"
RELEASE = "external-dns"
METRICS_PORT = 7979          # the chart's container port "http" (/healthz and /metrics)
POLICY = "upsert-only"
# Record types ExternalDNS writes for a load balancer target: an alias A (and AAAA) record, or a CNAME where no
# alias is possible, plus its TXT ownership records.
RECORD_TYPES = ("A", "AAAA", "CNAME", "TXT")
# The TXT registry names a record's ownership record "<type>-<first label>.<rest>", one per record type (an alias
# A record is registered as "cname"): registry/mapper/mapper.go ToTXTName and registry/txt/registry.go
# generateTXTRecordWithFilter at v0.21.0, with no txtPrefix or txtSuffix.
TXT_RECORD_TYPES = ("a", "aaaa", "cname")


# ---------------------------------------------------------------------------------------------- pure


def zone_arn(hosted_zone_id: str, partition: str = "aws") -> str:
    return f"arn:{partition}:route53:::hostedzone/{hosted_zone_id}"


def record_names(hostnames: Sequence[str]) -> list[str]:
    """Every record name ExternalDNS may write for these hostnames: the names and their TXT ownership records."""
    out = []
    for host in hostnames:
        first, _, rest = host.partition(".")
        out += [host, *(f"{t}-{first}.{rest}" for t in TXT_RECORD_TYPES)]
    return sorted(set(out))


def policy(hosted_zone_id: str, hostnames: Sequence[str], partition: str = "aws") -> str:
    """ExternalDNS's IAM policy: one zone, the hostnames' records only."""
    zone = zone_arn(hosted_zone_id, partition)
    return iam.policy_document([
        {"Sid": "ChangeTheGatewayRecords", "Effect": "Allow", "Action": "route53:ChangeResourceRecordSets",
         "Resource": zone,
         "Condition": {"ForAllValues:StringEquals": {
             "route53:ChangeResourceRecordSetsNormalizedRecordNames": record_names(hostnames),
             "route53:ChangeResourceRecordSetsRecordTypes": list(RECORD_TYPES)}}},
        {"Sid": "ReadTheZone", "Effect": "Allow", "Action": "route53:ListResourceRecordSets", "Resource": zone},
        {"Sid": "FindTheZone", "Effect": "Allow", "Action": "route53:ListHostedZones", "Resource": "*"},
    ])


def values(*, hosted_zone_id: str, zone_name: str, txt_owner_id: str, region: str, gateway_name: str,
           gateway_namespace: str, system: Mapping[str, str]) -> dict[str, Any]:
    """The chart's values (keys: charts/external-dns/values.yaml at external-dns-helm-chart-1.21.1)."""
    return {
        "provider": {"name": "aws"},
        "sources": ["gateway-httproute"],
        "gatewayNamespace": gateway_namespace,          # --gateway-namespace
        "extraArgs": {"gateway-name": gateway_name,     # only this Gateway's routes
                      "zone-id-filter": hosted_zone_id},
        "domainFilters": [zone_name],
        "policy": POLICY,
        "registry": "txt",
        "txtOwnerId": txt_owner_id,
        # Reconcile on route and Gateway changes too, not only every interval: the record appears as soon as
        # the NLB has its address.
        "triggerLoopOnEvent": True,
        "interval": "1m",
        "env": [{"name": "AWS_DEFAULT_REGION", "value": region}],
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
        "nodeSelector": dict(system),
        # Counted by the system capacity check (components/llm_tiers/cluster/system_capacity.py).
        "resources": sc.EXTERNAL_DNS.resources(),
    }


def network_policy(namespace: str, monitoring_namespace: str, node_cidrs: Sequence[str]) -> dict[str, Any]:
    """ExternalDNS serves only /healthz and /metrics: probes from the nodes, scrapes from monitoring."""
    nodes = [{"ipBlock": {"cidr": c}} for c in node_cidrs]
    port = [{"port": METRICS_PORT, "protocol": "TCP"}]
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": RELEASE, "namespace": namespace, "labels": naming.k8s_labels("dns", RELEASE)},
        "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": RELEASE}}, "policyTypes": ["Ingress"],
                 "ingress": [{**({"from": nodes} if nodes else {}), "ports": port},
                             {"from": [naming.namespace_peer(monitoring_namespace)], "ports": port}]},
    }


def dns_output(hostname: str, address: pulumi.Input[Optional[str]], managed: Optional["Dns"]) -> dict[str, Any]:
    """The ``dns`` stack output: the name clients use, what it must point at, and who keeps it so."""
    out: dict[str, Any] = {"hostname": hostname, "target": address}
    if managed is not None:
        out.update(managedBy="external-dns", hostedZoneId=managed.hosted_zone_id, txtOwnerId=managed.txt_owner_id,
                   policy=POLICY)
    else:
        out.update(managedBy="manual", step=f"create a CNAME record {hostname} -> the target (or a Route 53 alias "
                                            "A record to the NLB); README \"First day\"")
    return out


# ---------------------------------------------------------------------------------------------- component


class DnsArgs(TypedDict, total=False):
    """Inputs of :class:`Dns`."""

    cluster_name: Required[pulumi.Input[str]]
    """EKS cluster of the Pod Identity association (pass the Cluster's ``cluster_name`` Output). Required."""
    region: Required[str]
    """AWS region (the SDK's region; Route 53 itself is global). Required."""
    hosted_zone_id: Required[str]
    """Route 53 hosted zone that holds the hostnames (ExternalDNS may change nothing else), like
    ``Z0123456789ABCDEFGHIJ``. Required."""
    zone_name: Required[str]
    """DNS name of that zone (ExternalDNS's domain filter); every hostname must be in it. Required."""
    hostnames: Required[list[str]]
    """Names the gateway serves (its routes' ``hostnames``); the IAM policy allows records of these only. Required."""
    txt_owner_id: Required[str]
    """Owner id of this stack's TXT ownership records (e.g. the cluster name), unique among the zone's users.
    Required."""
    gateway_name: str
    """The Gateway whose routes and address ExternalDNS publishes. Default: ``llm-gateway``."""
    gateway_namespace: str
    """Its namespace. Default: ``llm-gateway``."""
    namespace: str
    """Where ExternalDNS runs (the Pod Identity association names it). Default: ``external-dns``."""
    system_node_selector: dict[str, str]
    """Where ExternalDNS runs. Default: any node."""
    node_cidrs: list[str]
    """Where kubelet probes come from (the VPC CIDR). Default: none (the probe port admits any source)."""
    monitoring_namespace: str
    """Admitted to the metrics port. Default: ``monitoring``."""
    environment: Optional[str]
    """Environment name for tags. Default: none."""
    tags: dict[str, str]
    """Extra AWS tags. Default: none."""
    name_prefix: Optional[str]
    """Prefix of AWS names (the cluster name as a plain string). Default: ``cluster_name`` if it is a plain string."""


class Dns(pulumi.ComponentResource):
    """The gateway's DNS record, kept by ExternalDNS. See docs/components/dns.md.

    Python callers may also pass ``depends_on`` (keyword): resources ExternalDNS is installed after (nodes, its
    namespace, and the Gateway API CRDs, ``Gateway.api_ready``, which its source watches from its start). Other
    languages use the resource option ``dependsOn``, which the component passes on to its children the same way."""

    role_arn: pulumi.Output[str]
    """ExternalDNS's EKS Pod Identity role."""
    hosted_zone_id: str
    """The zone it writes to."""
    txt_owner_id: str
    """The owner id of its TXT records."""
    hostnames: list[str]
    """The names it keeps pointing at the gateway."""

    def __init__(self, resource_name: str, args: DnsArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 depends_on: Sequence[pulumi.Resource] = ()):
        # Every problem at its args path, before anything (this component included) is registered.
        arguments.refuse("Dns", resource_name, rules.dns_args_issues(args))
        super().__init__(naming.type_token("Dns"), resource_name, None, opts)
        a = SimpleNamespace(**{**rules.dns_resolved(args),
                               "depends_on": [*depends_on, *arguments.resources(opts.depends_on if opts else None)]})
        name = naming.name_prefix(a.cluster_name, a.name_prefix)
        tags = naming.aws_tags(a.environment, name, dict(a.tags))
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        identity = pod_identity_role(
            f"{resource_name}-external-dns", f"{name}-external-dns", cluster_name=a.cluster_name,
            namespace=a.namespace, service_account=SERVICE_ACCOUNT, tags=tags, opts=child,
            policy=partition.apply(lambda p: policy(a.hosted_zone_id, a.hostnames, p)))
        after = [*a.depends_on, *identity.ready]
        helm.release(
            f"{resource_name}-external-dns", "external-dns", name=RELEASE, namespace=a.namespace,
            create_namespace=True,
            values=values(hosted_zone_id=a.hosted_zone_id, zone_name=a.zone_name,
                          txt_owner_id=a.txt_owner_id, region=a.region, gateway_name=a.gateway_name,
                          gateway_namespace=a.gateway_namespace, system=a.system_node_selector),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after))
        np = network_policy(a.namespace, a.monitoring_namespace, a.node_cidrs)
        k8s.networking.v1.NetworkPolicy(f"{resource_name}-external-dns", metadata=np["metadata"], spec=np["spec"],
                                        opts=pulumi.ResourceOptions(parent=self, depends_on=list(a.depends_on)))

        self.role_arn = identity.role.arn
        self.hosted_zone_id = a.hosted_zone_id
        self.txt_owner_id = a.txt_owner_id
        self.hostnames = list(a.hostnames)
        self.register_outputs({"roleArn": self.role_arn, "hostedZoneId": self.hosted_zone_id,
                               "txtOwnerId": self.txt_owner_id, "hostnames": self.hostnames})
