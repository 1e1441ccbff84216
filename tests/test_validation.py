"""Rendered objects validate as the API server would take them: core kinds with kubernetes-validate in
strict mode against the stack's Kubernetes version, custom resources against the pinned CRDs."""

from __future__ import annotations

import copy

import pytest

from llm_tiers.stack.parse import parse
from conftest import STACKS, stack_values
from llm_tiers.preview import validate


@pytest.mark.parametrize("stack", STACKS)
def test_core_objects_validate_strictly(rendered, stack):
    version = parse(stack_values(stack)).cluster.kubernetes_version
    objects = rendered(stack).kubernetes_objects()
    core = [o for o in objects if validate.is_builtin(o)]
    assert core, "every stack renders core objects (at least the StorageClasses)"
    problems = [f"{validate.describe(o)}: {m}" for o in core for m in validate.validate_core(o, version)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("stack", STACKS)
def test_custom_resources_validate_against_their_crds(rendered, stack, crd_schemas):
    version = parse(stack_values(stack)).cluster.kubernetes_version
    problems, skipped = validate.validate_objects(rendered(stack).kubernetes_objects(), version, crd_schemas)
    assert not skipped
    assert not problems, "\n".join(map(str, problems))


def test_strict_core_validation_catches_unknown_fields(rendered):
    sc = copy.deepcopy(rendered("prod").kubernetes_objects()[0])
    assert validate.validate_core(sc, "1.34") == []
    sc["volumeBindingMod"] = "Immediate"
    (problem,) = validate.validate_core(sc, "1.34")
    assert "volumeBindingMod" in problem


def _nodepool():
    return {
        "apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "l4"},
        "spec": {
            "template": {"spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "l4"},
                "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}],
            }},
            "limits": {"nvidia.com/gpu": 16},
        },
    }


def test_crd_validation_accepts_a_valid_custom_resource(crd_schemas):
    problems, skipped = validate.validate_objects([_nodepool()], "1.34", crd_schemas)
    assert problems == [] and skipped == []


@pytest.mark.parametrize("break_it,words", [
    (lambda o: o["spec"].update(templat={}), "'templat' was unexpected"),
    (lambda o: o["spec"]["template"]["spec"]["requirements"][0].update(operator="Maybe"), "Maybe"),
    (lambda o: o["spec"]["template"]["spec"].pop("nodeClassRef"), "'nodeClassRef' is a required property"),
    (lambda o: o["metadata"].pop("name"), "metadata.name is missing"),
])
def test_crd_validation_rejects_what_the_api_server_would(crd_schemas, break_it, words):
    obj = _nodepool()
    break_it(obj)
    problems, _ = validate.validate_objects([obj], "1.34", crd_schemas)
    assert any(words in p.message for p in problems), problems


def test_unknown_custom_kind_is_an_error_not_a_pass(crd_schemas):
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    problems, _ = validate.validate_objects([obj], "1.34", crd_schemas)
    assert problems and "no CRD schema" in problems[0].message


def test_without_crds_custom_resources_are_reported_as_skipped():
    problems, skipped = validate.validate_objects([_nodepool()], "1.34", None)
    assert problems == [] and skipped == ["karpenter.sh/v1 NodePool l4"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_name_and_label_is_one_the_api_server_accepts(rendered, stack):
    problems = [f"{validate.describe(o)}: {m}" for o in rendered(stack).kubernetes_objects()
                for m in validate.name_problems(o)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind,name,ok", [
    ("Service", "chat-small", True), ("Service", "7b-chat", False), ("Service", "a" * 64, False),
    ("ConfigMap", "7b-chat", True), ("ConfigMap", "x.y-z", True), ("ConfigMap", "Bad_Name", False),
    ("Namespace", "llm.tiers", False),
])
def test_name_rules_follow_the_api_server(kind, name, ok):
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
    assert (validate.name_problems(obj) == []) is ok


def test_validator_catches_a_service_name_that_starts_with_a_digit(rendered):
    svc = copy.deepcopy(rendered("dev").objects_named("Service")["chat-small"])
    svc["metadata"]["name"] = "7b-chat"
    assert validate.validate_core(svc, "1.34") == [], "the schema alone does not notice"
    problems, _ = validate.validate_objects([svc], "1.34", None)
    assert [p.message for p in problems] == ["metadata.name: '7b-chat' is not an RFC 1035 label (lowercase letters, "
                                             "digits, '-'; starting with a letter) of at most 63 characters"]


def test_validator_catches_a_bad_label_value(rendered):
    svc = copy.deepcopy(rendered("dev").objects_named("Service")["chat-small"])
    svc["metadata"]["labels"]["llm-tiers.io/tier"] = "x" * 64
    assert any("label value" in p for p in validate.name_problems(svc))
