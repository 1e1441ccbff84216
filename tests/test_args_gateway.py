"""Gateway, Dns and LoadBalancerController take typed args and check them as the stack's loader checks a stack file
(issue 27): a bad arg is refused at its ``args.`` path before anything is registered, and each constructs through
the component provider from plain camelCase inputs (what a TypeScript, Go or YAML program passes)."""

from __future__ import annotations

import pytest

from llm_tiers.stack.parse import parse
from llm_tiers.gateway import rules
from llm_tiers.preview import render as render_tool
from test_component_args import run
from test_provider import construct, constructed

ARN = "arn:aws:acm:us-east-1:111122223333:certificate/0d5a3c39-8b1e-4c0e-9f1f-3f6f1c2a9d01"
TIER = {"name": "chat", "model_id": "Qwen/Qwen2.5-7B-Instruct", "gpu_class": "l4", "max_input_tokens": 4096,
        "max_total_tokens": 8192}


def gateway_args(**over):
    args = {"settings": {"hostname": "llm.example.com", "tls": {"certificate_arn": ARN}}, "tiers": [dict(TIER)],
            "tenants": [{"name": "me", "tiers": ["chat"]}]}
    return {**args, **over}


def paths(issues):
    return {i.path for i in issues}


def refused(tmp_path, body: str) -> str:
    with pytest.raises(render_tool.RenderError) as exc:
        run(tmp_path, body)
    assert not exc.value.recording.resources, "registered before the args were checked: " + ", ".join(
        r.type for r in exc.value.recording.resources)
    return str(exc.value)


# ------------------------------------------------------------------------------ the issue's composed Gateway

SINGLE_TIER = """
from llm_tiers import Gateway, GatewayArgs
Gateway("gateway", GatewayArgs(
    settings={{"hostname": "llm.example.com", "load_balancer_scheme": "internet-facing",
              "tls": {{"certificate_arn": {arn!r}}}{extra}}},
    tiers=[{tier!r}], tenants=[{{"name": "me", "tiers": [{grant!r}]}}], monitoring=False))
"""


def test_internet_facing_without_source_cidrs_and_a_grant_of_no_tier_are_refused(tmp_path):
    """The issue's defect: composed like examples/single-tier but internet-facing with no source CIDRs (an NLB open
    to 0.0.0.0/0), and a tenant granted a tier that does not exist. Both named, nothing registered."""
    message = refused(tmp_path, SINGLE_TIER.format(arn=ARN, tier=TIER, grant="chta", extra=""))
    assert message.startswith("Gateway 'gateway': 2 problem(s) in its args"), message
    assert "  - args.settings.source_cidrs: required when loadBalancerScheme is internet-facing" in message
    assert "  - args.tenants[0].tiers[0]: unknown tier 'chta'; tiers are: chat" in message


def test_internet_facing_with_source_cidrs_renders_them_on_the_nlb(tmp_path):
    result = run(tmp_path, SINGLE_TIER.format(arn=ARN, tier=TIER, grant="chat",
                                              extra=', "source_cidrs": ["203.0.113.0/24"]'))
    proxy = next(o for o in result.kubernetes_objects() if o["kind"] == "EnvoyProxy")
    service = proxy["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert service["loadBalancerSourceRanges"] == ["203.0.113.0/24"]


def test_the_single_tier_example_keeps_its_nlb_internal():
    """examples/single-tier: an internal NLB (what it intends: a cluster you already have, nothing opened to the
    internet), as its args now say explicitly."""
    result = render_tool.render_example("single-tier")
    proxy = next(o for o in result.kubernetes_objects() if o["kind"] == "EnvoyProxy")
    service = proxy["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"


# ------------------------------------------------------------------------------ Gateway: every rule at its path


def test_a_composed_gateway_refuses_every_bad_arg_at_its_path(tmp_path):
    tiers = [dict(TIER, aliases=["qwen"], fallback={"model": "qwen", "api_key_secret": "k",
                                                     "base_url": "https://api.openai.com/v1"}),
             dict(TIER, name="code", aliases=["qwen"]), dict(TIER, name="chat")]
    body = f"""
from llm_tiers import Gateway, GatewayArgs
Gateway("gateway", GatewayArgs(
    settings={{"hostname": "llm.example.com", "tls": {{"mode": "cert-manager", "certificate_arn": {ARN!r}}},
              "source_cidrs": ["10.0.0.0/33"], "features": ["search", "other", "search"], "replicas": 1}},
    tiers={tiers!r},
    tenants=[{{"name": "a", "tiers": ["chat", "nope"]}}, {{"name": "a", "tiers": ["chat"]}}],
    namespace="LLM", node_cidrs=["10.0.0.1/16"], trace_to={{"name": "otel", "namespace": "monitoring", "port": 0}},
    trace_sampling_percent=101))
"""
    message = refused(tmp_path, body)
    for path in ["args.settings.replicas"]:  # the model's own checks come first: the sections are not checked further
        assert f"  - {path}:" in message, message
    # With the sections valid, the stack loader's rules run on them.
    body = body.replace(', "replicas": 1', "").replace('"10.0.0.0/33"', '"10.0.0.0/8", "10.1.0.0/33"')
    message = refused(tmp_path, body)
    for path in ["args.settings.tls.issuer", "args.settings.tls.certificate_arn", "args.settings.features[1]",
                 "args.settings.features[2]", "args.tiers[2].name", "args.tiers[1].aliases[0]",
                 "args.tiers[0].fallback.model", "args.tenants[0].tiers[1]", "args.tenants[1].name",
                 "args.namespace", "args.node_cidrs[0]", "args.trace_to.port", "args.trace_sampling_percent"]:
        assert f"  - {path}:" in message, f"{path} not named in:\n{message}"


def test_bad_shapes_are_named_with_a_guess(tmp_path):
    message = refused(tmp_path, f"""
from llm_tiers import Gateway, GatewayArgs
Gateway("gateway", GatewayArgs(settings={{"hostname": "llm.example.com"}}, tiers=[{TIER!r}], tenant=[],
                               monitoring="yes"))
""")
    assert "  - args.tenant: unknown key; did you mean `tenants`?" in message, message
    assert "  - args.tenants: required" in message
    assert "  - args.monitoring: must be true or false" in message


def test_tier_services_must_name_the_args_tiers(tmp_path):
    message = refused(tmp_path, f"""
import pulumi_random as random
from llm_tiers import Gateway, GatewayArgs
Gateway("gateway", GatewayArgs(settings={{"hostname": "llm.example.com", "tls": {{"certificate_arn": {ARN!r}}}}},
                               tiers=[{TIER!r}], tenants=[]),
        tier_services={{"caht": None}})
""")
    assert "  - tier_services.caht: 'caht' is not a tier in args.tiers (chat)" in message, message


def test_the_rules_are_the_stack_loaders_at_args_paths():
    """Every gateway/tenant problem the loader finds in a stack, the Gateway finds in the same sections (pure)."""
    stack = {"clusterName": "c", "environment": "dev",
             "gateway": {"hostname": "llm.example.com", "loadBalancerScheme": "internet-facing",
                         "tls": {"certificateArn": ARN}},
             "tiers": [{"name": "chat", "modelId": "o/m", "gpuClass": "l4", "maxInputTokens": 1, "maxTotalTokens": 2}],
             "tenants": [{"name": "a", "tiers": ["code"]}],
             "gpuClasses": {"l4": {"instanceTypes": ["g6.xlarge"], "maxGpus": 4}}}
    from llm_tiers.config.schema import ConfigError

    with pytest.raises(ConfigError) as exc:
        parse(stack)
    loader = {rules.args_path(i.path) for i in exc.value.issues
              if i.path.startswith(("gateway", "tenants"))}
    assert loader == {"args.settings.source_cidrs", "args.tenants[0].tiers[0]"}
    found = rules.gateway_args_issues(gateway_args(
        settings={"hostname": "llm.example.com", "load_balancer_scheme": "internet-facing",
                  "tls": {"certificate_arn": ARN}},
        tiers=[{"name": "chat", "model_id": "o/m", "gpu_class": "l4", "max_input_tokens": 1, "max_total_tokens": 2}],
        tenants=[{"name": "a", "tiers": ["code"]}]))
    assert paths(found) == loader


def test_args_path_maps_stack_keys_to_python_names():
    assert rules.args_path("gateway.tls.certificateArn") == "args.settings.tls.certificate_arn"
    assert rules.args_path("tenants[3].tiers[1]") == "args.tenants[3].tiers[1]"
    assert rules.args_path("tiers[0].aliases") == "args.tiers[0].aliases"
    assert rules.args_path("tenants") == "args.tenants"


def test_route_limits_are_refused_before_anything_is_registered():
    """aigw.limit_issues: a tier that alone is over a per-object limit (here: too many aliases for one rule)."""
    tier = dict(TIER, aliases=[f"alias-{i:03d}-{'x' * 40}" for i in range(64)])
    found = rules.gateway_args_issues(gateway_args(tiers=[tier]))
    assert "args.tiers[0].aliases" in paths(found), found


def test_good_args_have_no_issues():
    assert rules.gateway_args_issues(gateway_args()) == []
    assert rules.gateway_args_issues(gateway_args(trace_to={"name": "otel-collector", "namespace": "monitoring",
                                                            "port": 4317})) == []


# ------------------------------------------------------------------------------ Dns and LoadBalancerController


def test_a_composed_dns_refuses_bad_args(tmp_path):
    message = refused(tmp_path, """
from llm_tiers import Dns, DnsArgs
Dns("dns", DnsArgs(cluster_name="c", region="us-east-9", hosted_zone_id="/hostedzone/Z123", zone_name="example.com",
                   hostnames=["llm.example.org", "Bad_Name"], txt_owner_id="c", namespace="External-DNS",
                   node_cidrs=["10.0.0.0/40"]))
""")
    assert message.startswith("Dns 'dns':"), message
    for path in ["args.region", "args.hosted_zone_id", "args.hostnames[0]", "args.hostnames[1]", "args.namespace",
                 "args.node_cidrs[0]"]:
        assert f"  - {path}:" in message, f"{path} not named in:\n{message}"
    assert "llm.example.org is not in zone example.com" in message


def test_a_composed_load_balancer_controller_refuses_bad_args(tmp_path):
    message = refused(tmp_path, """
from llm_tiers import LoadBalancerController, LoadBalancerControllerArgs
LoadBalancerController("lb", LoadBalancerControllerArgs(cluster_name="c", vpc_id="vpc-xyz", region="us-est-1",
                                                        tags={"team": 1}))
""")
    assert "  - args.tags.team: must be a string" in message, message
    message = refused(tmp_path, """
from llm_tiers import LoadBalancerController, LoadBalancerControllerArgs
LoadBalancerController("lb", LoadBalancerControllerArgs(cluster_name="c", vpc_id="vpc-xyz", region="us-est-1"))
""")
    assert "  - args.vpc_id: 'vpc-xyz' is not a VPC id" in message, message
    assert "  - args.region: 'us-est-1' is not an AWS region; did you mean" in message, message


# ------------------------------------------------------------------------------ through the component provider

CONSTRUCT = {
    "Gateway": {"settings": {"hostname": "llm.example.com", "loadBalancerScheme": "internet-facing",
                             "sourceCidrs": ["203.0.113.0/24"], "tls": {"certificateArn": ARN}},
                "tiers": [{"name": "chat", "modelId": "Qwen/Qwen2.5-7B-Instruct", "gpuClass": "l4",
                           "maxInputTokens": 4096, "maxTotalTokens": 8192, "aliases": ["qwen"]}],
                "tenants": [{"name": "me", "tiers": ["chat"], "limits": {"requestsPerMinute": 60,
                                                                         "burstPerSecond": 5}}],
                "traceTo": {"name": "otel-collector", "namespace": "monitoring", "port": 4317},
                "nodeCidrs": ["10.0.0.0/16"], "monitoring": False},
    "Dns": {"clusterName": "c", "region": "us-east-1", "hostedZoneId": "Z0123456789ABCDEFGHIJ",
            "zoneName": "example.com", "hostnames": ["llm.example.com"], "txtOwnerId": "c"},
    "LoadBalancerController": {"clusterName": "c", "vpcId": "vpc-0a1b2c3d4e5f60718", "region": "us-east-1",
                               "tags": {"team": "ml"}},
}


@pytest.mark.parametrize("component", sorted(CONSTRUCT))
def test_constructs_from_plain_inputs(tmp_path, component):
    constructed(tmp_path, component, CONSTRUCT[component])


def test_constructed_gateway_is_what_its_inputs_say(tmp_path):
    result = constructed(tmp_path, "Gateway", CONSTRUCT["Gateway"])
    objs = {(o["kind"], o["metadata"]["name"]): o for o in result.kubernetes_objects()}
    service = objs[("EnvoyProxy", "llm-gateway")]["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service["loadBalancerSourceRanges"] == ["203.0.113.0/24"]
    route = next(o for k, o in objs.items() if k[0] == "AIGatewayRoute")
    models = {h["value"] for r in route["spec"]["rules"] for m in r["matches"] for h in m["headers"]}
    assert {"chat", "qwen"} <= models, models


def test_construct_refuses_the_issues_gateway(tmp_path):
    inputs = {**CONSTRUCT["Gateway"], "settings": {**CONSTRUCT["Gateway"]["settings"], "sourceCidrs": []},
              "tenants": [{"name": "me", "tiers": ["chta"]}]}
    result = construct(tmp_path, "Gateway", inputs)
    error = result.recording.stack_outputs.get("error", "")
    assert "args.settings.source_cidrs" in error and "args.tenants[0].tiers[0]" in error, error
    assert not result.recording.resources
