"""The gateway's system pods (pure): Envoy Gateway, its proxies and rate limiter, AI Gateway, the request guard,
the rate-limit store, cert-manager (with ``tls.mode: cert-manager``), the LoadBalancerController and ExternalDNS
(the Dns component), as the system capacity check counts them."""

from __future__ import annotations

from llm_tiers.cluster.system_capacity import (AIGW_CONTROLLER, AIGW_CONTROLLER_REPLICAS, AIGW_EXTPROC,
                                               AWS_LOAD_BALANCER_CONTROLLER, AWS_LOAD_BALANCER_CONTROLLER_REPLICAS,
                                               CERT_MANAGER, CERT_MANAGER_CAINJECTOR, CERT_MANAGER_CAINJECTOR_REPLICAS,
                                               CERT_MANAGER_REPLICAS, CERT_MANAGER_STARTUPAPICHECK,
                                               CERT_MANAGER_WEBHOOK, CERT_MANAGER_WEBHOOK_REPLICAS, ENVOY_GATEWAY,
                                               ENVOY_GATEWAY_CERTGEN, ENVOY_GATEWAY_REPLICAS, ENVOY_PROXY,
                                               ENVOY_RATELIMIT, ENVOY_RATELIMIT_REPLICAS, ENVOY_SHUTDOWN_MANAGER,
                                               EXTERNAL_DNS, REQUEST_GUARD, REQUEST_GUARD_REPLICAS, VALKEY, Workload)
from llm_tiers.config.gateway import GatewayConfig


def workloads(gw: GatewayConfig) -> list[Workload]:
    w = [
        # The controller (and its certgen hook Job), the rate limiter it runs, the Envoy proxies (spread over zones
        # and hostnames with DoNotSchedule), the rate-limit store.
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
            Workload("cert-manager-webhook", "helm:cert-manager", (CERT_MANAGER_WEBHOOK,),
                     CERT_MANAGER_WEBHOOK_REPLICAS),
            Workload("cert-manager-cainjector", "helm:cert-manager", (CERT_MANAGER_CAINJECTOR,),
                     CERT_MANAGER_CAINJECTOR_REPLICAS),
            Workload("cert-manager-startupapicheck", "helm:cert-manager", (CERT_MANAGER_STARTUPAPICHECK,),
                     kind="Job"),
        ]
    if gw.dns is not None:
        # Dns: ExternalDNS, one replica (its chart's Deployment has replicas: 1).
        w.append(Workload("external-dns", "helm:external-dns", (EXTERNAL_DNS,)))
    return w
