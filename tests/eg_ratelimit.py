"""A small pure model of which rate-limit counter Envoy Gateway v1.9.0 + Envoy AI Gateway v1.1.0 charge a request
to, read from their sources (nothing here is copied from the code under test):

* AI Gateway turns each AIGatewayRoute into an HTTPRoute of the same name and parentRefs: one HTTPRoute rule per
  AIGatewayRoute rule, one match per AIGatewayRoute match, then ``route-not-found``
  (envoyproxy/ai-gateway ``internal/controller/ai_gateway_route.go`` ``newHTTPRoute`` at v1.1.0).
* Envoy Gateway makes one Envoy route per HTTPRoute rule and match, named
  ``httproute/<ns>/<name>/rule/<i>/match/<j>/...`` (``irRouteName``, ``internal/gatewayapi/helpers.go`` at v1.9.0).
* The rules a route carries: its own BackendTrafficPolicy's; with ``mergeType`` set, merged with the policy of
  the closest parent (the Gateway listener of its parentRef's sectionName, then the Gateway;
  ``processBackendTrafficPolicyForRoute``, ``internal/gatewayapi/backendtrafficpolicy.go`` at v1.9.0). The
  global rules are merged on their IR names (``patchMergeKey:"name"`` on ``ir.GlobalRateLimit.Rules``,
  ``internal/ir/xds.go``; ``translateBackendTrafficPolicyForRouteWithMerge``), each named
  ``<policy-ns>/<policy-name>/rule/<index>`` (``irRuleName``, ``buildGlobalRateLimit``). A strategic merge
  lists the patch's (the route policy's) items first, then the parent's (k8s.io/apimachinery
  ``strategicpatch`` ``normalizeElementOrder``/``mergeSortedSlice``; Envoy Gateway's own
  ``internal/gatewayapi/testdata/backendtrafficpolicy-strategic-merge-global-ratelimit.out.yaml`` shows that
  order). A route with no policy of its own gets the parent's rules; one whose policy has no ``mergeType``
  gets only its own.
* The descriptor each rule sends (``buildRouteRateLimits``, ``buildHeaderMatchRateLimitActions``,
  ``getDomainRuleIndex``, ``stripRuleIndexSuffix``, ``internal/xds/translator/ratelimit.go`` at v1.9.0): a
  ``shared`` rule goes to domain ``<policy-ns>/<policy-name>`` with first entry (rule name, rule name); a
  non-shared rule to the listener's domain with first entry (Envoy route name, Envoy route name)
  (``getRouteDescriptor``). Then one entry per header selector, key = value = ``rule-<k>-match-<m>`` where
  ``k`` counts the rules *of the same shared-ness before it in the route's list*, whichever policy they came
  from. A selector that does not match sends no descriptor for that rule.
* The rate-limit service keeps one counter per domain, descriptor entries and unit (envoyproxy/ratelimit's
  cache key; Envoy Gateway writes its config per domain in ``BuildRateLimitServiceConfig``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

Counter = tuple[str, tuple[tuple[str, str], ...], str]


@dataclass(frozen=True)
class EnvoyRoute:
    name: str
    httproute: str
    section: Optional[str]
    tier: str
    model: str


@dataclass(frozen=True)
class Rule:
    name: str  # <policy-ns>/<policy-name>/rule/<index>
    spec: dict[str, Any]

    @property
    def shared(self) -> bool:
        return bool(self.spec.get("shared"))

    @property
    def policy(self) -> str:  # stripRuleIndexSuffix
        return self.name.rsplit("/rule/", 1)[0]


def envoy_routes(objects: list[dict[str, Any]]) -> list[EnvoyRoute]:
    out = []
    for r in (o for o in objects if o["kind"] == "AIGatewayRoute"):
        ns, name = r["metadata"]["namespace"], r["metadata"]["name"]
        section = r["spec"]["parentRefs"][0].get("sectionName")
        for i, rule in enumerate(r["spec"]["rules"]):
            for j, match in enumerate(rule["matches"]):
                (header,) = match["headers"]
                out.append(EnvoyRoute(f"httproute/{ns}/{name}/rule/{i}/match/{j}/{r['spec']['hostnames'][0]}",
                                      name, section, rule["name"], header["value"]))
    return out


def _rules(policy: Optional[dict[str, Any]]) -> Optional[list[Rule]]:
    if policy is None or "rateLimit" not in policy["spec"]:
        return None
    prefix = f"{policy['metadata']['namespace']}/{policy['metadata']['name']}/rule/"
    return [Rule(f"{prefix}{i}", r) for i, r in enumerate(policy["spec"]["rateLimit"]["global"]["rules"])]


def _targets(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return policy["spec"].get("targetRefs") or [policy["spec"]["targetRef"]]


def route_rules(objects: list[dict[str, Any]], route: EnvoyRoute, gateway: str = "llm-gateway") -> list[Rule]:
    """The global rules on ``route`` after Envoy Gateway's policy attachment and merge."""
    btps = [o for o in objects if o["kind"] == "BackendTrafficPolicy"]
    own = [p for p in btps if any(t["kind"] == "HTTPRoute" and t["name"] == route.httproute for t in _targets(p))]
    assert len(own) <= 1, f"{route.httproute}: {len(own)} route policies (Envoy Gateway applies the oldest only)"
    on_listener = [p for p in btps if any(t["kind"] == "Gateway" and t["name"] == gateway
                                          and t.get("sectionName") == route.section for t in _targets(p))]
    on_gateway = [p for p in btps if any(t["kind"] == "Gateway" and t["name"] == gateway
                                         and not t.get("sectionName") for t in _targets(p))]
    parent = (on_listener or on_gateway or [None])[0]
    if not own:
        return _rules(parent) or []
    policy = own[0]
    mine = _rules(policy)
    if policy["spec"].get("mergeType") is None or parent is None:
        return mine or []
    assert policy["spec"]["mergeType"] == "StrategicMerge", "JSONMerge replaces the parent's rule list"
    theirs = _rules(parent)
    if mine is None:
        return theirs or []
    if theirs is None:
        return mine
    return mine + [r for r in theirs if r.name not in {m.name for m in mine}]


def _matches(header: dict[str, Any], headers: dict[str, str]) -> bool:
    value = headers.get(header["name"])
    if value is None:
        return False
    kind = header.get("type", "Exact")
    hit = value == header["value"] if kind == "Exact" else re.fullmatch(header["value"], value) is not None
    return hit != bool(header.get("invert"))


def charged(objects: list[dict[str, Any]], route: EnvoyRoute, headers: dict[str, str],
            listener: str = "llm-gateway/llm-gateway/https") -> list[tuple[Counter, dict[str, Any]]]:
    """The counters a request on ``route`` with ``headers`` is charged to, with the rule that charges each."""
    rules = route_rules(objects, route)
    out = []
    for idx, rule in enumerate(rules):
        k = sum(1 for r in rules[:idx] if r.shared == rule.shared)  # getDomainRuleIndex
        (selector,) = rule.spec["clientSelectors"]
        if not all(_matches(h, headers) for h in selector["headers"]):
            continue
        domain, first = (rule.policy, rule.name) if rule.shared else (listener, route.name)
        entries = [(first, first)]
        for m, h in enumerate(selector["headers"]):
            key = f"rule-{k}-match-{m}"
            entries.append((key, headers[h["name"]] if h.get("distinct") else key))
        out.append(((domain, tuple(entries), rule.spec["limit"]["unit"]), rule.spec))
    return out
