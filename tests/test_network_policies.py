"""Every namespace the platform creates has default-deny NetworkPolicies and admits only the flows its pods
need; the gateway's traffic-handling pods have egress limits. Evaluated with the NetworkPolicy semantics
helper of test_gateway (ingress) and its egress twin below."""

from __future__ import annotations

import pytest

from llm_tiers import namespaces as ns_mod
from conftest import STACKS, overrides, stack_values
from test_gateway import CONTROLLER, PROXY, RATELIMIT, admits
from llm_tiers.preview import render as render_tool

NODE = "10.30.3.4"          # a prod node (VPC 10.30.0.0/16)
OUTSIDE = "198.51.100.7"


def policies_of(result) -> list[dict]:
    return [o for o in result.kubernetes_objects() if o["kind"] == "NetworkPolicy"]


def sends(policies: list[dict], namespace: str, pod: dict[str, str], port: int, *, dst_ns: str | None = None,
          dst_pod: dict[str, str] | None = None, dst_ip: str | None = None, protocol: str = "TCP") -> bool:
    """Egress semantics for the selector forms these policies use: a pod no Egress policy selects may send
    anywhere; otherwise one egress rule of one selecting policy must match destination and port."""
    def matches(selector: dict, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())

    selecting = [p for p in policies if p["metadata"]["namespace"] == namespace
                 and "Egress" in p["spec"]["policyTypes"] and matches(p["spec"]["podSelector"], pod)]
    if not selecting:
        return True
    for p in selecting:
        for rule in p["spec"].get("egress", []):
            if "ports" in rule and (port, protocol) not in [(x["port"], x.get("protocol", "TCP"))
                                                            for x in rule["ports"]]:
                continue
            if "to" not in rule:
                return True
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    continue  # none of these policies sends to addresses
                if dst_ns is None:
                    continue
                ns_ok = matches(peer["namespaceSelector"], {"kubernetes.io/metadata.name": dst_ns}) \
                    if "namespaceSelector" in peer else dst_ns == namespace
                if ns_ok and matches(peer.get("podSelector", {}), dst_pod or {}):
                    return True
    return False


@pytest.mark.parametrize("stack", STACKS)
def test_every_platform_namespace_denies_by_default(rendered, stack):
    r = rendered(stack)
    policies = policies_of(r)
    for name in r.objects_named("Namespace"):
        deny = [p for p in policies if p["metadata"]["namespace"] == name and p["spec"]["podSelector"] == {}
                and "Ingress" in p["spec"]["policyTypes"] and "ingress" not in p["spec"]
                or (p["metadata"]["namespace"] == name and p["spec"]["podSelector"] == {}
                    and p["spec"].get("ingress") == [])]
        assert deny, f"namespace {name} has no default-deny ingress policy"
        # A pod nothing else selects is refused from anywhere.
        assert not admits(policies, name, {"app": "stray"}, 8080, src_ns="default", src_pod={})
        assert not admits(policies, name, {"app": "stray"}, 8080, src_ip=OUTSIDE)


def test_operator_namespaces_admit_only_their_webhooks_probes_and_scrapes(rendered):
    policies = policies_of(rendered("prod"))
    tier_pod = dict(src_ns="llm-tiers", src_pod={"llm-tiers.io/component": "server"})
    cases = [
        # (namespace, port, source, admitted)
        ("external-secrets", 10250, dict(src_ip=NODE), True),        # the API server calls the webhook
        ("external-secrets", 10250, tier_pod, False),
        ("external-secrets", 8080, dict(src_ns="monitoring", src_pod={}), True),
        ("external-secrets", 8080, dict(src_ns="llm-gateway", src_pod={}), False),
        ("external-secrets", 5000, dict(src_ip=NODE), False),
        ("keda", 6443, dict(src_ip=NODE), True),                     # the metrics API (aggregated)
        ("keda", 9443, dict(src_ip=NODE), True),
        ("keda", 9666, dict(src_ns="keda", src_pod={}), True),       # metrics server -> operator gRPC
        ("keda", 9666, tier_pod, False),
        ("monitoring", 9090, dict(src_ns="monitoring", src_pod={}), True),   # Grafana -> Prometheus
        ("monitoring", 9093, dict(src_ip=OUTSIDE), False),
        ("monitoring", 10250, dict(src_ip=NODE), True),              # prometheus-operator's webhook
        ("monitoring", 9090, tier_pod, False),
    ]
    for namespace, port, source, admitted in cases:
        assert admits(policies, namespace, {"app": "any"}, port, **source) is admitted, (namespace, port, source)
    prometheus = {"app.kubernetes.io/name": "prometheus"}
    assert admits(policies, "monitoring", prometheus, 9090, src_ns="keda", src_pod={}), "KEDA queries Prometheus"
    assert not admits(policies, "monitoring", {"app.kubernetes.io/name": "grafana"}, 3000, src_ns="keda", src_pod={})


def test_cert_manager_namespace_gets_its_policies():
    values = stack_values("prod")
    values["gateway"]["tls"] = {"mode": "cert-manager", "issuer": "letsencrypt"}
    policies = policies_of(render_tool.render("prod", overrides=overrides(values)))
    assert admits(policies, "cert-manager", {"app": "webhook"}, 10250, src_ip=NODE)
    assert admits(policies, "cert-manager", {"app": "cert-manager"}, 9402, src_ns="monitoring", src_pod={})
    assert not admits(policies, "cert-manager", {"app": "webhook"}, 10250, src_ns="llm-tiers", src_pod={})


def test_gateway_pods_send_only_where_they_must(rendered):
    policies = policies_of(rendered("prod"))
    tier = {"llm-tiers.io/tier": "chat-small", "llm-tiers.io/component": "server", "llm-tiers.io/release": "live"}
    sync = {"llm-tiers.io/tier": "chat-small", "llm-tiers.io/component": "weights-sync"}
    redis = {"app.kubernetes.io/name": "ratelimit-redis"}
    eg = "envoy-gateway-system"
    cases = [
        # (pod, port, destination, allowed)
        (PROXY, 8080, dict(dst_ns="llm-tiers", dst_pod=tier), True),
        (PROXY, 8080, dict(dst_ns="llm-tiers", dst_pod=sync), False),
        (PROXY, 9000, dict(dst_ns="llm-tiers", dst_pod=tier), False),
        (PROXY, 18000, dict(dst_ns=eg, dst_pod=CONTROLLER), True),
        (PROXY, 8081, dict(dst_ns=eg, dst_pod=RATELIMIT), True),
        (PROXY, 6379, dict(dst_ns="llm-gateway", dst_pod=redis), False),
        (PROXY, 443, dict(dst_ip=OUTSIDE), False),
        (PROXY, 443, dict(dst_ns="monitoring", dst_pod={}), False),
        (RATELIMIT, 6379, dict(dst_ns="llm-gateway", dst_pod=redis), True),
        (RATELIMIT, 18001, dict(dst_ns=eg, dst_pod=CONTROLLER), True),
        (RATELIMIT, 8080, dict(dst_ns="llm-tiers", dst_pod=tier), False),
        (RATELIMIT, 443, dict(dst_ip=OUTSIDE), False),
    ]
    for pod, port, dest, allowed in cases:
        assert sends(policies, eg, pod, port, **dest) is allowed, (pod, port, dest)
    for pod in (PROXY, RATELIMIT):
        assert sends(policies, eg, pod, 53, dst_ns="kube-system", dst_pod={"k8s-app": "kube-dns"}, protocol="UDP")
    # The tiers' and the store's namespaces deny egress by default; each pod's own policy adds what it needs.
    assert not sends(policies, "llm-gateway", redis, 443, dst_ip=OUTSIDE)
    assert not sends(policies, "llm-tiers", tier, 443, dst_ip=OUTSIDE)
    assert sends(policies, "llm-tiers", sync, 443, dst_ip=OUTSIDE), "the weight sync reaches the Hub (HTTPS)"
    assert not sends(policies, "llm-tiers", sync, 80, dst_ip=OUTSIDE)


def test_without_node_cidrs_the_namespaces_get_no_policies(tmp_path):
    from test_component_args import run

    alone = run(tmp_path, """
from llm_tiers import Namespaces
Namespaces("namespaces")
""")
    assert alone.of_type("kubernetes:core/v1:Namespace")
    assert not alone.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    args = ns_mod.platform_namespaces(node_cidrs=["10.0.0.0/16"])
    assert args["node_cidrs"] == ["10.0.0.0/16"] and "network_policies" not in args
    assert set(args["namespaces"]) == set(ns_mod.DEFAULT_NAMESPACES)
