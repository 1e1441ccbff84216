"""The API's DNS name: ExternalDNS keeps it when a stack configures `gateway.dns` (prod), otherwise the stack
outputs the NLB's name and README documents the one manual step (dev, staging). Asserted on rendered objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_tiers.gateway import dns
from llm_tiers import versions
from llm_tiers.config.schema import ConfigError
from llm_tiers.stack.parse import parse
from conftest import overrides, stack_values
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import rollout

ROOT = Path(__file__).resolve().parents[1]
ZONE = "Z0EXAMPLE1234567890AB"

# Top-level keys of kubernetes-sigs/external-dns charts/external-dns/values.yaml at tag
# external-dns-helm-chart-1.21.1 (read from upstream at that tag), with the sub-keys of the
# objects the program sets below them. Re-read them when versions.CHARTS["external-dns"] moves.
EXTERNAL_DNS_VALUES_KEYS = {
    "affinity", "annotationFilter", "annotationPrefix", "automountServiceAccountToken", "commonLabels",
    "deploymentAnnotations", "deploymentStrategy", "dnsConfig", "dnsPolicy", "domainFilters",
    "enableGatewayListenerSets", "enabled", "env", "excludeDomains", "extraArgs", "extraContainers",
    "extraVolumeMounts", "extraVolumes", "fullnameOverride", "gatewayNamespace", "global", "image",
    "imagePullSecrets", "initContainers", "interval", "labelFilter", "livenessProbe", "logFormat", "logLevel",
    "managedRecordTypes", "nameOverride", "namespaceOverride", "namespaced", "nodeSelector", "podAnnotations",
    "podLabels", "podSecurityContext", "policy", "priorityClassName", "provider", "rbac", "readinessProbe",
    "registry", "resources", "revisionHistoryLimit", "secretConfiguration", "securityContext", "service",
    "serviceAccount", "serviceMonitor", "shareProcessNamespace", "sourceNamespace", "sources",
    "terminationGracePeriodSeconds", "tolerations", "topologySpreadConstraints", "triggerLoopOnEvent",
    "txtOwnerId", "txtPrefix", "txtSuffix",
}
EXTERNAL_DNS_SUBKEYS = {"provider": {"name", "webhook"},
                        "serviceAccount": {"create", "labels", "annotations", "name", "automountServiceAccountToken"}}
# Flags of ExternalDNS v0.21.0 (pkg/apis/externaldns/types.go) the program passes through extraArgs.
EXTERNAL_DNS_FLAGS = {"gateway-name", "zone-id-filter"}


def _release(r, name):
    return next((x for x in r.helm_releases() if x["name"] == name), None)


def _aws(r, type_, name_part):
    return [e for e in r.aws_resources() if e["type"] == type_ and name_part in e["name"]]


# ---------------------------------------------------------------------------------------------- ExternalDNS (prod)


def test_the_role_may_change_only_the_hostnames_records_in_the_one_zone(rendered):
    r = rendered("prod")
    (policy,) = _aws(r, "aws:iam/rolePolicy:RolePolicy", "external-dns")
    doc = json.loads(policy["inputs"]["policy"])
    by_action = {s["Action"]: s for s in doc["Statement"]}
    assert set(by_action) == {"route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets",
                              "route53:ListHostedZones"}
    zone_arn = f"arn:aws:route53:::hostedzone/{ZONE}"
    assert by_action["route53:ChangeResourceRecordSets"]["Resource"] == zone_arn
    assert by_action["route53:ListResourceRecordSets"]["Resource"] == zone_arn
    assert by_action["route53:ListHostedZones"]["Resource"] == "*"  # a list action: IAM cannot scope it
    names = by_action["route53:ChangeResourceRecordSets"]["Condition"]["ForAllValues:StringEquals"][
        "route53:ChangeResourceRecordSetsNormalizedRecordNames"]
    # Every name the routes attached to the Gateway carry is allowed, with its TXT ownership records; no other.
    routes = [o for o in r.kubernetes_objects() if o["kind"] == "HTTPRoute"
              and any(p["name"] == "llm-gateway" for p in o["spec"]["parentRefs"])]
    hostnames = {h for o in routes for h in o["spec"]["hostnames"]}
    assert hostnames == {"llm.example.com"}
    assert sorted(names) == ["a-llm.example.com", "aaaa-llm.example.com", "cname-llm.example.com", "llm.example.com"]
    (role,) = _aws(r, "aws:iam/role:Role", "external-dns")
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert "sts:TagSession" in trust["Action"]


def test_pod_identity_binds_the_role_to_externaldns_service_account(rendered):
    r = rendered("prod")
    (assoc,) = _aws(r, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "external-dns")
    assert assoc["inputs"]["namespace"] == "external-dns" and assoc["inputs"]["serviceAccount"] == "external-dns"
    assert assoc["inputs"]["clusterName"] == "llm-prod"
    assert assoc["inputs"]["roleArn"] == "arn:aws:iam::111122223333:role/llm-prod-external-dns"
    values = _release(r, "external-dns")["values"]
    assert values["serviceAccount"] == {"create": True, "name": "external-dns"}


def test_externaldns_publishes_this_gateways_routes_in_the_configured_zone(rendered):
    r = rendered("prod")
    rel = _release(r, "external-dns")
    chart = versions.CHARTS["external-dns"]
    assert (rel["namespace"], rel["chart"], rel["repository"], rel["version"]) == (
        "external-dns", chart.chart, chart.repository, chart.version)
    v = rel["values"]
    assert v["provider"] == {"name": "aws"} and v["sources"] == ["gateway-httproute"]
    gateway = r.objects_named("Gateway")["llm-gateway"]
    assert v["gatewayNamespace"] == gateway["metadata"]["namespace"]
    assert v["extraArgs"] == {"gateway-name": gateway["metadata"]["name"], "zone-id-filter": ZONE}
    assert v["domainFilters"] == ["example.com"]
    assert v["policy"] == "upsert-only" and v["registry"] == "txt" and v["txtOwnerId"] == "llm-prod"
    assert v["env"] == [{"name": "AWS_DEFAULT_REGION", "value": "us-east-1"}]
    assert v["nodeSelector"] == {"llm-tiers.io/node-role": "system"}
    # The listeners carry the hostname the routes narrow to (docs/sources/gateway.md, "Matching listeners").
    assert {listener["hostname"] for listener in gateway["spec"]["listeners"]} == {"llm.example.com"}
    ns = r.objects_named("Namespace")["external-dns"]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    policy = next(o for o in r.kubernetes_objects() if o["kind"] == "NetworkPolicy"
                  and o["metadata"]["namespace"] == "external-dns" and o["metadata"]["name"] == "external-dns")
    assert [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]] == [7979, 7979]


def test_every_chart_key_exists_in_the_pinned_chart(rendered):
    v = _release(rendered("prod"), "external-dns")["values"]
    assert set(v) <= EXTERNAL_DNS_VALUES_KEYS, set(v) - EXTERNAL_DNS_VALUES_KEYS
    for key, sub in EXTERNAL_DNS_SUBKEYS.items():
        assert set(v.get(key, {})) <= sub, key
    assert set(v["extraArgs"]) <= EXTERNAL_DNS_FLAGS


def test_externaldns_starts_after_the_gateway_api_crds_and_its_identity(rendered):
    r = rendered("prod")
    plan = rollout.plan("prod", r.recording)
    (release,) = [x for x in r.custom_resources if x.type == "kubernetes:helm.sh/v3:Release"
                  and x.name == "dns-external-dns"]
    ancestors = plan.ancestors(release.urn)
    labels = {plan.steps[u].label for u in ancestors}
    assert any("gateway-envoy-gateway-crds" in label for label in labels), labels
    assert any("PodIdentityAssociation dns-external-dns" == label for label in labels), labels
    assert any(label.startswith("Namespace") and "external-dns" in label for label in labels), labels


def test_the_nlb_and_the_record_point_at_the_same_address(rendered):
    r = rendered("prod")
    out = r.outputs()
    proxy = r.objects_named("EnvoyProxy")["llm-gateway"]["spec"]["provider"]["kubernetes"]["envoyService"]
    assert proxy["type"] == "LoadBalancer"
    assert proxy["loadBalancerClass"] == "service.k8s.aws/nlb"
    assert proxy["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert out["gatewayAddress"].endswith(".elb.us-east-1.amazonaws.com")
    assert out["dns"] == {"hostname": "llm.example.com", "target": out["gatewayAddress"], "managedBy": "external-dns",
                          "hostedZoneId": ZONE, "txtOwnerId": "llm-prod", "policy": "upsert-only"}


def test_txt_owner_id_can_be_set():
    values = stack_values("prod")
    values["gateway"]["dns"]["txtOwnerId"] = "shared-zone-prod"
    r = render_tool.render("prod", overrides=overrides(values))
    assert _release(r, "external-dns")["values"]["txtOwnerId"] == "shared-zone-prod"
    assert r.outputs()["dns"]["txtOwnerId"] == "shared-zone-prod"


# ---------------------------------------------------------------------------------------------- manual (dev, staging)


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_without_dns_config_the_stack_outputs_the_address_and_the_step(rendered, stack):
    r = rendered(stack)
    assert _release(r, "external-dns") is None
    assert not _aws(r, "aws:iam/role:Role", "external-dns")
    assert "external-dns" not in r.objects_named("Namespace")
    assert "route53" not in json.dumps(r.aws_resources())
    out = r.outputs()
    hostname = stack_values(stack)["gateway"]["hostname"]
    assert out["gatewayAddress"].endswith(".elb.us-east-1.amazonaws.com")
    assert out["dns"]["managedBy"] == "manual" and out["dns"]["target"] == out["gatewayAddress"]
    assert hostname in out["dns"]["step"] and "CNAME" in out["dns"]["step"]


def test_readme_documents_the_manual_record_and_the_address_lookup():
    readme = (ROOT / "README.md").read_text()
    first_day = readme.split("## First day", 1)[1].split("\n## ", 1)[0]
    assert "pulumi stack output gatewayAddress" in first_day
    assert ("kubectl get gateway -n llm-gateway llm-gateway -o jsonpath='{.status.addresses[0].value}'"
            in first_day)
    assert "CNAME" in first_day and "gateway.dns" in first_day
    for words in ("port-forward svc/kube-prometheus-stack-grafana", "grafana-admin", "admin-password",
                  "port-forward svc/kube-prometheus-stack-alertmanager", "tenantKeySecretArns"):
        assert words in first_day, words


# ---------------------------------------------------------------------------------------------- config and pure


def _gateway(**dns_values):
    values = stack_values("prod")
    values["gateway"]["dns"] = dns_values
    return values


def test_a_hostname_outside_the_zone_is_refused_at_its_key_path():
    with pytest.raises(ConfigError) as info:
        parse(_gateway(hostedZoneId=ZONE, zoneName="example.org"))
    assert "gateway.dns.zoneName: gateway.hostname llm.example.com is not in zone example.org" in str(info.value)
    with pytest.raises(ConfigError, match=r"gateway\.dns\.hostedZoneId: .*Route 53 hosted zone id"):
        parse(_gateway(hostedZoneId="/hostedzone/Z123", zoneName="example.com"))
    with pytest.raises(ConfigError, match=r"gateway\.dns\.zoneName: required key is missing"):
        parse(_gateway(hostedZoneId=ZONE))
    assert parse(_gateway(hostedZoneId=ZONE, zoneName="llm.example.com")).gateway.dns.zone_name == "llm.example.com"


def test_a_refused_dns_config_registers_nothing():
    with pytest.raises(render_tool.RenderError) as info:
        render_tool.render("prod", overrides=overrides(_gateway(hostedZoneId=ZONE, zoneName="example.org")))
    assert info.value.recording.resources == []


def test_record_names_follow_the_txt_registrys_naming():
    assert dns.record_names(["api.llm.example.com"]) == [
        "a-api.llm.example.com", "aaaa-api.llm.example.com", "api.llm.example.com", "cname-api.llm.example.com"]
    doc = json.loads(dns.policy("Z1", ["x.example.com"], partition="aws-cn"))
    assert {s["Resource"] for s in doc["Statement"]} == {"arn:aws-cn:route53:::hostedzone/Z1", "*"}


def test_the_system_capacity_check_counts_externaldns_only_when_it_runs():
    from llm_tiers.stack import system_capacity as sc
    with_dns = {w.name for w in sc.system_workloads(parse(stack_values("prod")))}
    without = {w.name for w in sc.system_workloads(parse(stack_values("staging")))}
    assert "external-dns" in with_dns and "external-dns" not in without
