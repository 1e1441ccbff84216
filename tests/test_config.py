"""The config schema as a pure function: valid stacks parse, invalid ones fail with the key path and a hint."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from llm_tiers.config import schema as config
from llm_tiers.stack import keys as stack_keys
from llm_tiers.config.schema import ConfigError
from llm_tiers.stack.parse import parse
from conftest import STACKS, stack_values


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_parses(stack):
    cfg = parse(stack_values(stack))
    assert cfg.environment == stack
    assert cfg.tiers, "every shipped stack deploys at least one tier"


def test_defaults_live_in_the_schema():
    values = stack_values("prod")
    values["cluster"] = {"adminRoleArns": ["arn:aws:iam::111122223333:role/admin"]}
    values.pop("secretStore")
    cfg = parse(values)
    c = cfg.cluster
    assert cfg.cluster_name == "llm-prod"
    assert c.nat_gateways == "perAz" and c.endpoint_public_access is False
    assert c.kubernetes_version in config.versions.SUPPORTED_KUBERNETES_VERSIONS
    assert c.control_plane_log_types == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert (c.system_node_group.min_size, c.system_node_group.max_size) == (2, 4)
    assert cfg.secret_store.refresh_interval == "1h"
    tier = cfg.tiers[0]
    assert tier.max_concurrent_requests == 128 and tier.engine == "tgi" and tier.serve == "live"


def test_differences_between_environments_are_values_not_shape():
    dev, prod = parse(stack_values("dev")), parse(stack_values("prod"))
    assert dev.cluster.nat_gateways == "single" and prod.cluster.nat_gateways == "perAz"
    assert "spot" in dev.gpu_classes["l4"].capacity_types
    assert all(c.capacity_types == ["on-demand"] for c in prod.gpu_classes.values())
    assert all(t.replicas.min >= 2 for t in prod.tiers)
    assert any(t.sporadic and t.replicas.min == 0 for t in dev.tiers)


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """Set a dotted path (``tiers.0.maxTotalTokens``) in the raw values."""
    def mutate(v: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = v
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        if isinstance(node, list):
            node[int(last)] = value
        elif value is _DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    return mutate


_DELETE = object()


def _dup_tier(v):
    v["tiers"].append(dict(v["tiers"][0]))


def _dup_tenant(v):
    v["tenants"].append(dict(v["tenants"][0]))


# (id, mutation of the prod stack, expected key path, expected words in the message)
INVALID: list[tuple[str, Mutation, str, str]] = [
    ("total-not-above-input", _set("tiers.0.maxTotalTokens", 4096), "tiers[0].maxTotalTokens",
     "must be greater than maxInputTokens (4096)"),
    ("typo-in-tier-key", _set("tiers.1.gpuClas", "h100"), "tiers[1].gpuClas", "did you mean `gpuClass`"),
    ("unknown-top-level-key", _set("tierz", []), "tierz", "did you mean `tiers`"),
    ("missing-hostname", _set("gateway.hostname", _DELETE), "gateway.hostname", "required"),
    ("hostname-not-dns", _set("gateway.hostname", "not a host"), "gateway.hostname", "DNS name"),
    ("unknown-gpu-class", _set("tiers.0.gpuClass", "a100"), "tiers[0].gpuClass", "unknown GPU class 'a100'"),
    ("duplicate-tier", _dup_tier, "tiers[2].name", "duplicate tier name 'chat-small'"),
    ("tenant-unknown-tier", _set("tenants.0.tiers", ["chat-small", "embed"]), "tenants[0].tiers[1]",
     "unknown tier 'embed'"),
    ("duplicate-tenant", _dup_tenant, "tenants[3].name", "duplicate tenant name 'search'"),
    ("tenant-name-not-label", _set("tenants.0.name", "Search Team"), "tenants[0].name", "lowercase"),
    ("zero-rate-limit", _set("tenants.0.limits.requestsPerMinute", 0), "tenants[0].limits.requestsPerMinute",
     "greater than 0"),
    ("negative-burst", _set("gateway.defaultLimits.burstPerSecond", -5), "gateway.defaultLimits.burstPerSecond",
     "greater than 0"),
    ("body-over-tgi-payload-limit", _set("tenants.1.limits.maxRequestBodyBytes", 3_000_000),
     "tenants[1].limits.maxRequestBodyBytes", "less than or equal to 2000000"),
    ("zero-body-limit", _set("gateway.defaultLimits.maxRequestBodyBytes", 0),
     "gateway.defaultLimits.maxRequestBodyBytes", "greater than 0"),
    ("unknown-quantize", _set("tiers.0.quantize", "int3"), "tiers[0].quantize", "'awq'"),
    ("dtype-with-quantize", lambda v: (v["tiers"][0].update(quantize="awq", dtype="float16")), "tiers[0].dtype",
     "cannot be combined with quantize: awq"),
    ("min-above-max", _set("tiers.0.replicas", {"min": 5, "max": 3}), "tiers[0].replicas.min",
     "must not exceed replicas.max (3)"),
    ("zero-min-not-sporadic", _set("tiers.0.replicas", {"min": 0, "max": 3}), "tiers[0].replicas.min",
     "sporadic: true"),
    ("sporadic-with-min", _set("tiers.0.sporadic", True), "tiers[0].sporadic", "set replicas.min to 0"),
    ("odd-gpu-count", _set("tiers.0.gpusPerReplica", 3), "tiers[0].gpusPerReplica", "1, 2, 4 or 8"),
    ("replicas-beyond-class-gpus", _set("tiers.1.replicas.max", 8), "tiers[1].replicas.max",
     "exceeds gpuClasses.h100.maxGpus (24)"),
    ("no-room-for-a-surge-replica", _set("gpuClasses.h100.maxGpus", 16), "gpuClasses.h100.maxGpus",
     "(4 + 1 surge) x 4 GPU(s) = 20 GPUs"),
    ("unsupported-k8s", _set("cluster.kubernetesVersion", "1.20"), "cluster.kubernetesVersion", "not supported"),
    ("bad-cidr", _set("cluster.vpcCidr", "10.0.0.0/33"), "cluster.vpcCidr", "not an IPv4 CIDR"),
    ("tiny-vpc", _set("cluster.vpcCidr", "10.0.0.0/24"), "cluster.vpcCidr", "/16 to /20"),
    ("public-vpc", _set("cluster.vpcCidr", "8.8.0.0/16"), "cluster.vpcCidr", "private"),
    ("public-endpoint-no-cidrs", _set("cluster.endpointPublicAccess", True), "cluster.publicAccessCidrs",
     "required when endpointPublicAccess is true"),
    ("cidrs-on-private-endpoint", _set("cluster.publicAccessCidrs", ["203.0.113.0/24"]), "cluster.publicAccessCidrs",
     "no effect"),
    ("bad-role-arn", _set("cluster.adminRoleArns", ["admin"]), "cluster.adminRoleArns[0]", "IAM role ARN"),
    ("no-admins", _set("cluster.adminRoleArns", []), "cluster.adminRoleArns", "at least 1"),
    ("desired-out-of-range", _set("cluster.systemNodeGroup.desiredSize", 9), "cluster.systemNodeGroup.desiredSize",
     "between minSize (3) and maxSize (6)"),
    ("retention-not-cloudwatch", _set("cluster.logRetentionDays", 10), "cluster.logRetentionDays",
     "not a CloudWatch retention"),
    ("acm-without-certificate", _set("gateway.tls", {"mode": "acm"}), "gateway.tls.certificateArn",
     "required with tls.mode: acm"),
    ("internet-facing-without-cidrs", _set("gateway.sourceCidrs", []), "gateway.sourceCidrs",
     "required when loadBalancerScheme is internet-facing"),
    ("refresh-not-duration", _set("secretStore.refreshInterval", "1 hour"), "secretStore.refreshInterval",
     "duration like 30s"),
    ("no-gpu-classes", _set("gpuClasses", {}), "gpuClasses", "at least 1"),
    ("unknown-capacity-type", _set("gpuClasses.l4.capacityTypes", ["reserved"]), "gpuClasses.l4.capacityTypes[0]",
     "'on-demand' or 'spot'"),
    ("model-id-not-org-name", _set("tiers.0.modelId", "llama"), "tiers[0].modelId", "Hugging Face model id"),
    ("serve-missing-candidate", _set("tiers.0.serve", "candidate"), "tiers[0].serve", "no candidate release"),
    ("extra-arg-not-flag", _set("tiers.0.extraArgs", ["max-batch-size=4"]), "tiers[0].extraArgs[0]", "not a flag"),
    ("kubeconfig-role-not-admin", _set("cluster.kubeconfigRoleArn", "arn:aws:iam::111122223333:role/other"),
     "cluster.kubeconfigRoleArn", "must be one of adminRoleArns"),
    ("missing-environment", _set("environment", _DELETE), "environment", "required"),
    ("token-limit-not-int", _set("tiers.0.maxInputTokens", "lots"), "tiers[0].maxInputTokens", "valid integer"),
    ("tracing-without-endpoint", _set("observability.tracing", {"enabled": True}),
     "observability.tracing.otlpEndpoint", "required when tracing is enabled"),
    ("section-not-object", _set("cluster", "big"), "cluster", "dictionary"),
    ("prefill-below-input", _set("tiers.0.maxBatchPrefillTokens", 1024), "tiers[0].maxBatchPrefillTokens",
     "at least maxInputTokens (4096)"),
    ("duplicate-zone", _set("cluster.availabilityZones", ["us-east-1a", "us-east-1a"]), "cluster.availabilityZones",
     "twice"),
    ("retention-not-prometheus", _set("observability.prometheus.retention", "30 days"),
     "observability.prometheus.retention", "Prometheus retention"),
    ("candidate-image-latest",
     _set("tiers.0.candidate", {"image": "ghcr.io/huggingface/text-generation-inference:latest"}),
     "tiers[0].candidate.image", "explicit tag"),
    ("unknown-nested-key", _set("cluster.systemNodeGroup.diskSize", 50), "cluster.systemNodeGroup.diskSize",
     "did you mean `diskSizeGiB`"),
    ("warm-nodes-beyond-max-gpus", _set("gpuClasses.h100.warmNodes", 4), "gpuClasses.h100.warmNodes",
     "4 warm node(s) x 8 GPU(s) exceed maxGpus (24)"),
    ("warm-nodes-on-an-unused-class", _set("gpuClasses.spare", {"instanceTypes": ["g6.xlarge"], "maxGpus": 2,
                                                                "warmNodes": 1}),
     "gpuClasses.spare.warmNodes", "no tier runs on class 'spare'"),
    ("warm-nodes-negative", _set("gpuClasses.l4.warmNodes", -1), "gpuClasses.l4.warmNodes", "greater than or equal"),
    ("tier-name-not-a-service-name", _set("tiers.0.name", "8b-chat"), "tiers[0].name", "RFC 1035"),
    ("tenant-grant-not-a-service-name", _set("tenants.0.tiers", ["8b-chat"]), "tenants[0].tiers[0]",
     "starting with a letter"),
]


def test_the_invalid_corpus_is_large():
    assert len(INVALID) >= 25


@pytest.mark.parametrize("mutate,path,words", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_config_is_rejected_with_its_key_path(mutate, path, words):
    values = stack_values("prod")
    mutate(values)
    with pytest.raises(ConfigError) as info:
        parse(values, "stacks/Pulumi.prod.yaml")
    issues = {i.path: i.message for i in info.value.issues}
    assert path in issues, f"expected an error at {path}, got: {info.value}"
    assert words in issues[path], f"{path}: {issues[path]!r} does not say {words!r}"
    assert "stacks/Pulumi.prod.yaml" in str(info.value)


def test_every_problem_is_reported_at_once():
    values = stack_values("prod")
    values["tiers"][0]["maxTotalTokens"] = 10          # semantic
    values["tenants"][0]["name"] = "Bad Name"          # structural, other section
    values["cluster"]["systemNodeGroup"]["desiredSize"] = 99
    values["gateway"]["replicaz"] = 2                  # typo
    with pytest.raises(ConfigError) as info:
        parse(values)
    paths = {i.path for i in info.value.issues}
    assert {"tiers[0].maxTotalTokens", "tenants[0].name", "cluster.systemNodeGroup.desiredSize",
            "gateway.replicaz"} <= paths


def test_unknown_key_lists_the_allowed_keys():
    values = stack_values("prod")
    values["gateway"]["replicaz"] = 2
    with pytest.raises(ConfigError) as info:
        parse(values)
    (issue,) = [i for i in info.value.issues if i.path == "gateway.replicaz"]
    assert "did you mean `replicas`" in issue.message and "hostname" in issue.message


def test_secret_keys_are_not_part_of_the_model():
    values = stack_values("dev")
    values["hfToken"] = "hf_should_be_ignored_here"
    cfg = parse(values)
    assert "hf_should_be_ignored_here" not in cfg.model_dump_json()


def test_schema_keys_are_camel_case():
    for model in (config.StackConfig, config.TierConfig, config.ClusterConfig, config.GatewayConfig):
        for name, field in model.model_fields.items():
            alias = field.alias or name
            assert "_" not in alias and alias[0].islower(), f"{model.__name__}.{name} -> {alias}"


def test_a_schema_error_keeps_the_rest_for_the_later_layers():
    values = stack_values("prod")
    values["gateway"]["replicas"] = 1                  # schema, another section
    values["tiers"][1]["replicas"]["max"] = "many"     # schema, this tier
    with pytest.raises(ConfigError) as info:
        parse(values)
    partial = info.value.partial
    assert partial.tiers[0].name == "chat-small" and partial.tiers[1] is None
    assert partial.gateway is None and partial.model_policy.allowed_licenses == ["apache-2.0", "mit", "llama3.1"]


@pytest.mark.parametrize("key,words", [
    ("llm-tier:tenants", "write it as `llm-tiers:tenants`"),
    ("cluster", "has no namespace prefix, so the program never reads it; write it as `llm-tiers:cluster`"),
    ("tierz", "write it as `llm-tiers:tiers`"),
    ("llm-tiers-prod:gateway", "write it as `llm-tiers:gateway`"),
    ("alerting:receivers", "unknown config namespace `alerting:`"),
    ("aws:regon", "did you mean `aws:region`"),
])
def test_keys_no_one_reads_are_errors(key, words):
    (issue,) = stack_keys.check_config_keys(["aws:region", "llm-tiers:environment", "kubernetes:context", key],
                                            "llm-tiers")
    assert issue.path == key and words in issue.message


def test_region_is_checked():
    assert stack_keys.check_region("us-east-1") == []
    (issue,) = stack_keys.check_region("us-east-7")
    assert issue.path == "aws:region" and "not an AWS region" in issue.message
