"""The policy pack: each rule shown failing and passing with hand-built validation args, and every rendered
stack (and a rendered tier) passing every rule."""

from __future__ import annotations

import copy
import json

import pytest
from pulumi_policy import PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs, PolicyResource

from policy import rules
from policy.rules import Resource
from conftest import STACKS

TGI = "ghcr.io/huggingface/text-generation-inference:3.3.6"


def deployment(args=None, env=None, gpu=("1", "1"), image=TGI, annotations=None, replicas=None, name="chat-live"):
    container = {"name": "tgi", "image": image,
                 "args": args if args is not None else ["--max-input-tokens", "4096", "--max-total-tokens", "8192"],
                 "env": env or [],
                 "resources": {"requests": {"nvidia.com/gpu": gpu[0]}, "limits": {"nvidia.com/gpu": gpu[1]}}}
    spec = {"selector": {"matchLabels": {"tier": "chat"}},
            "template": {"metadata": {"labels": {"tier": "chat"}}, "spec": {"containers": [container]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "llm-tiers", "annotations": annotations or {}}, "spec": spec}


def args_for(type_: str, props: dict) -> ResourceValidationArgs:
    return ResourceValidationArgs(resource_type=type_, props=props, urn=f"urn:pulumi:test::p::{type_}::x", name="x",
                                  opts=PolicyResourceOptions(protect=False, ignore_changes=[],
                                                             delete_before_replace=None,
                                                             aliases=[], custom_timeouts=None,
                                                             additional_secret_outputs=[]),
                                  provider=None)


POLICIES = {p.name: p for p in rules.policies()}


def violations(policy: str, type_: str, props: dict) -> list[str]:
    found: list[str] = []
    POLICIES[policy].validate(args_for(type_, props), lambda msg, urn=None: found.append(msg))
    return found


DEPLOY = "kubernetes:apps/v1:Deployment"
VLLM = "docker.io/vllm/vllm-openai:v0.33.0"
VLLM_ARGS = ["meta-llama/Llama-3.1-8B-Instruct", "--max-model-len", "8192",
             "--override-generation-config", '{"max_new_tokens":4096}']

CASES = [
    # (policy, type, passing props, failing props, words in the violation)
    ("tgi-output-caps", DEPLOY, deployment(), deployment(args=["--max-input-tokens", "4096"]), "--max-total-tokens"),
    ("tgi-output-caps", DEPLOY, deployment(annotations={rules.MAX_CONTEXT_ANNOTATION: "8192"}),
     deployment(annotations={rules.MAX_CONTEXT_ANNOTATION: "4096"}), "exceeds the model's context 4096"),
    ("tgi-output-caps", DEPLOY, deployment(),
     deployment(args=["--max-input-tokens=9000", "--max-total-tokens=8192"]), "must be below"),
    ("vllm-output-caps", DEPLOY, deployment(image=VLLM, args=VLLM_ARGS),
     deployment(image=VLLM, args=VLLM_ARGS[:3]), "--override-generation-config"),
    ("vllm-output-caps", DEPLOY, deployment(image=VLLM, args=VLLM_ARGS),
     deployment(image=VLLM, args=VLLM_ARGS[:4] + ['{"max_new_tokens":8192}']), "must be below --max-model-len"),
    ("vllm-output-caps", DEPLOY,
     deployment(image=VLLM, args=VLLM_ARGS, annotations={rules.MAX_CONTEXT_ANNOTATION: "8192"}),
     deployment(image=VLLM, args=VLLM_ARGS, annotations={rules.MAX_CONTEXT_ANNOTATION: "4096"}),
     "exceeds the model's context 4096"),
    ("pinned-images-and-charts", DEPLOY, deployment(),
     deployment(image="ghcr.io/huggingface/text-generation-inference:latest"),
     "not pinned"),
    ("pinned-images-and-charts", DEPLOY, deployment(image="nginx@sha256:" + "a" * 64), deployment(image="nginx"),
     "not pinned"),
    ("pinned-images-and-charts", "kubernetes:helm.sh/v3:Release", {"name": "keda", "version": "2.20.2"},
     {"name": "keda"}, "no chart version"),
    ("gpu-requests-equal-limits", DEPLOY, deployment(), deployment(gpu=("1", "2")), "must equal limits"),
    ("no-plaintext-secrets", DEPLOY, deployment(env=[{"name": "HF_HUB_OFFLINE", "value": "1"}]),
     deployment(env=[{"name": "API_KEY", "value": "abc"}]), "plaintext value"),
    ("no-plaintext-secrets", DEPLOY, deployment(),
     deployment(env=[{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}}}]),
     "HF_TOKEN may only reach weight-sync Jobs"),
    ("no-plaintext-secrets", DEPLOY, deployment(),
     {**deployment(), "spec": {**deployment()["spec"], "template": {"spec": {**deployment()["spec"]["template"]["spec"],
      "volumes": [{"name": "hf-token", "secret": {"secretName": "hf-token"}}]}}}},
     "the hf-token Secret may only be mounted by weight-sync Jobs"),
    ("no-plaintext-secrets", "kubernetes:core/v1:ConfigMap", {"kind": "ConfigMap", "data": {"a": "hello"}},
     {"kind": "ConfigMap", "data": {"token": "hf_" + "x" * 30}}, "looks like a credential"),
    ("iam-no-star-on-star", "aws:iam/rolePolicy:RolePolicy",
     {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})},
     {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Sid": "all"}]})},
     "every action on every resource"),
    ("eks-secrets-encryption", "aws:eks/cluster:Cluster",
     {"encryptionConfig": {"provider": {"keyArn": "arn:aws:kms:x"}, "resources": ["secrets"]}}, {}, "envelope-encrypt"),
    ("imdsv2-required", "aws:ec2/launchTemplate:LaunchTemplate", {"metadataOptions": {"httpTokens": "required"}},
     {"metadataOptions": {"httpTokens": "optional"}}, "IMDSv2"),
    ("imdsv2-required", "aws:eks/nodeGroup:NodeGroup", {"launchTemplate": {"id": "lt-1", "version": "1"}}, {},
     "launch template"),
    ("imdsv2-required", "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
     {"spec": {"metadataOptions": {"httpTokens": "required"}}},
     {"spec": {}}, "EC2NodeClass"),
]


@pytest.mark.parametrize("policy,type_,good,bad,words", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_fails_and_passes(policy, type_, good, bad, words):
    assert violations(policy, type_, good) == []
    found = violations(policy, type_, bad)
    assert found and any(words in v for v in found), found


def test_every_resource_rule_has_a_case():
    assert {c[0] for c in CASES} == set(rules.RESOURCE_RULES)


def _stack_args(resources: list[tuple[str, dict]]) -> StackValidationArgs:
    opts = args_for("t", {}).opts
    return StackValidationArgs(resources=[
        PolicyResource(resource_type=t, props=p, urn=f"urn:x::{i}", name=str(i), opts=opts, provider=None, parent=None,
                       dependencies=[], property_dependencies={}) for i, (t, p) in enumerate(resources)])


def _stack_violations(resources) -> list[str]:
    found: list[str] = []
    POLICIES["tier-hygiene"].validate(_stack_args(resources), lambda msg, urn=None: found.append(msg))
    return found


PDB = ("kubernetes:policy/v1:PodDisruptionBudget",
       {"metadata": {"namespace": "llm-tiers"}, "spec": {"selector": {"matchLabels": {"tier": "chat"}}}})
NETPOL = ("kubernetes:networking.k8s.io/v1:NetworkPolicy",
          {"metadata": {"namespace": "llm-tiers"}, "spec": {"podSelector": {"matchLabels": {"tier": "chat"}}}})
SCALER = ("kubernetes:keda.sh/v1alpha1:ScaledObject",
          {"metadata": {"namespace": "llm-tiers"},
           "spec": {"scaleTargetRef": {"name": "chat-live"}, "maxReplicaCount": 4}})


def test_tier_hygiene_passes_with_pdb_netpol_and_bounded_autoscaler():
    assert _stack_violations([(DEPLOY, deployment()), PDB, NETPOL, SCALER]) == []


@pytest.mark.parametrize("missing,words", [(PDB, "PodDisruptionBudget"), (NETPOL, "NetworkPolicy"),
                                           (SCALER, "autoscaler")])
def test_tier_hygiene_fails_without_each_part(missing, words):
    resources = [r for r in [(DEPLOY, deployment()), PDB, NETPOL, SCALER] if r is not missing]
    assert any(words in v for v in _stack_violations(resources))


def test_a_warm_capacity_placeholder_needs_a_network_policy_but_no_pdb():
    """It runs an engine image only to have it pulled and is preempted, not drained (gpu/warm.py)."""
    holder = deployment(replicas=1, name="warm-l4")
    holder["metadata"]["labels"] = {rules.WARM_CAPACITY_LABEL: "l4"}
    assert _stack_violations([(DEPLOY, holder), NETPOL]) == []
    assert any("NetworkPolicy" in v for v in _stack_violations([(DEPLOY, holder)]))
    # The label exempts only a placeholder: the same Deployment without it still needs its PDB.
    del holder["metadata"]["labels"]
    assert any("PodDisruptionBudget" in v for v in _stack_violations([(DEPLOY, holder), NETPOL]))


def test_unbounded_scaler_does_not_count():
    unbounded = (SCALER[0], copy.deepcopy(SCALER[1]))
    del unbounded[1]["spec"]["maxReplicaCount"]
    assert any("autoscaler" in v for v in _stack_violations([(DEPLOY, deployment()), PDB, NETPOL, unbounded]))


def _resources(result) -> list[Resource]:
    from llm_tiers.preview.documents import redact
    return [Resource(r.type, redact(r.inputs), r.name) for r in result.custom_resources]


@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_stack_passes_every_rule(rendered, stack):
    found: list[str] = []
    report = lambda msg, urn=None: found.append(msg)  # noqa: E731
    resources = _resources(rendered(stack))
    for r in resources:
        for _, rule in rules.RESOURCE_RULES.values():
            rule(r, report)
    rules.tier_hygiene(resources, report)
    assert found == []


def test_a_rendered_tier_passes_every_rule(tmp_path):
    from test_model_tier import TIER, render_tier
    result, _ = render_tier(tmp_path, {**TIER, "candidate": {"modelId": "meta-llama/Llama-3.1-8B-Instruct"}})
    found: list[str] = []
    report = lambda msg, urn=None: found.append(msg)  # noqa: E731
    resources = _resources(result)
    assert any(r.type == DEPLOY for r in resources)
    for r in resources:
        for _, rule in rules.RESOURCE_RULES.values():
            rule(r, report)
    rules.tier_hygiene(resources, report)
    assert found == []
