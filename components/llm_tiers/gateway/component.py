"""Gateway: Envoy Gateway with an NLB, per-tier OpenAI-compatible routes, per-tenant API keys, tier grants
and global rate limits. A thin ComponentResource over the pure ``gateway_manifests``."""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
from collections.abc import Mapping, Sequence
from importlib.metadata import version as _package_version
from types import SimpleNamespace
from typing import Any, Optional, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from llm_tiers import arguments
from llm_tiers.gateway import aigw, fallback, guard, rules
from llm_tiers.gateway import objects as gobj
from llm_tiers.gateway import load_balancer_controller as lbc
from llm_tiers.gateway import manifests as gm
from llm_tiers.gateway import rate_limit_store as rls
from llm_tiers import helm
from llm_tiers import naming
from llm_tiers import timing
from llm_tiers import versions
from llm_tiers.config.specs import GatewaySpec, TenantSpec, TierSpec

_K8S_SDK_VERSION = _package_version("pulumi_kubernetes")  # the provider plugin version the SDK would request


class ObservedCustomResource(pulumi.CustomResource):
    """A custom resource (as ``k8s.apiextensions.CustomResource`` registers it: same type token, same inputs)
    whose ``status``, as the controller wrote it, is readable: pulumi-kubernetes returns the live object once
    it is awaited, but the SDK's CustomResource declares no ``status`` output."""

    status: pulumi.Output[Any]
    """The object's ``status`` after the await (unknown during a preview)."""

    def __init__(self, resource_name: str, api_version: str, kind: str, metadata: Any, spec: Any,
                 opts: Optional[pulumi.ResourceOptions] = None):
        props = {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec, "status": None}
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=_K8S_SDK_VERSION))
        super().__init__(f"kubernetes:{api_version}:{kind}", resource_name, props, opts)


def gateway_address(status: Any) -> Optional[str]:
    """The first address a Gateway's status lists (Envoy Gateway: the NLB's DNS name), or None before it has one."""
    addresses = (status or {}).get("addresses") or []
    return addresses[0].get("value") if addresses else None


class TraceTarget(TypedDict):
    """Where Envoy sends its spans: the tracing collector's Service (``Tracing.service_name``, ``.namespace``)."""

    name: str
    """The collector's Service name."""
    namespace: str
    """Its namespace."""
    port: int
    """Its OTLP gRPC port (4317)."""


class GatewayArgs(TypedDict, total=False):
    """Inputs of :class:`Gateway`."""

    settings: Required[GatewaySpec]
    """The ``gateway`` config section (``GatewaySpec``: hostname, TLS, NLB scheme and source CIDRs, default limits,
    ...), checked as the stack file's ``gateway`` is. Required."""
    tiers: Required[list[TierSpec]]
    """Tiers to route to (their Services are ``<tier>`` in ``tiers_namespace``); names and model names unique.
    Required."""
    tenants: Required[list[TenantSpec]]
    """Tenants, their grants (tiers among ``tiers``) and limits. Required."""
    tenant_keys_secret: str
    """Secret in ``namespace`` with one data key per tenant (what SecretStore syncs). Default: ``tenant-api-keys``."""
    namespace: str
    """Namespace of the Gateway, routes, policies and the rate-limit store. Default: ``llm-gateway``."""
    tiers_namespace: str
    """Namespace of the tiers' Services. Default: ``llm-tiers``."""
    system_node_selector: dict[str, str]
    """Where the Envoy proxies and the rate-limit store run. Default: any node."""
    monitoring: bool
    """Create a PodMonitor for the Envoy proxies (needs the Prometheus operator's CRDs). Default: true."""
    node_cidrs: list[str]
    """Where kubelet probes and the API server's webhook calls reach Envoy Gateway's pods from (the VPC CIDR).
    Default: none (those ports admit any source; the rest of the namespace's ingress stays closed)."""
    monitoring_namespace: str
    """Where Prometheus runs (admitted to the metrics ports of Envoy Gateway's pods). Default: ``monitoring``."""
    gateway_class: str
    """Name of this gateway's (cluster-scoped) GatewayClass; give a second gateway its own. Default: ``llm-tiers``."""
    install_controller: bool
    """Install Envoy Gateway and the rate-limit store (and cert-manager when ``settings.tls.mode`` is
    ``cert-manager``); a second gateway on the same cluster sets false and shares the first one's (global
    rate limits then count in the first gateway's store). Default: true."""
    trace_to: Optional[TraceTarget]
    """The tracing collector's Service (name, namespace, OTLP gRPC port): Envoy sends its spans there, tagged with
    the tenant (``Tracing``). Default: none (the gateway traces nothing)."""
    trace_sampling_percent: int
    """Share of requests Envoy traces when the client sent no sampling decision (``observability.tracing``), 0 to
    100. Default: 10."""
    trace_collector_labels: dict[str, str]
    """Pod labels of the tracing collector (the proxies' NetworkPolicy lets them reach those pods). Default: none."""


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, dict by dict (as Helm merges values files)."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


class Gateway(pulumi.ComponentResource):
    """The API's front door. See docs/components/gateway.md.

    It checks its args as the stack's loader checks the ``gateway`` and ``tenants`` sections (an internet-facing
    NLB needs ``settings.source_cidrs``, a tenant's grants must name tiers among ``tiers``, ...) and refuses with
    every problem at its ``args.`` path before it registers anything.

    Python callers may also pass (keywords): ``tier_services`` (tier name -> the resource that creates its Service,
    ``ModelTier.service``: the tier's route is created after it and deleted before it), ``load_balancer_controller``
    (``LoadBalancerController.ready``: the EnvoyProxy, whose Service becomes the NLB, is created after it and a
    destroy removes the controller only after the NLB is gone; empty: the cluster must already run that controller)
    and ``depends_on`` (nodes, namespaces, key sync, Prometheus CRDs). Other languages use the resource option
    ``dependsOn`` (passed on to the children the same way) for all three: the routes then wait for the whole
    component instead of their own tier's Service."""

    base_url: str
    """The OpenAI base URL of every tier (``https://<host>/v1``); the request's ``model`` picks the tier."""
    models: dict[str, list[str]]
    """Tier name -> the ``model`` names it answers to (its name, then its aliases)."""
    base_urls: dict[str, str]
    """Deprecated per-tier base URLs (``https://<host>/<tier>/v1``), while ``settings.perTierUrls``; else empty."""
    tier_clusters: dict[str, list[str]]
    """Tier name -> the Envoy clusters carrying its traffic: pass as ``ModelTierArgs.gateway_clusters`` (the
    scale-from-zero trigger counts requests there)."""
    address: pulumi.Output[Optional[str]]
    """The load balancer's DNS name from the Gateway's status (known after ``pulumi up``): what ``hostname``
    must resolve to (a Dns component, or a CNAME you create)."""

    def __init__(self, resource_name: str, args: GatewayArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 tier_services: Mapping[str, pulumi.Resource] = {},  # noqa: B006 (read only)
                 load_balancer_controller: Sequence[pulumi.Resource] = (),
                 depends_on: Sequence[pulumi.Resource] = ()):
        # Every problem at its args path, before anything (this component included) is registered.
        arguments.refuse("Gateway", resource_name, [*rules.gateway_args_issues(args),
                                                    *rules.tier_services_issues(tier_services, args)])
        super().__init__(naming.type_token("Gateway"), resource_name, None, opts)
        sections, _ = rules.gateway_sections(args)
        assert sections is not None  # checked above
        a = SimpleNamespace(**{**rules.gateway_resolved(args), "settings": sections.settings, "tiers": sections.tiers,
                               "tenants": sections.tenants, "trace_to": rules.trace_target(args.get("trace_to")),
                               "tier_services": dict(tier_services),
                               "load_balancer_controller": list(load_balancer_controller),
                               "depends_on": [*depends_on, *arguments.resources(opts.depends_on if opts else None)]})
        gw, ns = a.settings, a.namespace
        system = dict(a.system_node_selector)
        redis_url = f"ratelimit-redis.{ns}.svc.cluster.local:6379"
        controller: list[pulumi.Resource] = []
        store_secrets: list[pulumi.Resource] = []
        if a.install_controller:
            # The rate limiter's password for the store: random, only ever in Secrets (the store gets its hash).
            password = random.RandomPassword(f"{resource_name}-ratelimit-redis", length=rls.PASSWORD_LENGTH,
                                             special=False, opts=pulumi.ResourceOptions(parent=self))
            for res, manifest in (
                    ("redis-acl", rls.secret(rls.ACL_SECRET, ns, rls.ACL_KEY, pulumi.Output.secret(
                        password.result.apply(lambda p: rls.acl_file(rls.password_sha256(p)))))),
                    ("redis-auth", rls.secret(rls.AUTH_SECRET, naming.ENVOY_GATEWAY_NAMESPACE, rls.AUTH_KEY,
                                              pulumi.Output.secret(password.result.apply(rls.redis_auth))))):
                store_secrets.append(k8s.core.v1.Secret(
                    f"{resource_name}-{res}", metadata=manifest["metadata"], type=manifest["type"],
                    string_data=manifest["stringData"],
                    opts=pulumi.ResourceOptions(parent=self, depends_on=list(a.depends_on))))
            # Gateway API (experimental channel, as Envoy Gateway bundles it) and Envoy Gateway CRDs as their own
            # chart, upgraded with it (charts/gateway-crds-helm templates gate on these values at v1.9.0); the
            # controller chart then skips its crds subchart (gateway-helm values: crds.enabled).
            crds = helm.crd_chart(
                f"{resource_name}-envoy-gateway-crds", "envoy-gateway-crds",
                values={"crds": {"gatewayAPI": {"enabled": True, "channel": "experimental"},
                                 "envoyGateway": {"enabled": True}}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(a.depends_on)))
            eg = helm.release(
                f"{resource_name}-envoy-gateway",
                "envoy-gateway",
                name="envoy-gateway",
                namespace=naming.ENVOY_GATEWAY_NAMESPACE,
                create_namespace=True,
                values=deep_merge(
                    {**gm.envoy_gateway_values(redis_url, system, gw.rate_limiting), "crds": {"enabled": False}},
                    aigw.envoy_gateway_values(),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*a.depends_on, crds, store_secrets[1]]),
            )
            # Envoy AI Gateway: its CRDs, then its controller (the extension server Envoy Gateway calls, and the
            # webhook that injects the extProc into Envoy pods) in its own namespace.
            ai_crds = helm.crd_chart(
                f"{resource_name}-ai-gateway-crds",
                "ai-gateway-crds",
                values={},
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(a.depends_on)),
            )
            ai = helm.release(
                f"{resource_name}-ai-gateway",
                "ai-gateway",
                name="ai-gateway",
                namespace=naming.AI_GATEWAY_NAMESPACE,
                create_namespace=True,
                values=aigw.controller_values(system, features=bool(gw.features)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*a.depends_on, ai_crds, eg]),
            )
            controller += [crds, eg, ai_crds, ai]

        ready = pulumi.CustomTimeouts(
            create=timing.duration(timing.CUSTOM_RESOURCE_READY_SECONDS),
            update=timing.duration(timing.CUSTOM_RESOURCE_READY_SECONDS),
        )

        def create(res: str, manifest: dict[str, Any], after: Sequence[pulumi.Resource] = ()) -> pulumi.Resource:
            kind, api = manifest["kind"], manifest["apiVersion"]
            awaited = naming.WAIT_FOR in (manifest["metadata"].get("annotations") or {})
            o = pulumi.ResourceOptions(
                parent=self, depends_on=[*a.depends_on, *after], custom_timeouts=ready if awaited else None
            )
            body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
            if kind == "Deployment":
                return k8s.apps.v1.Deployment(f"{resource_name}-{res}", **body, opts=o)
            if kind == "ConfigMap":
                return k8s.core.v1.ConfigMap(f"{resource_name}-{res}", **body, opts=o)
            if kind == "Service":
                return k8s.core.v1.Service(f"{resource_name}-{res}", **body, opts=o)
            if kind == "PodDisruptionBudget":
                return k8s.policy.v1.PodDisruptionBudget(f"{resource_name}-{res}", **body, opts=o)
            if kind == "NetworkPolicy":
                return k8s.networking.v1.NetworkPolicy(f"{resource_name}-{res}", **body, opts=o)
            if kind == "Gateway":
                return ObservedCustomResource(
                    f"{resource_name}-{res}", api, kind, body["metadata"], body["spec"], opts=o
                )
            return k8s.apiextensions.CustomResource(
                f"{resource_name}-{res}", api_version=api, kind=kind, **body, opts=o
            )

        issuer: list[pulumi.Resource] = []
        if a.install_controller and gw.tls.mode == "cert-manager":
            # After Envoy Gateway: cert-manager enables its Gateway support only if the Gateway API CRDs
            # exist when it starts.
            issuer.append(
                helm.release(
                    f"{resource_name}-cert-manager",
                    "cert-manager",
                    name="cert-manager",
                    namespace=naming.CERT_MANAGER_NAMESPACE,
                    create_namespace=True,
                    values=gm.cert_manager_values(system),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[*a.depends_on, *controller]),
                )
            )
        if a.install_controller:
            for obj in gm.redis(ns, versions.IMAGES["valkey"], system):
                create(f"redis-{obj['kind'].lower()}", obj, store_secrets[:1] if obj["kind"] == "Deployment" else ())
            create("redis-network-policy", gm.gateway_network_policy(ns))
            for policy in fallback.with_egress(
                gm.controller_network_policies(
                    naming.ENVOY_GATEWAY_NAMESPACE,
                    a.monitoring_namespace,
                    a.node_cidrs,
                    a.tiers_namespace,
                    ns,
                    a.trace_to,
                    a.trace_collector_labels,
                ),
                a.tiers,
            ):
                create(f"eg-{policy['metadata']['name']}", policy, controller)
        # The NLB guard: a ConfigMap the Envoy Service gets as a blocking owner (lbc.nlb_guard says why); it
        # depends on the load balancer controller, and the EnvoyProxy on it.
        lb = list(a.load_balancer_controller)
        guard_manifest = lbc.nlb_guard(naming.ENVOY_GATEWAY_NAMESPACE, a.gateway_class)
        nlb_guard = k8s.core.v1.ConfigMap(
            f"{resource_name}-nlb-guard",
            metadata=guard_manifest["metadata"],
            data=guard_manifest["data"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*a.depends_on, *controller, *lb]),
        )
        for obj in lbc.guard_rbac(naming.ENVOY_GATEWAY_NAMESPACE, guard_manifest["metadata"]["name"]):
            o = pulumi.ResourceOptions(parent=self, depends_on=[*a.depends_on, *controller])
            if obj["kind"] == "Role":
                k8s.rbac.v1.Role(
                    f"{resource_name}-nlb-guard-role", metadata=obj["metadata"], rules=obj["rules"], opts=o
                )
            else:
                k8s.rbac.v1.RoleBinding(
                    f"{resource_name}-nlb-guard-rolebinding",
                    metadata=obj["metadata"],
                    role_ref=obj["roleRef"],
                    subjects=obj["subjects"],
                    opts=o,
                )
        traced = {"trace_to": a.trace_to, "sampling_percent": a.trace_sampling_percent}
        proxy_manifest = gm.envoy_proxy(gw, ns, system, **traced)
        proxy_manifest["spec"] = nlb_guard.metadata.apply(
            lambda m: gm.envoy_proxy(gw, ns, system, owner=lbc.guard_owner_reference(m.name, m.uid), **traced)["spec"]  # type: ignore[arg-type]
        )
        proxy = create("envoy-proxy", proxy_manifest, [*controller, *lb, nlb_guard])
        gclass = create("gateway-class", gm.gateway_class(ns, a.gateway_class), [*controller, proxy])
        # Before the Gateway that names it: the extProc sidecar's resources.
        ai_config = create("aigw-gateway-config", aigw.gateway_config(ns), controller)
        gateway = create("gateway", gm.gateway(gw, ns, a.gateway_class), [gclass, ai_config, *issuer])
        create("https-redirect", gm.https_redirect(gw, ns), [gateway])
        if a.monitoring:
            create("envoy-pod-monitor", gm.envoy_pod_monitor(ns), controller)
            create("aigw-pod-monitor", aigw.extproc_pod_monitor(ns), controller)
        # One FQDN Backend and AIServiceBackend per tier, after the tier's Service; one AIGatewayRoute over
        # them; auth, grants and limits on the HTTPRoute AI Gateway generates from it (same name).
        # The objects the config sizes, from the builder preflight validates too (gateway/objects.py).
        built = gobj.route_objects(a.tiers, a.tenants, gw, ns, a.tiers_namespace, a.tenant_keys_secret)
        ai_backends: list[pulumi.Resource] = []
        backends: dict[str, pulumi.Resource] = {}
        for b in built.backends:
            tier = b.tier
            service = [a.tier_services[tier.name]] if tier.name in a.tier_services else []
            backends[tier.name] = create(f"{tier.name}-backend", b.backend, [*controller, *service])
            ai_backends.append(create(f"{tier.name}-ai-backend", b.ai_service_backend, [backends[tier.name]]))
        # A tier's fallback provider (gateway/fallback.py): Backend, AIServiceBackend, BackendSecurityPolicy (its key
        # synced by SecretStore, in depends_on); the tier's route waits for them.
        fallbacks: dict[str, list[pulumi.Resource]] = {}
        for tier, objs in built.fallbacks:
            made: list[pulumi.Resource] = []
            for obj in objs:
                made.append(create(f"{tier.name}-fallback-{obj['kind'].lower()}", obj, [*controller, *made[-1:]]))
            fallbacks[tier.name] = made
        # One AIGatewayRoute (with its SecurityPolicy and BackendTrafficPolicy) per route group: one while the
        # tiers fit the per-object limits (resources ai-route, ai-security, ai-traffic), more when they do not
        # (ai-route-2, ...; aigw.route_groups).
        suffix = ["" if i == 0 else f"-{i + 1}" for i in range(len(built.groups))]
        names = [t.name for t in a.tiers]
        routes = [
            create(
                f"ai-route{suffix[i]}",
                g.route,
                [
                    gateway,
                    *(ai_backends[names.index(t.name)] for t in g.group.tiers),
                    *(r for t in g.group.tiers for r in fallbacks.get(t.name, [])),
                ],
            )
            for i, g in enumerate(built.groups)
        ]
        # The request guard (OPA ext_authz) the routes' SecurityPolicies call after the API-key check.
        guard_objs: list[pulumi.Resource] = []
        budgeted = [t.name for t in a.tenants if gm.limits_of(t, gw).tokens_per_minute]
        for manifest in guard.manifests(
            a.tiers,
            a.tenants,
            ns,
            versions.IMAGES["opa-envoy"],
            system,
            a.node_cidrs,
            budgeted=budgeted,
            features=gw.features,
        ):
            # after the ConfigMap
            guard_objs.append(create(f"guard-{manifest['kind'].lower()}", manifest, guard_objs[:1]))
        # The token budgets, when they cannot stay in the single route's policy: one policy on the https listener
        # that every route policy merges with (aigw.token_budget_policy), in place before them.
        tokens = [create("ai-token-budgets", built.token_policy, [gateway])] if built.token_policy else []
        for i, (g, route) in enumerate(zip(built.groups, routes)):
            create(f"ai-security{suffix[i]}", g.security, [route, *guard_objs])
            create(f"ai-traffic{suffix[i]}", g.traffic, [route, *tokens])
        self.base_url = f"https://{gw.hostname}/v1"
        self.models = {t.name: aigw.model_names(t) for t in a.tiers}
        self.tier_clusters = aigw.tier_clusters(a.tiers, gw, ns, a.tenants)
        self.base_urls = {}
        for p in built.per_tier:  # while settings.per_tier_urls
            legacy = create(f"{p.tier.name}-route", p.route, [gateway, backends[p.tier.name]])
            create(f"{p.tier.name}-security", p.security, [legacy])
            create(f"{p.tier.name}-traffic", p.traffic, [legacy])
            self.base_urls[p.tier.name] = f"https://{gw.hostname}/{p.tier.name}/v1"
        self.address = gateway.status.apply(gateway_address)  # type: ignore[attr-defined]
        self._api_ready: list[pulumi.Resource] = list(controller)
        self.register_outputs(
            {
                "baseUrl": self.base_url,
                "models": self.models,
                "baseUrls": self.base_urls,
                "hostname": gw.hostname,
                "address": self.address,
            }
        )

    @property
    def api_ready(self) -> list[pulumi.Resource]:
        """The Gateway API CRDs and Envoy Gateway (empty without ``install_controller``): depend on these from
        anything that watches Gateway API objects (ExternalDNS)."""
        return self._api_ready
