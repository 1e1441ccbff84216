"""Gateway as rendered: routes per tier, per-tenant auth, grants and limits, OpenAI-style errors, NLB."""

from __future__ import annotations

import json
import re

import cel
import pytest

from llm_tiers.gateway import manifests as gm
from llm_tiers.gateway import tenant_policies
from llm_tiers import versions
from llm_tiers.stack.parse import parse
from conftest import STACKS, overrides, stack_values
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import validate


def objs(result, kind):
    return result.objects_named(kind)


@pytest.mark.parametrize("stack", STACKS)
def test_every_tier_has_an_openai_compatible_route(rendered, stack):
    r = rendered(stack)
    cfg = parse(stack_values(stack))
    routes = objs(r, "HTTPRoute")
    assert set(routes) == {t.name for t in cfg.tiers} | {"https-redirect"}
    for t in cfg.tiers:
        (rule,) = routes[t.name]["spec"]["rules"]
        assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": f"/{t.name}/v1"}}]
        assert rule["filters"][0]["urlRewrite"]["path"] == {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1"}
        # The tier's FQDN Backend, which keeps an Envoy cluster while the tier has no pod (wake-up signal).
        assert rule["backendRefs"] == [{"group": "gateway.envoyproxy.io", "kind": "Backend", "name": t.name}]
        assert objs(r, "Backend")[t.name]["spec"]["endpoints"] == [
            {"fqdn": {"hostname": f"{t.name}.llm-tiers.svc.cluster.local", "port": 80}}]
        assert rule["timeouts"]["request"] == f"{cfg.gateway.request_timeout_seconds}s"
        assert "retry" not in json.dumps(routes[t.name]).lower()
        assert routes[t.name]["spec"]["hostnames"] == [cfg.gateway.hostname]
    assert r.outputs()["baseUrls"] == {t.name: f"https://{cfg.gateway.hostname}/{t.name}/v1" for t in cfg.tiers}


@pytest.mark.parametrize("stack", STACKS)
def test_tenants_get_exactly_the_tiers_they_were_granted(rendered, stack):
    r = rendered(stack)
    cfg = parse(stack_values(stack))
    security, traffic = objs(r, "SecurityPolicy"), objs(r, "BackendTrafficPolicy")
    for t in cfg.tiers:
        sp = security[t.name]["spec"]
        granted = sorted(x.name for x in cfg.tenants if t.name in x.tiers)
        auth = sp["apiKeyAuth"]
        assert auth["extractFrom"] == [{"headers": ["authorization"]}] and auth["sanitize"] is True
        assert auth["forwardClientIDHeader"] == "x-tenant-id"
        assert auth["credentialRefs"] == [{"group": "", "kind": "Secret", "name": "tenant-api-keys"}]
        assert sp["authorization"]["defaultAction"] == "Deny"
        allowed = [v for rule in sp["authorization"]["rules"] if rule["action"] == "Allow"
                   for h in rule["principal"]["headers"] for v in h["values"]]
        assert sorted(allowed) == granted, "a tenant is never granted a tier it was not given"
        limited = {sel["headers"][0]["value"] for rule in traffic[t.name]["spec"]["rateLimit"]["global"]["rules"]
                   for sel in rule["clientSelectors"]}
        assert limited == set(granted), "every granted tenant has a limit"
    for tenant in cfg.tenants:
        assert tenant.tiers and all(t in security for t in tenant.tiers)


def test_limits_follow_config_and_defaults(rendered):
    r = rendered("prod")
    rules = objs(r, "BackendTrafficPolicy")["chat-small"]["spec"]["rateLimit"]["global"]["rules"]
    by_tenant = {}
    for rule in rules:
        tenant = rule["clientSelectors"][0]["headers"][0]["value"]
        by_tenant.setdefault(tenant, {})[rule["limit"]["unit"]] = rule["limit"]["requests"]
    assert by_tenant["search"] == {"Minute": 1200, "Second": 40}
    assert by_tenant["support-bot"] == {"Minute": 600, "Second": 20}
    analytics = objs(r, "BackendTrafficPolicy")["chat-large"]["spec"]["rateLimit"]["global"]["rules"]
    assert {x["limit"]["requests"] for x in analytics
            if x["clientSelectors"][0]["headers"][0]["value"] == "analytics"} == {60, 5}
    assert objs(r, "BackendTrafficPolicy")["chat-small"]["spec"]["requestBuffer"] == {"limit": 1048576}


def decide(security: dict, traffic: dict, tenant: str, content_length: int) -> int:
    """What the gateway answers an authenticated request: the route's request buffer first (the buffer filter
    runs before rbac: over its limit, 413 whoever sends it; it sets Content-Length, so a chunked body is
    measured too), then authorization (first matching rule, CEL evaluated as Envoy does). 200 = forwarded."""
    if content_length > traffic["spec"]["requestBuffer"]["limit"]:
        return 413
    headers = {"x-tenant-id": tenant, "content-length": str(content_length)}
    auth = security["spec"]["authorization"]
    action = auth["defaultAction"]
    for rule in auth["rules"]:
        if "cel" in rule:
            matched = cel.evaluate(rule["cel"], {"request": {"headers": headers}}) is True
        else:
            matched = any(headers.get(h["name"]) in h["values"] for h in rule["principal"]["headers"])
        if matched:
            action = rule["action"]
            break
    return 403 if action == "Deny" else 200


@pytest.mark.parametrize("tenant,size,status", [
    ("support-bot", 200_000, 200), ("support-bot", 262_144, 200), ("support-bot", 262_145, 403),
    ("search", 1_000_000, 200), ("search", 1_048_577, 413),
    ("analytics", 10, 403),                           # not granted chat-small
    ("analytics", 1_048_577, 413),                    # not granted, but over the buffer: 413 comes first
])
def test_each_tenant_is_held_to_its_own_body_limit(rendered, tenant, size, status):
    r = rendered("prod")  # chat-small: search (default 1 MiB) and support-bot (256 KiB)
    security, traffic = objs(r, "SecurityPolicy")["chat-small"], objs(r, "BackendTrafficPolicy")["chat-small"]
    assert decide(security, traffic, tenant, size) == status


def test_body_limit_expressions_compile_and_only_exist_below_the_route_limit(rendered):
    for stack in STACKS:
        cfg = parse(stack_values(stack))
        for t in cfg.tiers:
            rules = objs(rendered(stack), "SecurityPolicy")[t.name]["spec"]["authorization"]["rules"]
            cap = tenant_policies.route_body_limit(t, cfg.tenants, cfg.gateway)
            expected = {f"body-limit-{x.name}" for x in gm.tenants_of(t, cfg.tenants)
                        if gm.limits_of(x, cfg.gateway).max_request_body_bytes < cap}
            assert {r["name"] for r in rules if "cel" in r} == expected
            for rule in rules:
                if "cel" in rule:
                    cel.compile(rule["cel"])
                    assert len(rule["cel"]) <= 4096


@pytest.mark.parametrize("status", [401, 403, 413, 429])
def test_gateway_errors_are_openai_error_json(rendered, status):
    spec = objs(rendered("prod"), "BackendTrafficPolicy")["chat-small"]["spec"]
    (override,) = [o for o in spec["responseOverride"] if o["match"]["statusCodes"][0]["value"] == status]
    body = json.loads(override["response"]["body"]["inline"])
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"] and body["error"]["code"]
    assert override["response"]["contentType"] == "application/json"
    assert override["source"] == "Local", "never rewrite TGI's own replies"
    if status == 429:
        assert override["response"]["header"]["set"] == [
            {"name": "Retry-After", "value": "%RESP(x-ratelimit-reset)%"},
            {"name": "x-ratelimit-reset", "value": "%RESP(x-ratelimit-reset)%"}]


def test_load_balancer_and_proxies(rendered):
    r = rendered("prod")
    cfg = parse(stack_values("prod")).gateway
    proxy = objs(r, "EnvoyProxy")["llm-gateway"]["spec"]["provider"]["kubernetes"]
    svc = proxy["envoyService"]
    assert svc["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert svc["annotations"]["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] == cfg.tls.certificate_arn
    assert svc["loadBalancerSourceRanges"] == cfg.source_cidrs
    dep = proxy["envoyDeployment"]
    assert dep["replicas"] == 3 and {c["topologyKey"] for c in dep["pod"]["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    dev = objs(rendered("dev"), "EnvoyProxy")["llm-gateway"]["spec"]["provider"]["kubernetes"]["envoyService"]
    assert dev["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    assert "loadBalancerSourceRanges" not in dev
    listeners = {x["name"]: x for x in objs(r, "Gateway")["llm-gateway"]["spec"]["listeners"]}
    assert listeners["https"]["port"] == 443 and listeners["http"]["port"] == 80
    redirect = objs(r, "HTTPRoute")["https-redirect"]["spec"]
    assert redirect["parentRefs"] == [{"name": "llm-gateway", "sectionName": "http"}]
    assert redirect["rules"][0]["filters"][0]["requestRedirect"] == {"scheme": "https", "statusCode": 301}


def test_rate_limit_store(rendered):
    r = rendered("prod")
    (c,) = objs(r, "Deployment")["ratelimit-redis"]["spec"]["template"]["spec"]["containers"]
    assert c["image"] == versions.IMAGES["valkey"] and ["--save", ""] == c["args"][:2] and "no" in c["args"]
    assert "ratelimit-redis" in objs(r, "PodDisruptionBudget")
    (eg,) = [x for x in r.helm_releases() if x["name"] == "envoy-gateway"]
    chart = versions.CHARTS["envoy-gateway"]
    assert (eg["chart"], eg["repository"], eg["version"]) == (chart.chart, chart.repository, chart.version)
    assert eg["values"]["config"]["envoyGateway"]["rateLimit"]["backend"]["redis"]["url"] == \
        "ratelimit-redis.llm-gateway.svc.cluster.local:6379"
    (np,) = [o["spec"] for o in r.kubernetes_objects() if o["kind"] == "NetworkPolicy"
             and (o["metadata"]["namespace"], o["metadata"]["name"]) == ("llm-gateway", "ratelimit-redis")]
    assert np["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "envoy-gateway-system"}
    # Routes send to Backends in their own namespace: no ReferenceGrant into the tiers' namespace.
    assert not objs(r, "ReferenceGrant")


@pytest.mark.parametrize("stack", STACKS)
def test_gateway_resources_validate_against_the_crds(rendered, stack, crd_schemas):
    kinds = {"GatewayClass", "Gateway", "HTTPRoute", "Backend", "EnvoyProxy", "SecurityPolicy",
             "BackendTrafficPolicy", "PodMonitor"}
    found = [o for o in rendered(stack).kubernetes_objects() if o["kind"] in kinds]
    assert {o["kind"] for o in found} == kinds
    problems, skipped = validate.validate_objects(found, "1.34", crd_schemas)
    assert not problems and not skipped, problems


def test_removing_a_grant_removes_the_tenant_from_that_tier_only():
    values = stack_values("prod")
    values["tenants"][0]["tiers"] = ["chat-small"]   # search loses chat-large
    result = render_tool.render("prod", overrides=overrides(values))
    sp = objs(result, "SecurityPolicy")
    allowed = lambda t: [v for r in sp[t]["spec"]["authorization"]["rules"] if r["action"] == "Allow"  # noqa: E731
                         for h in r["principal"]["headers"] for v in h["values"]]
    assert "search" not in allowed("chat-large") and "search" in allowed("chat-small")


@pytest.mark.parametrize("tls,where,words", [
    ({"mode": "cert-manager"}, "gateway.tls.issuer", "required with tls.mode: cert-manager"),
    ({"mode": "cert-manager", "issuer": "letsencrypt", "certificateArn":
      "arn:aws:acm:us-east-1:111122223333:certificate/3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"},
     "gateway.tls.certificateArn", "only used with tls.mode: acm"),
    ({"mode": "acm", "issuer": "letsencrypt", "certificateArn":
      "arn:aws:acm:us-east-1:111122223333:certificate/3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"},
     "gateway.tls.issuer", "only used with tls.mode: cert-manager"),
    ({"mode": "cert-manager", "issuer": "Lets_Encrypt"}, "gateway.tls.issuer", "is not valid: must match"),
])
def test_tls_settings_are_checked(tls, where, words):
    from llm_tiers.config.schema import ConfigError
    values = stack_values("prod")
    values["gateway"]["tls"] = tls
    with pytest.raises(ConfigError, match=rf"{re.escape(where)}: .*({words})"):
        parse(values)


@pytest.fixture(scope="module")
def cert_manager_prod():
    values = stack_values("prod")
    values["gateway"]["tls"] = {"mode": "cert-manager", "issuer": "letsencrypt-dns"}
    return render_tool.render("prod", overrides=overrides(values))


def test_cert_manager_mode_terminates_tls_in_envoy_with_an_issued_certificate(cert_manager_prod):
    r = cert_manager_prod
    gw = objs(r, "Gateway")["llm-gateway"]
    assert gw["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt-dns",
                                             "pulumi.com/waitFor": "condition=Programmed",
                                             "aigateway.envoyproxy.io/gateway-config": "llm-gateway-aigw"}
    https = next(lst for lst in gw["spec"]["listeners"] if lst["name"] == "https")
    assert https["protocol"] == "HTTPS" and https["port"] == 443 and https["hostname"] == "llm.example.com"
    assert https["tls"] == {"mode": "Terminate", "certificateRefs": [{"group": "", "kind": "Secret",
                                                                      "name": gm.TLS_SECRET}]}
    service = objs(r, "EnvoyProxy")["llm-gateway"]["spec"]["provider"]["kubernetes"]["envoyService"]
    assert not any("ssl" in k for k in service["annotations"]), "the NLB passes TLS through to Envoy"
    releases = {rel["name"]: rel for rel in r.helm_releases()}
    cm = releases["cert-manager"]
    assert cm["version"] == versions.CHARTS["cert-manager"].version and cm["namespace"] == "cert-manager"
    assert cm["values"]["config"]["enableGatewayAPI"] is True and cm["values"]["crds"]["enabled"] is True
    for part in ("webhook", "cainjector", "startupapicheck"):
        assert cm["values"][part]["nodeSelector"] == {"llm-tiers.io/node-role": "system"}
    ns = objs(r, "Namespace")["cert-manager"]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    # The HTTP listener still redirects (cert-manager's Exact-path challenge route takes precedence).
    assert objs(r, "HTTPRoute")["https-redirect"]["spec"]["parentRefs"] == [{"name": "llm-gateway",
                                                                             "sectionName": "http"}]


def test_cert_manager_gateway_validates_against_the_crds(cert_manager_prod, crd_schemas):
    found = [o for o in cert_manager_prod.kubernetes_objects() if o["kind"] in ("Gateway", "EnvoyProxy")]
    problems, skipped = validate.validate_objects(found, "1.34", crd_schemas)
    assert len(found) == 2 and not problems and not skipped, problems


def test_acm_mode_installs_no_cert_manager(rendered):
    assert "cert-manager" not in {rel["name"] for rel in rendered("prod").helm_releases()}
    assert "cert-manager" not in objs(rendered("prod"), "Namespace")


def test_error_body_builder():
    body = json.loads(gm.openai_error("m", "t", "c"))
    assert body == {"error": {"message": "m", "type": "t", "param": None, "code": "c"}}


def test_envoy_proxies_are_scraped(rendered):
    pm = objs(rendered("prod"), "PodMonitor")["envoy-llm-gateway"]
    assert pm["metadata"]["namespace"] == "envoy-gateway-system"
    assert pm["spec"]["selector"]["matchLabels"]["gateway.envoyproxy.io/owning-gateway-namespace"] == "llm-gateway"
    assert pm["spec"]["podMetricsEndpoints"] == [{"port": "metrics", "path": "/stats/prometheus", "interval": "15s"}]


def test_two_gateways_on_one_cluster(tmp_path):
    """An internal and a public gateway: own namespaces and GatewayClasses, one controller and store."""
    import textwrap
    (tmp_path / "Pulumi.yaml").write_text("name: two-gateways\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent("""
        import pulumi
        from llm_tiers import Gateway, GatewayArgs
        tier = {"name": "chat", "model_id": "o/m", "gpu_class": "l4", "max_input_tokens": 1, "max_total_tokens": 2}
        tls = {"certificate_arn": "arn:aws:acm:us-east-1:111122223333:certificate/0d5a3c39-8b1e-4c0e-9f1f-3f6f1c2a9d01"}
        internal = Gateway("internal", GatewayArgs(settings={"hostname": "llm.corp.example.com", "tls": tls},
                                                   tiers=[tier], tenants=[{"name": "a", "tiers": ["chat"]}]))
        public = Gateway("public", GatewayArgs(
            settings={"hostname": "llm.example.com", "tls": tls, "load_balancer_scheme": "internet-facing",
                      "source_cidrs": ["0.0.0.0/0"]},
            tiers=[tier], tenants=[{"name": "b", "tiers": ["chat"]}], namespace="llm-public",
            gateway_class="llm-tiers-public", install_controller=False))
    """))
    result = render_tool.run_program("test", {"aws:region": "us-east-1"}, [], project_dir=tmp_path)
    keys = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in result.kubernetes_objects()]
    assert len(keys) == len(set(keys)), "no two objects share a kind, namespace and name"
    assert {k[2] for k in keys if k[0] == "GatewayClass"} == {"llm-tiers", "llm-tiers-public"}
    assert sorted(r["name"] for r in result.helm_releases()) == [
        "ai-gateway", "envoy-gateway", "internal-ai-gateway-crds", "internal-envoy-gateway-crds"]
    assert len([k for k in keys if k[:3:2] == ("Deployment", "ratelimit-redis")]) == 1, "one rate-limit store"
    assert {k[1] for k in keys if k[0] == "Deployment" and k[2] == "request-guard"} == {"llm-gateway", "llm-public"}


# ------------------------------------------------------------------------------ isolation of the gateway


def admits(policies: list[dict], namespace: str, pod: dict[str, str], port: int, *, src_ns: str | None = None,
           src_pod: dict[str, str] | None = None, src_ip: str | None = None,
           namespaces: dict[str, dict[str, str]] | None = None) -> bool:
    """Kubernetes NetworkPolicy ingress semantics, for the selector forms these policies use: a pod no policy
    selects admits everything; otherwise one rule of one selecting policy must match source and port."""
    import ipaddress

    def matches(selector: dict, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())

    ns_labels = lambda n: {"kubernetes.io/metadata.name": n, **(namespaces or {}).get(n, {})}  # noqa: E731
    selecting = [p for p in policies if p["metadata"]["namespace"] == namespace
                 and "Ingress" in p["spec"]["policyTypes"] and matches(p["spec"]["podSelector"], pod)]
    if not selecting:
        return True
    for p in selecting:
        for rule in p["spec"].get("ingress", []):
            if "ports" in rule and port not in [x["port"] for x in rule["ports"]]:
                continue
            if "from" not in rule:
                return True
            for peer in rule["from"]:
                if "ipBlock" in peer:
                    if src_ip and ipaddress.ip_address(src_ip) in ipaddress.ip_network(peer["ipBlock"]["cidr"]):
                        return True
                    continue
                if src_ns is None:
                    continue
                ns_ok = matches(peer["namespaceSelector"], ns_labels(src_ns)) if "namespaceSelector" in peer \
                    else src_ns == namespace
                if ns_ok and matches(peer.get("podSelector", {}), src_pod or {}):
                    return True
    return False


PROXY = {**gm.EG_PROXY, "app.kubernetes.io/name": "envoy", "gateway.envoyproxy.io/owning-gateway-name": "llm-gateway"}
CONTROLLER = {**gm.EG_CONTROLLER, "app.kubernetes.io/name": "gateway-helm"}
RATELIMIT = {**gm.EG_RATELIMIT, "app.kubernetes.io/component": "ratelimit"}
EG_NS = "envoy-gateway-system"


def test_envoy_gateway_namespace_admits_only_what_each_pod_serves(rendered):
    r = rendered("prod")
    policies = [o for o in r.kubernetes_objects() if o["kind"] == "NetworkPolicy"]
    gw = objs(r, "Gateway")["llm-gateway"]
    listener_ports = [lst["port"] + 10000 for lst in gw["spec"]["listeners"]]   # Envoy Gateway's port shift
    assert sorted(listener_ports) == sorted(gm.EG_PORTS["proxy-listeners"])
    client, node, elsewhere = "198.51.100.7", "10.30.3.4", "172.16.0.9"
    for port in listener_ports:
        assert admits(policies, EG_NS, PROXY, port, src_ip=client), "clients reach the listeners through the NLB"
    tier_pod = dict(src_ns="llm-tiers", src_pod={"llm-tiers.io/tier": "chat-small"})
    expectations = [
        # (pod, port, source, admitted)
        (PROXY, 19003, dict(src_ip=node), True), (PROXY, 19003, dict(src_ip=elsewhere), False),
        (PROXY, 19001, dict(src_ns="monitoring", src_pod={}), True), (PROXY, 19001, tier_pod, False),
        (PROXY, 19000, dict(src_ip=client), False),
        (CONTROLLER, 18000, dict(src_ns=EG_NS, src_pod=PROXY), True), (CONTROLLER, 18000, tier_pod, False),
        (CONTROLLER, 18000, dict(src_ip=client), False),
        (CONTROLLER, 18001, dict(src_ns=EG_NS, src_pod=RATELIMIT), True),
        (CONTROLLER, 18001, dict(src_ns=EG_NS, src_pod=PROXY), False),
        (CONTROLLER, 9443, dict(src_ip=node), True), (CONTROLLER, 9443, dict(src_ip=client), False),
        (RATELIMIT, 8081, dict(src_ns=EG_NS, src_pod=PROXY), True), (RATELIMIT, 8081, tier_pod, False),
        (RATELIMIT, 8081, dict(src_ns="llm-gateway", src_pod=PROXY), False),
        ({"app": "certgen"}, 443, dict(src_ip=node), False),     # anything else: default deny
    ]
    for pod, port, source, admitted in expectations:
        assert admits(policies, EG_NS, pod, port, **source) is admitted, (pod, port, source)
    redis = {"app.kubernetes.io/name": "ratelimit-redis"}
    assert admits(policies, "llm-gateway", redis, 6379, src_ns=EG_NS, src_pod=RATELIMIT)
    assert not admits(policies, "llm-gateway", redis, 6379, src_ns=EG_NS, src_pod=PROXY)
    assert not admits(policies, "llm-gateway", redis, 6379, **tier_pod)


@pytest.mark.parametrize("stack", STACKS)
def test_tiers_accept_http_only_from_the_proxies_namespace_and_prometheus(rendered, stack):
    r = rendered(stack)
    policies = [o for o in r.kubernetes_objects() if o["kind"] == "NetworkPolicy"]
    for t in parse(stack_values(stack)).tiers:
        pod = {"llm-tiers.io/tier": t.name, "llm-tiers.io/component": "server", "llm-tiers.io/release": "live"}
        # The tier policy names its port; "http" is TGI's port 80.
        (policy,) = [p for p in policies if (p["metadata"]["namespace"], p["metadata"]["name"]) == ("llm-tiers",
                                                                                                    t.name)]
        assert all(p["port"] == "http" for rule in policy["spec"]["ingress"] for p in rule["ports"])
        resolved = dict(policy, spec=dict(policy["spec"], ingress=[
            dict(rule, ports=[{"port": 80, "protocol": "TCP"}]) for rule in policy["spec"]["ingress"]]))
        named = [resolved if p is policy else p for p in policies]
        assert admits(named, "llm-tiers", pod, 80, src_ns=EG_NS, src_pod=PROXY)
        assert not admits(named, "llm-tiers", pod, 80, src_ns=EG_NS, src_pod=CONTROLLER), "proxies only"
        assert admits(named, "llm-tiers", pod, 80, src_ns="monitoring", src_pod={})
        assert not admits(named, "llm-tiers", pod, 80, src_ns="llm-gateway", src_pod={})
        assert not admits(named, "llm-tiers", pod, 80, src_ns="default", src_pod={})
        assert not admits(named, "llm-tiers", pod, 80, src_ip="10.0.0.1")
