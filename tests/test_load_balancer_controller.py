"""The NLB as rendered: the AWS Load Balancer Controller installed and scoped, the gateway's Service carrying
only annotations that controller reads, per scheme and TLS mode, and the NLB deleted before its controller
(issue #16, defect 7)."""

from __future__ import annotations

import functools
import json

import pytest

from conftest import overrides, stack_values
from llm_tiers import versions
from llm_tiers.gateway import load_balancer_controller as lbc
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import rollout

P = "service.beta.kubernetes.io/"
# Service annotations of kubernetes-sigs/aws-load-balancer-controller v3.5.0 (pkg/annotations/constants.go,
# SvcLBSuffix*), written out from the source, not imported from the program.
LBC_SERVICE_ANNOTATIONS = {P + a for a in (
    "aws-load-balancer-type", "aws-load-balancer-internal", "aws-load-balancer-proxy-protocol",
    "aws-load-balancer-ip-address-type", "aws-load-balancer-name", "aws-load-balancer-scheme",
    "aws-load-balancer-nlb-target-type", "aws-load-balancer-subnets", "aws-load-balancer-ssl-cert",
    "aws-load-balancer-ssl-ports", "aws-load-balancer-ssl-negotiation-policy", "aws-load-balancer-backend-protocol",
    "aws-load-balancer-additional-resource-tags", "aws-load-balancer-healthcheck-protocol",
    "aws-load-balancer-healthcheck-port", "aws-load-balancer-healthcheck-path",
    "aws-load-balancer-healthcheck-interval", "aws-load-balancer-healthcheck-timeout",
    "aws-load-balancer-healthcheck-healthy-threshold", "aws-load-balancer-healthcheck-unhealthy-threshold",
    "aws-load-balancer-target-group-attributes", "aws-load-balancer-attributes",
    "aws-load-balancer-security-groups", "aws-load-balancer-manage-backend-security-group-rules")}
# Annotations that only the legacy in-tree controller acts on once a Service has a class (it never sees this
# one), or that the AWS Load Balancer Controller reads only without a class.
NOT_WITH_A_CLASS = {P + "aws-load-balancer-type", P + "aws-load-balancer-internal",
                    P + "aws-load-balancer-cross-zone-load-balancing-enabled"}
# Top-level keys of helm/aws-load-balancer-controller/values.yaml at v3.5.0 that the program sets, and the
# keys under the ones it sets as maps (read from the chart at that tag).
CHART_KEYS = {"clusterName", "region", "vpcId", "replicaCount", "serviceAccount", "nodeSelector", "resources",
              "podDisruptionBudget", "enableServiceMutatorWebhook", "createIngressClassResource", "controllerConfig",
              "affinity", "configureDefaultAffinity", "tolerations", "defaultTargetType", "loadBalancerClass",
              "enablePodReadinessGateInject", "podLabels", "priorityClassName", "image", "logLevel"}
CHART_SUBKEYS = {"serviceAccount": {"annotations", "automountServiceAccountToken", "create", "imagePullSecrets",
                                    "name"},
                 "controllerConfig": {"featureGates"}}
# docs/deploy/configurations.md "Feature Gates" at v3.5.0.
FEATURE_GATES = {"ListenerRulesTagging", "WeightedTargetGroups", "ServiceTypeLoadBalancerOnly", "EndpointsFailOpen",
                 "EnableServiceController", "EnableIPTargetType", "EnableRGTAPI", "SubnetsClusterTagCheck",
                 "NLBHealthCheckAdvancedConfiguration", "ALBSingleSubnet", "NLBSecurityGroup",
                 "LBCapacityReservation", "EnableTCPUDPListenerType", "GlobalAcceleratorController",
                 "EnhancedDefaultBehavior", "EnableDefaultTagsLowPriority", "SubnetDiscoveryByReachability",
                 "NLBGatewayAPI", "ALBGatewayAPI", "GatewayListenerSet", "ALBTargetControlAgent",
                 "EnableCertificateManagement", "IngressPlanAnnotation"}
CERT_MANAGER_TLS = {"mode": "cert-manager", "issuer": "letsencrypt-dns"}


@functools.lru_cache(maxsize=None)
def _render(stack: str, scheme: str, tls_mode: str) -> render_tool.RenderResult:
    values = stack_values(stack)
    values["gateway"]["loadBalancerScheme"] = scheme
    if scheme == "internet-facing":
        values["gateway"]["sourceCidrs"] = ["198.51.100.0/24"]
    if tls_mode == "cert-manager":
        values["gateway"]["tls"] = dict(CERT_MANAGER_TLS)
    return render_tool.render(stack, overrides=overrides(values))


def _service(r) -> dict:
    return r.objects_named("EnvoyProxy")["llm-gateway"]["spec"]["provider"]["kubernetes"]["envoyService"]


@pytest.mark.parametrize("scheme", ["internal", "internet-facing"])
@pytest.mark.parametrize("tls_mode", ["acm", "cert-manager"])
def test_the_service_is_the_controllers_and_says_the_configured_scheme(scheme, tls_mode):
    r = _render("staging", scheme, tls_mode)
    svc = _service(r)
    a = svc["annotations"]
    assert svc["type"] == "LoadBalancer" and svc["loadBalancerClass"] == "service.k8s.aws/nlb"
    assert set(a) <= LBC_SERVICE_ANNOTATIONS and not set(a) & NOT_WITH_A_CLASS, set(a) - LBC_SERVICE_ANNOTATIONS
    assert a[P + "aws-load-balancer-scheme"] == scheme
    assert a[P + "aws-load-balancer-nlb-target-type"] == "ip" and svc["allocateLoadBalancerNodePorts"] is False
    assert a[P + "aws-load-balancer-attributes"] == "load_balancing.cross_zone.enabled=true"
    # Client addresses reach Envoy, and the NLB's security group filters on them.
    assert a[P + "aws-load-balancer-target-group-attributes"] == "preserve_client_ip.enabled=true"
    assert (a[P + "aws-load-balancer-healthcheck-protocol"], a[P + "aws-load-balancer-healthcheck-port"],
            a[P + "aws-load-balancer-healthcheck-path"]) == ("HTTP", "19003", "/ready")
    tls_keys = {P + "aws-load-balancer-ssl-cert", P + "aws-load-balancer-ssl-ports",
                P + "aws-load-balancer-ssl-negotiation-policy", P + "aws-load-balancer-backend-protocol"}
    if tls_mode == "acm":
        arn = stack_values("staging")["gateway"]["tls"]["certificateArn"]
        assert {k: a[k] for k in tls_keys} == {
            P + "aws-load-balancer-ssl-cert": arn, P + "aws-load-balancer-ssl-ports": "443",
            P + "aws-load-balancer-ssl-negotiation-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
            P + "aws-load-balancer-backend-protocol": "tcp"}
    else:
        assert not set(a) & tls_keys, "cert-manager: the NLB passes TLS through to Envoy"
    if scheme == "internet-facing":
        assert svc["loadBalancerSourceRanges"] == ["198.51.100.0/24"]
    else:
        assert "loadBalancerSourceRanges" not in svc


def test_every_stack_gets_the_scheme_it_configures(rendered):
    for stack in ("dev", "staging", "prod"):
        want = stack_values(stack)["gateway"].get("loadBalancerScheme", "internal")
        assert _service(rendered(stack))["annotations"][P + "aws-load-balancer-scheme"] == want, stack


def test_the_controller_is_installed_pinned_and_placed(rendered):
    r = rendered("prod")
    (rel,) = [h for h in r.helm_releases() if h["name"] == "aws-load-balancer-controller"]
    chart = versions.CHARTS["aws-load-balancer-controller"]
    assert (rel["chart"], rel["repository"], rel["version"]) == (chart.chart, chart.repository, chart.version)
    v = rel["values"]
    (vpc,) = r.of_type("aws:ec2/vpc:Vpc")
    (cluster,) = r.of_type("aws:eks/cluster:Cluster")
    assert v["vpcId"] == vpc.id
    assert v["clusterName"] == cluster.inputs["name"] and v["region"] == "us-east-1"
    assert v["nodeSelector"] == {"llm-tiers.io/node-role": "system"} and v["replicaCount"] == 2
    assert v["enableServiceMutatorWebhook"] is False and v["createIngressClassResource"] is False
    assert v["controllerConfig"]["featureGates"] == {"ALBGatewayAPI": False, "NLBGatewayAPI": False,
                                                     "ServiceTypeLoadBalancerOnly": True}
    (identity,) = [x for x in r.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                   if x.inputs["serviceAccount"] == v["serviceAccount"]["name"]]
    assert identity.inputs["namespace"] == rel["namespace"] == "kube-system"
    # The pod readiness gate: Envoy's namespace asks the controller's webhook for it.
    ns = r.objects_named("Namespace")["envoy-gateway-system"]
    assert ns["metadata"]["labels"]["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"


def test_every_chart_key_exists_in_the_pinned_chart(rendered):
    (rel,) = [h for h in rendered("prod").helm_releases() if h["name"] == "aws-load-balancer-controller"]
    v = rel["values"]
    assert set(v) <= CHART_KEYS, set(v) - CHART_KEYS
    for key, sub in CHART_SUBKEYS.items():
        assert set(v.get(key, {})) <= sub, key
    assert set(v["controllerConfig"]["featureGates"]) <= FEATURE_GATES


def _statements(r):
    (pol,) = [x for x in r.of_type("aws:iam/rolePolicy:RolePolicy") if "lb-controller" in str(x.inputs.get("role"))
              or x.name.startswith("load-balancers")]
    doc = pol.inputs["policy"]
    return json.loads(doc)["Statement"] if isinstance(doc, str) else doc["Statement"]


def test_iam_policy_is_scoped_to_this_cluster_and_vpc(rendered):
    r = rendered("prod")
    statements = _statements(r)
    (cluster,) = r.of_type("aws:eks/cluster:Cluster")
    name = cluster.inputs["name"]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    # No ALB Ingress extras.
    assert not {a for a in actions if a.split(":")[0] in ("wafv2", "waf-regional", "shield", "cognito-idp", "acm")}
    for s in statements:
        acts = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        mutating = [a for a in acts if not a.split(":")[1].startswith(("Describe", "Get"))]
        if not mutating:
            continue
        cond = json.dumps(s.get("Condition", {}))
        resources = [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
        scoped = name in cond or any("vpc/vpc-" in x for x in resources) or "vpc/vpc-" in cond
        allowed_unscoped = s["Sid"] in ("ServiceLinkedRole", "Listeners")
        assert scoped or allowed_unscoped, s["Sid"]
        if s["Sid"] == "Listeners":
            assert all(":loadbalancer/net/" in x or ":listener/net/" in x for x in resources)
        if s["Sid"] == "ServiceLinkedRole":
            assert s["Condition"] == {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}
    # Deleting NLBs and security groups: only those tagged for this cluster.
    for sid in ("ManageOwnLoadBalancers", "ManageOwnSecurityGroups"):
        (s,) = [x for x in statements if x["Sid"] == sid]
        assert s["Condition"] == {"StringEquals": {"aws:ResourceTag/elbv2.k8s.aws/cluster": name}}


def test_the_nlb_exists_only_while_its_controller_does(rendered):
    """Create: the EnvoyProxy (whose Service becomes the NLB) after the controller, its role policy and identity.
    Destroy: the guard the Service blocks on (blockOwnerDeletion) goes before them, and the VPC after them."""
    r = rendered("prod")
    plan = rollout.plan("prod", r.recording)
    lbc_parts = {x.urn for x in r.custom_resources
                 if x.name in ("load-balancers-release", "load-balancers-identity", "load-balancers-policy")}
    assert len(lbc_parts) == 3
    (proxy,) = [x for x in r.custom_resources if x.inputs.get("kind") == "EnvoyProxy"]
    (guard,) = [x for x in r.of_type("kubernetes:core/v1:ConfigMap") if x.name == "gateway-nlb-guard"]
    assert lbc_parts <= plan.ancestors(proxy.urn) and guard.urn in plan.ancestors(proxy.urn)
    assert lbc_parts <= plan.ancestors(guard.urn), "the guard is deleted (waiting for the NLB) before the controller"
    subnets = {x.urn for x in r.of_type("aws:ec2/subnet:Subnet")}
    assert subnets <= plan.ancestors(guard.urn), "the subnets outlive the NLB"
    owner, = _service(r)["patch"]["value"]["metadata"]["ownerReferences"]
    g = r.objects_named("ConfigMap")[owner["name"]]
    assert owner["kind"] == "ConfigMap" and owner["blockOwnerDeletion"] is True and owner["uid"]
    # A namespaced owner must be in its dependent's namespace: Envoy Gateway creates the Service in its own.
    assert g["metadata"]["namespace"] == "envoy-gateway-system"
    assert plan.steps[guard.urn].delete_wave < min(plan.steps[u].delete_wave for u in lbc_parts)


def test_service_annotations_refuse_unknown_modes():
    with pytest.raises(ValueError):
        lbc.service_annotations("public", "acm", "arn:aws:acm:us-east-1:1:certificate/x", 19003)
    with pytest.raises(ValueError):
        lbc.service_annotations("internal", "acm", None, 19003)
