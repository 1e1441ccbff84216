"""The gateway namespaces' NetworkPolicies (the rate-limit store; Envoy Gateway's controller, proxies and rate
limiter) and the Envoy proxies' PodMonitor, from the ports in manifests.EG_PORTS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from llm_tiers import naming
from llm_tiers.tiers import tgi
from llm_tiers.gateway.manifests import (EG_CONTROLLER, EG_PORTS, EG_PROXY, EG_RATELIMIT, GATEWAY_NAME, GUARD_GRPC_PORT,
                                         GUARD_NAME, _meta)


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"port": p, "protocol": "TCP"} for p in ports]


def gateway_network_policy(namespace: str,
                           controller_namespace: str = naming.ENVOY_GATEWAY_NAMESPACE) -> dict[str, Any]:
    """Only Envoy Gateway's rate limiter may reach the rate-limit store."""
    rate_limiter = {**naming.namespace_peer(controller_namespace), "podSelector": {"matchLabels": dict(EG_RATELIMIT)}}
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("ratelimit-redis", namespace),
        "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ratelimit-redis"}},
                 "policyTypes": ["Ingress"],
                 "ingress": [{"from": [rate_limiter], "ports": _tcp(6379)}]},
    }


def controller_network_policies(namespace: str, monitoring_namespace: str,
                                node_cidrs: Sequence[str], tiers_namespace: str = naming.TIERS_NAMESPACE,
                                store_namespace: str = naming.GATEWAY_NAMESPACE,
                                trace_to: Optional[tuple[str, str, int]] = None,
                                collector_labels: Optional[dict[str, str]] = None) -> list[dict[str, Any]]:
    """Ingress of Envoy Gateway's namespace (controller, rate limiter, proxies): nothing but what each pod
    serves. Clients reach the proxies' listeners from anywhere (the NLB keeps client addresses; its source
    ranges are the filter); kubelet probes and the API server's webhook calls come from ``node_cidrs`` (the
    VPC: nodes and the EKS control plane's network interfaces); Prometheus scrapes from its namespace.

    Egress of the pods that handle client traffic: the proxies reach only DNS, the tiers' serving pods on
    TGI's port, the controller (xDS) and the rate limiter; the rate limiter only DNS, the controller and the
    rate-limit store. With ``trace_to`` (the tracing collector's Service), the proxies also reach the collector's pods
    (``collector_labels``) on its OTLP port. (The controller's egress stays open: it calls the API server, whose
    addresses a NetworkPolicy cannot name reliably.)"""
    nodes = [{"ipBlock": {"cidr": c}} for c in node_cidrs]
    from_nodes = {"from": nodes} if nodes else {}
    proxies = {"podSelector": {"matchLabels": dict(EG_PROXY)}}
    controller = {"podSelector": {"matchLabels": dict(EG_CONTROLLER)}}
    rate_limiter = {"podSelector": {"matchLabels": dict(EG_RATELIMIT)}}
    scrape = {"from": [naming.namespace_peer(monitoring_namespace)], "ports": _tcp(*EG_PORTS["metrics"])}
    dns = naming.dns_egress()
    tier_pods = {**naming.namespace_peer(tiers_namespace),
                 "podSelector": {"matchLabels": {f"{naming.LABEL_DOMAIN}/component": "server"}}}
    store = {**naming.namespace_peer(store_namespace),
             "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ratelimit-redis"}}}

    def policy(name: str, selector: dict[str, Any], ingress: list[dict[str, Any]],
               egress: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
        spec: dict[str, Any] = {"podSelector": selector, "policyTypes": ["Ingress"], "ingress": ingress}
        if egress is not None:
            spec["policyTypes"] = ["Ingress", "Egress"]
            spec["egress"] = egress
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(name, namespace),
                "spec": spec}

    return [
        policy("default-deny-ingress", {}, []),
        policy("envoy-proxies", {"matchLabels": dict(EG_PROXY)}, [
            {"ports": _tcp(*EG_PORTS["proxy-listeners"])},
            {**from_nodes, "ports": _tcp(*EG_PORTS["proxy-probes"], *EG_PORTS["extproc-metrics"])},
            scrape,
            {"from": [naming.namespace_peer(monitoring_namespace)], "ports": _tcp(*EG_PORTS["extproc-metrics"])}],
            egress=[
            dns,
            {"to": [tier_pods], "ports": _tcp(tgi.HTTP_PORT)},
            {"to": [controller], "ports": _tcp(*EG_PORTS["controller-from-proxies"])},
            {"to": [rate_limiter], "ports": _tcp(*EG_PORTS["ratelimit-from-proxies"])},
            # The request guard (OPA ext_authz over gRPC, gateway/guard.py) in the gateway's namespace.
            {"to": [{**naming.namespace_peer(store_namespace),
                     "podSelector": {"matchLabels": {"app.kubernetes.io/name": GUARD_NAME}}}],
             "ports": _tcp(GUARD_GRPC_PORT)},
            *([{"to": [{**naming.namespace_peer(trace_to[1]),
                        "podSelector": {"matchLabels": dict(collector_labels or {})}}],
                "ports": _tcp(trace_to[2])}] if trace_to else [])]),
        policy("envoy-gateway-controller", {"matchLabels": dict(EG_CONTROLLER)}, [
            {"from": [proxies], "ports": _tcp(*EG_PORTS["controller-from-proxies"])},
            {"from": [{"podSelector": {"matchLabels": dict(EG_RATELIMIT)}}],
             "ports": _tcp(*EG_PORTS["controller-from-ratelimit"])},
            {**from_nodes, "ports": _tcp(*EG_PORTS["controller-from-control-plane"])},
            scrape]),
        policy("envoy-ratelimit", {"matchLabels": dict(EG_RATELIMIT)}, [
            {"from": [proxies], "ports": _tcp(*EG_PORTS["ratelimit-from-proxies"])},
            {**from_nodes, "ports": _tcp(*EG_PORTS["ratelimit-probes"])},
            scrape], egress=[
            dns,
            {"to": [controller], "ports": _tcp(*EG_PORTS["controller-from-ratelimit"])},
            {"to": [store], "ports": _tcp(6379)}]),
    ]


def envoy_pod_monitor(namespace: str) -> dict[str, Any]:
    """Scrape this gateway's Envoy proxies (per-route request counts feed the wake-up trigger of
    scaled-to-zero tiers)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
        "metadata": _meta(f"envoy-{namespace}", naming.ENVOY_GATEWAY_NAMESPACE),
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/component": "proxy",
                                         "app.kubernetes.io/managed-by": "envoy-gateway",
                                         "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME,
                                         "gateway.envoyproxy.io/owning-gateway-namespace": namespace}},
            "podMetricsEndpoints": [{"port": "metrics", "path": "/stats/prometheus", "interval": "15s"}],
        },
    }
