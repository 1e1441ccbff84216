"""The pinned CRDs' CEL rules (x-kubernetes-validations) run on every rendered custom resource, and each kind
of rule can fail: objects taken from a real render and broken the way a config or a code change could break
them are refused with the CRD's own message."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from llm_tiers.preview import k8s_cel, validate


@pytest.fixture(scope="module")
def crd_dir(crd_schemas) -> Path:
    return validate.crd_dir_from_env()


def _rules(crd_schemas):
    return [(key, path, rule) for key, schema in crd_schemas.items() for path, rule in k8s_cel.walk_rules(schema)]


def test_every_pinned_rule_compiles_and_runs_except_listed_gaps(crd_schemas, crd_dir):
    rules = _rules(crd_schemas)
    assert len(rules) == 1168, "the pinned CRDs carry 1,168 rules (issue 24); a pin moved: recount"
    transition = [r for r in rules if k8s_cel.is_transition(r[2].rule)]
    # The API server evaluates transition rules (oldSelf) only on update; a render is a create.
    assert len(transition) == 6
    runnable = [r for r in rules if not k8s_cel.is_transition(r[2].rule) and not k8s_cel.missing_functions(r[2].rule)]
    assert len(runnable) == 1162
    assert validate.cel_gaps(crd_dir) == {}


def test_a_rule_the_evaluator_cannot_run_is_a_gap_not_a_pass():
    rule = "self.url().getHost() == 'x'"  # Kubernetes' url() accessors: not used by the pinned CRDs
    assert k8s_cel.missing_functions(rule) == ["getHost", "url"]
    ok, error = k8s_cel.evaluate(rule, "https://example.com")
    assert not ok and "listed gap" in error


@pytest.mark.parametrize("rule,value,expected", [
    ("self.find('^[^@]+') == 'al2023'", "al2023@latest", True),
    ("self.find('^[^@]+') == 'al2023'", "bottlerocket@latest", False),
    ("self.all(h, !isIP(h))", ["api.example.com"], True),
    ("self.all(h, !isIP(h))", ["api.example.com", "10.0.0.1"], False),
    ("size(self) == 0 || format.dns1123Label().validate(self) == null", "http", True),
    ("size(self) == 0 || format.dns1123Label().validate(self) == null", "HTTP_port", False),
    ("duration(self.timeout) < duration(self.interval)", {"timeout": "500ms", "interval": "1m"}, True),
    ("duration(self.timeout) < duration(self.interval)", {"timeout": "2h", "interval": "1m"}, False),
    ("self.split('/').size() == 2 && self.lowerAscii() == self", "a/b", True),
    ("self.x == 1", {}, False),  # an absent field read without has(): an evaluation error, refused
])
def test_kubernetes_cel_functions(rule, value, expected):
    assert k8s_cel.evaluate(rule, value)[0] is expected


def _obj(rendered, kind: str, name: str) -> dict:
    return copy.deepcopy(rendered("prod").objects_named(kind)[name])


def _refused(obj, crd_dir) -> list[str]:
    problems, skipped = validate.check([obj], "1.34", crd_dir)
    assert not skipped
    return [p.message for p in problems]


def test_rendered_objects_pass_every_rule(rendered, crd_dir):
    objects = rendered("prod").kubernetes_objects()
    problems, skipped = validate.check(objects, "1.34", crd_dir)
    assert not skipped and not problems, "\n".join(map(str, problems))


def test_security_policy_rules_can_fail(rendered, crd_dir):
    sp = _obj(rendered, "SecurityPolicy", "llm-router")
    assert _refused(sp, crd_dir) == []
    sp["spec"]["authorization"]["rules"].append({"name": "empty", "action": "Allow"})
    sp["spec"]["targetRef"] = dict(sp["spec"]["targetRefs"][0])
    messages = _refused(sp, crd_dir)
    assert any("at least one of principal or cel must be specified" in m for m in messages), messages
    assert any("either targetRef or targetRefs must be used" in m for m in messages), messages


def test_backend_traffic_policy_rules_can_fail(rendered, crd_dir):
    btp = _obj(rendered, "BackendTrafficPolicy", "llm-router")
    assert _refused(btp, crd_dir) == []
    btp["spec"]["httpUpgrade"] = [{"type": "websocket"}]
    messages = _refused(btp, crd_dir)
    assert any("requestBuffer cannot be used together with httpUpgrade" in m for m in messages), messages
    btp = _obj(rendered, "BackendTrafficPolicy", "llm-router")
    rules = btp["spec"]["rateLimit"]["global"]["rules"]
    btp["spec"]["rateLimit"]["global"]["rules"] = (rules * 300)[:257]
    messages = _refused(btp, crd_dir)
    assert any(m.startswith("spec.rateLimit.global.rules: 257 items > maxItems 256") for m in messages), messages


def test_ai_gateway_route_rules_can_fail(rendered, crd_dir):
    route = _obj(rendered, "AIGatewayRoute", "llm-router")
    assert _refused(route, crd_dir) == []
    route["spec"]["rules"][0]["name"] = "route-not-found"
    route["spec"]["rules"][1]["name"] = "route-not-found"
    route["spec"]["rules"][1]["timeouts"] = {"request": "60s", "backendRequest": "120s"}
    messages = _refused(route, crd_dir)
    assert any("rule name route-not-found is reserved" in m for m in messages), messages
    assert any("rule name must be unique within the route" in m for m in messages), messages
    assert any("backendRequest timeout cannot be longer than request timeout" in m for m in messages), messages


def test_backend_rules_can_fail_and_defaults_apply_first(rendered, crd_dir):
    backend = _obj(rendered, "Backend", "chat-small")
    # Its rules read spec.type, which the object does not set: the API server defaults it (Endpoints) first.
    assert "type" not in backend["spec"] and _refused(backend, crd_dir) == []
    backend["spec"]["endpoints"].append({"ip": {"address": "10.0.0.1", "port": 80}})
    messages = _refused(backend, crd_dir)
    assert any("fqdn addresses cannot be mixed with other address types" in m for m in messages), messages
    backend["spec"]["type"] = "DynamicResolver"
    assert any("DynamicResolver type cannot have endpoints specified" in m for m in _refused(backend, crd_dir))


def test_nodepool_and_ec2nodeclass_rules_can_fail(rendered, crd_dir):
    pools = [o for o in rendered("prod").kubernetes_objects() if o["kind"] == "NodePool"]
    pool = copy.deepcopy(pools[0])
    assert _refused(pool, crd_dir) == []
    pool["spec"]["template"]["spec"]["requirements"].append(
        {"key": "example.karpenter.sh/foo", "operator": "In", "values": ["x"]})
    assert any("karpenter.sh" in m and "restricted" in m for m in _refused(pool, crd_dir))
    classes = [o for o in rendered("prod").kubernetes_objects() if o["kind"] == "EC2NodeClass"]
    nc = copy.deepcopy(classes[0])
    assert _refused(nc, crd_dir) == []
    nc["spec"]["amiFamily"] = "Bottlerocket"
    nc["spec"]["amiSelectorTerms"] = [{"alias": "al2023@latest"}]
    assert any("amiFamily" in m for m in _refused(nc, crd_dir)), _refused(nc, crd_dir)


@pytest.mark.parametrize("fmt,good,bad", [("int32", 2 ** 31 - 1, 2 ** 31), ("int64", -(2 ** 63), 2 ** 63),
                                           ("byte", "aGk=", "not base64!"), ("ipv4", "10.0.0.1", "10.0.0.256"),
                                           ("ipv6", "fd00::1", "10.0.0.1"),
                                           ("date-time", "2026-01-01T00:00:00Z", "yesterday")])
def test_formats_are_checked(fmt, good, bad):
    schema = {"type": "object", "properties": {"v": {"type": "integer" if "int" in fmt else "string", "format": fmt}}}
    assert validate.validate_custom_resource({"v": good}, schema) == []
    assert validate.validate_custom_resource({"v": bad}, schema)
