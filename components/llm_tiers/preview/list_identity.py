"""How the PR diff (components/llm_tiers/preview/render_diff.py) pairs the elements of every list it compares.

Never by position: two renders that differ by one tenant must not read as every later tenant "changed into"
the next one. Each list-valued field of each kind the program renders has a declared rule here:

- ``key``: elements are paired by an identity (a container by ``name``, a rate-limit rule by its selectors
  and unit, an IAM statement by its effect, actions and principal); a paired element is diffed field by field,
  an unpaired one is shown added or removed in full;
- ``flags``: an argument list as ``--flag value`` pairs, paired by flag;
- ``set``: an unordered list (or one whose elements are their own identity): elements removed and added;
- ``whole``: a list whose order is its meaning (``command``, relabelling chains, Alertmanager routes) or
  whose elements have no identity: shown complete, before → after.

``rule_for(kind, shape)`` finds the rule of a list; ``shape`` is its path with every element written ``[]``
(``spec.template.spec.containers[].env``) and JSON documents inside strings marked ``<json>``. A list no rule
declares is shown whole (never paired by position); tests/test_render_diff.py walks every list of every
rendered stack and example and fails on one that has no rule, or whose identities are not unique.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class Rule:
    how: str  # "key", "flags", "set" or "whole"
    key: Optional[Callable[[Any], str]] = None
    repeats: bool = False
    """Identities may repeat (recording rules of one name, one per engine): repeated ones are told apart by
    a digest of their content, so a changed one shows removed and added in full (never paired by position)."""

    def identity(self, element: Any) -> str:
        assert self.key is not None
        return self.key(element)


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def by(*fields: str) -> Rule:
    """Paired by the first of ``fields`` the element has (all elements must have one)."""

    def key(element: Any) -> str:
        if isinstance(element, dict):
            for f in fields:
                if f in element and element[f] not in (None, ""):
                    return str(element[f])
        raise KeyError(f"no {' / '.join(fields)}")

    return Rule("key", key)


def by_all(*fields: str) -> Rule:
    """Paired by the values of all ``fields`` together (missing ones count as absent)."""

    def key(element: Any) -> str:
        if not isinstance(element, dict):
            raise KeyError("not an object")
        parts = [f"{f}={_text(element[f])}" for f in fields if f in element]
        if not parts:
            raise KeyError(f"none of {', '.join(fields)}")
        return " ".join(parts)

    return Rule("key", key)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_text(v) for v in sorted(value, key=_dump))
    if isinstance(value, dict):
        return _dump(value)
    return str(value)


def _alternatives(h: dict[str, Any]) -> str:
    """A header match as the values it accepts: ``^(chat\\-small|llama\\-3\\.1)$`` reads chat-small|llama-3.1.
    For the tenant header, ``<tenant>-previous`` (the old key during a rotation) is the same tenant."""
    value = str(h.get("value", ""))
    if h.get("type", "Exact") == "Exact":
        words = [value]
    else:
        m = re.fullmatch(r"\^\((.*)\)\$", value) or re.fullmatch(r"\^(.*)\$", value)
        if not m or re.search(r"(?<!\\)[.*+?\[\]{}()^$]", m.group(1).replace("|", "")):
            return "~" + value  # a real pattern: shown as written
        words = [re.sub(r"\\(.)", r"\1", w) for w in m.group(1).split("|")]
    if h.get("name") == "x-tenant-id":
        words = [w for w in words if not (w.endswith("-previous") and w[:-len("-previous")] in words)]
    return "|".join(words)


def _headers(selectors: Any) -> list[str]:
    out = []
    for selector in selectors or []:
        for h in (selector or {}).get("headers") or []:
            name = {"x-tenant-id": "tenant", "x-ai-eg-model": "model"}.get(h.get("name"), h.get("name"))
            out.append(f"{name} {_alternatives(h)}" if h.get("value") is not None else f"{name} present")
    return out


def _rate_limit_rule(rule: Any) -> str:
    """An Envoy Gateway global rate-limit rule by what it limits: its client selectors (tenant, model), the
    unit, and whether it counts requests or tokens (a ``cost`` from response metadata: a token budget)."""
    if not isinstance(rule, dict):
        raise KeyError("not an object")
    counts = "tokens" if (rule.get("cost") or {}).get("response") else "requests"
    unit = (rule.get("limit") or {}).get("unit", "?")
    return " · ".join([*_headers(rule.get("clientSelectors")), f"{counts}/{unit}"])


def _statement(s: Any) -> str:
    """An IAM policy statement by its Sid, else by effect, actions, principal and conditions (its resources
    are what usually changes: a new tenant's secret)."""
    if not isinstance(s, dict):
        raise KeyError("not an object")
    if s.get("Sid"):
        return str(s["Sid"])
    parts = [str(s.get("Effect", "Allow")), _text(s.get("Action") or s.get("NotAction") or [])]
    if s.get("Principal"):
        parts.append(_text(s["Principal"]))
    if s.get("Condition"):
        parts.append(_text(s["Condition"]))
    return " ".join(parts)


def _port(p: Any) -> str:
    if not isinstance(p, dict):
        raise KeyError("not an object")
    if p.get("name"):
        return str(p["name"])
    return f"{p.get('protocol', 'TCP')}/{p.get('port', p.get('containerPort', '?'))}"


def _match(rule: Any) -> str:
    """An HTTPRoute rule (they have no required name) by its name, else by its matches: what it routes."""
    if not isinstance(rule, dict):
        raise KeyError("not an object")
    if rule.get("name"):
        return str(rule["name"])
    matches = rule.get("matches")
    return _text(matches) if matches else "(every request)"


def _ref(r: Any) -> str:
    if not isinstance(r, dict) or "name" not in r:
        raise KeyError("no name")
    kind = r.get("kind") or ""
    ns = r.get("namespace")
    return f"{kind + ' ' if kind else ''}{ns + '/' if ns else ''}{r['name']}"


def _trigger(t: Any) -> str:
    if not isinstance(t, dict):
        raise KeyError("not an object")
    return str(t.get("name") or t.get("type"))


FLAGS = Rule("flags")
SET = Rule("set")
WHOLE = Rule("whole")
NAME = by("name")
REFS = Rule("key", _ref)
PORTS = Rule("key", _port)

# (kind glob, shape glob, rule); the first match wins. Kind is a Kubernetes kind, a Pulumi type token
# (aws:…, kubernetes:helm.sh/v3:Release, pulumi:providers:…), or "outputs" for the stack outputs.
RULES: list[tuple[str, str, Rule]] = [
    # -- Pod templates (Deployments, Jobs) and their Helm-value counterparts
    ("*", "*containers", NAME),
    # Envoy Gateway's filter order: each entry moves one named filter before/after another.
    ("EnvoyProxy", "spec.filterOrder", NAME),
    ("*", "*initContainers", NAME),
    ("*", "*initContainers[].args", FLAGS),
    ("*", "*initContainers[].args[]<json>", by("path")),  # the sync init container's --files, by path
    ("*", "*initContainers[].command", WHOLE),
    ("*", "*containers[].args", FLAGS),
    ("*", "*containers[].args[]<json>", by("path")),  # the sync Job's --files: the files by path
    ("*", "*containers[].command", WHOLE),  # positional: the program and its arguments
    ("*", "*.env", NAME),
    ("*", "env", NAME),
    ("*", "*volumes", NAME),
    ("*", "*volumeMounts", by("mountPath")),
    ("*", "*.secret.items", by("key")),
    ("*", "*.configMap.items", by("key")),
    ("*", "*capabilities.drop", SET),
    ("*", "*tolerations", SET),
    ("*", "tolerations", SET),
    ("*", "*topologySpreadConstraints", by("topologyKey")),
    ("*", "*accessModes", SET),
    ("*", "*nodeSelectorTerms", SET),
    ("*", "*matchExpressions", by("key")),
    ("*", "*ownerReferences", by("uid", "name")),
    # -- Gateway API, Envoy Gateway, Envoy AI Gateway
    ("*", "*targetRefs", REFS),
    ("*", "*parentRefs", REFS),
    ("*", "*backendRefs", REFS),
    ("*", "*credentialRefs", REFS),
    ("*", "*hostnames", SET),
    ("AIGatewayRoute", "spec.rules", NAME),
    ("AIGatewayRoute", "spec.rules[].matches", SET),  # alternatives (OR): order does not matter
    ("AIGatewayRoute", "spec.rules[].matches[].headers", NAME),
    ("AIGatewayRoute", "spec.llmRequestCosts", by("metadataKey")),
    ("HTTPRoute", "spec.rules", Rule("key", _match)),
    ("HTTPRoute", "spec.rules[].matches", SET),
    ("HTTPRoute", "spec.rules[].filters", by("type")),
    ("Backend", "spec.endpoints", SET),
    ("BackendTrafficPolicy", "spec.rateLimit.global.rules", Rule("key", _rate_limit_rule)),
    # A selector by what it looks at (its header names, source CIDR); what it accepts is diffed inside it.
    ("BackendTrafficPolicy", "spec.rateLimit.global.rules[].clientSelectors", Rule("key", lambda c: "+".join(
        [*(h["name"] for h in c.get("headers") or []), *(["sourceCIDR"] if c.get("sourceCIDR") else [])]))),
    ("BackendTrafficPolicy", "spec.rateLimit.global.rules[].clientSelectors[].headers", NAME),
    ("BackendTrafficPolicy", "spec.responseOverride", Rule("key", lambda o: _text(o["match"]))),
    ("BackendTrafficPolicy", "spec.responseOverride[].match.statusCodes", SET),
    ("BackendTrafficPolicy", "spec.responseOverride[].response.header.set", NAME),
    ("SecurityPolicy", "spec.apiKeyAuth.extractFrom", SET),
    ("SecurityPolicy", "spec.apiKeyAuth.extractFrom[].headers", SET),
    ("SecurityPolicy", "spec.authorization.rules", NAME),
    ("SecurityPolicy", "spec.authorization.rules[].principal.headers", NAME),
    ("SecurityPolicy", "spec.authorization.rules[].principal.headers[].values", SET),
    ("SecurityPolicy", "spec.extAuth.headersToExtAuth", SET),
    ("Gateway", "spec.listeners", NAME),
    ("EnvoyProxy", "*loadBalancerSourceRanges", SET),
    # -- core, RBAC, networking
    ("Service", "spec.ports", PORTS),
    ("*", "*containers[].ports", PORTS),
    ("NetworkPolicy", "spec.policyTypes", SET),
    ("NetworkPolicy", "spec.egress", SET),  # rules are OR'ed and have no identity: a changed one shows in full
    ("NetworkPolicy", "spec.ingress", SET),
    ("NetworkPolicy", "spec.egress[].to", SET),
    ("NetworkPolicy", "spec.ingress[].from", SET),
    ("NetworkPolicy", "spec.*gress[].ports", SET),
    ("Role", "rules", SET),
    ("ClusterRole", "rules", SET),
    ("*", "rules[].apiGroups", SET),
    ("*", "rules[].resources", SET),
    ("*", "rules[].resourceNames", SET),
    ("*", "rules[].verbs", SET),
    ("*", "subjects", by_all("kind", "namespace", "name")),
    ("StorageClass", "mountOptions", SET),
    ("ExternalSecret", "spec.data", by("secretKey")),
    ("ClusterSecretStore", "spec.conditions", SET),
    ("ClusterSecretStore", "spec.conditions[].namespaces", SET),
    # -- Karpenter, KEDA, Prometheus Operator
    ("EC2NodeClass", "spec.amiSelectorTerms", SET),
    ("EC2NodeClass", "spec.blockDeviceMappings", by("deviceName")),
    ("EC2NodeClass", "spec.securityGroupSelectorTerms", SET),
    ("EC2NodeClass", "spec.subnetSelectorTerms", SET),
    ("NodePool", "spec.disruption.budgets", SET),
    ("NodePool", "spec.template.spec.requirements", by("key")),
    ("NodePool", "spec.template.spec.requirements[].values", SET),
    ("NodePool", "spec.template.spec.taints", by_all("key", "effect")),
    ("ScaledObject", "spec.triggers", Rule("key", _trigger)),
    ("ScaledObject", "*.policies", by("type")),
    ("PodMonitor", "spec.podMetricsEndpoints", by("port", "portNumber", "path")),
    ("PodMonitor", "spec.podMetricsEndpoints[].*elabelings", WHOLE),  # a chain: order is its meaning
    ("PodMonitor", "spec.podMetricsEndpoints[].*elabelings[].sourceLabels", WHOLE),  # joined in order
    ("PrometheusRule", "spec.groups", NAME),
    ("PrometheusRule", "spec.groups[].rules", Rule("key", lambda r: " ".join(
        [str(r.get("alert") or r["record"]), *(f"{k}={v}" for k, v in sorted((r.get("labels") or {}).items()))]),
        repeats=True)),
    # -- Grafana dashboards and the guard's config (ConfigMap data holding JSON)
    ("ConfigMap", "data.*<json>.panels", by("title", "id")),
    ("ConfigMap", "data.*<json>.panels[].targets", by("refId", "expr")),
    ("ConfigMap", "data.*<json>.panels[].fieldConfig.overrides", WHOLE),
    ("ConfigMap", "data.*<json>.tags", SET),
    ("ConfigMap", "data.*<json>.templating.list", NAME),
    ("ConfigMap", "data.*<json>.requireMaxTokens", SET),
    ("ConfigMap", "data.*<json>.streamUsageRequired", SET),
    ("ConfigMap", "data.*<json>.llm_tiers_guard.features", SET),  # the request guard's feature allow-list
    # -- AWS
    ("aws:*", "*<json>.Statement", Rule("key", _statement)),
    ("aws:*", "*<json>.Statement[].*", SET),  # Action, Resource, Principal.Service, Condition values
    ("aws:cloudwatch/eventRule:EventRule", "eventPattern<json>.*", SET),
    ("aws:ec2/launchTemplate:LaunchTemplate", "blockDeviceMappings", by("deviceName")),
    ("aws:ec2/launchTemplate:LaunchTemplate", "tagSpecifications", by("resourceType")),
    ("aws:ec2/routeTable:RouteTable", "routes", by("cidrBlock", "ipv6CidrBlock", "destinationPrefixListId")),
    ("aws:ec2/vpcEndpoint:VpcEndpoint", "routeTableIds", SET),
    ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "rules", by("id")),
    ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "rules", WHOLE),
    ("aws:ec2/securityGroup:SecurityGroup", "*gress", SET),
    ("aws:ec2/securityGroup:SecurityGroup", "*gress[].*", SET),
    ("aws:eks/addon:Addon", "podIdentityAssociations", by("serviceAccount")),
    ("aws:*", "securityGroups", SET),
    ("aws:*", "*subnetIds", SET),
    ("aws:*", "*SubnetIds", SET),
    ("aws:*", "*securityGroupIds", SET),
    ("aws:*", "*SecurityGroupIds", SET),
    ("aws:*", "instanceTypes", SET),
    ("aws:eks/cluster:Cluster", "enabledClusterLogTypes", SET),
    ("aws:eks/cluster:Cluster", "encryptionConfig.resources", SET),
    ("aws:eks/cluster:Cluster", "vpcConfig.publicAccessCidrs", SET),
    ("aws:*", "*Cidrs", SET),
    ("aws:*", "*cidrBlocks", SET),
    # -- Helm values (charts' own lists)
    ("kubernetes:helm.sh/v3:Release", "values.alertmanager.alertmanagerSpec.secrets", SET),
    ("kubernetes:helm.sh/v3:Release", "values.alertmanager.config.inhibit_rules", SET),
    ("kubernetes:helm.sh/v3:Release", "values.alertmanager.config.inhibit_rules[].*", SET),
    ("kubernetes:helm.sh/v3:Release", "values.alertmanager.config.receivers", NAME),
    ("kubernetes:helm.sh/v3:Release", "values.alertmanager.config.receivers[].*_configs", WHOLE),
    ("kubernetes:helm.sh/v3:Release", "values.alertmanager.config.route.group_by", SET),
    ("kubernetes:helm.sh/v3:Release", "values.alertmanager.config.route.routes", WHOLE),  # first match wins
    ("kubernetes:helm.sh/v3:Release", "values.alertmanager.config.route.routes[].matchers", SET),
    ("kubernetes:helm.sh/v3:Release", "values.config.envoyGateway.extensionManager.hooks.*", SET),
    ("kubernetes:helm.sh/v3:Release", "values.domainFilters", SET),
    # The OpenTelemetry Collector's config: pipelines' processors run in order; the rest are sets.
    ("kubernetes:helm.sh/v3:Release", "values.alternateConfig.service.pipelines.*.processors", WHOLE),
    ("kubernetes:helm.sh/v3:Release", "values.alternateConfig.service.pipelines.*", SET),
    ("kubernetes:helm.sh/v3:Release", "values.alternateConfig.service.extensions", SET),
    ("kubernetes:helm.sh/v3:Release", "values.alternateConfig.processors.k8s_attributes.extract.*", SET),
    ("kubernetes:helm.sh/v3:Release", "values.alternateConfig.processors.k8s_attributes.pod_association", WHOLE),
    ("kubernetes:helm.sh/v3:Release", "values.alternateConfig.processors.k8s_attributes.pod_association[].sources",
     WHOLE),
    ("kubernetes:helm.sh/v3:Release", "values.clusterRole.rules", WHOLE),
    ("kubernetes:helm.sh/v3:Release", "values.clusterRole.rules[].*", SET),
    ("kubernetes:helm.sh/v3:Release", "values.sources", SET),
    ("kubernetes:helm.sh/v3:Release", "values.kube-state-metrics.metricLabelsAllowlist", SET),
    ("kubernetes:helm.sh/v3:Release", "values.*.args", FLAGS),
    ("kubernetes:helm.sh/v3:Release", "values.*extraArgs", FLAGS),
    # -- kubeconfig (the provider's input and the stack output)
    ("*", "kubeconfig<json>.clusters", NAME),
    ("*", "kubeconfig<json>.contexts", NAME),
    ("*", "kubeconfig<json>.users", NAME),
    ("*", "kubeconfig<json>.users[].user.exec.args", WHOLE),  # positional: `aws eks get-token …`
    ("*", "kubeconfig<json>.users[].user.exec.env", NAME),
    # -- stack outputs
    ("outputs", "*<json>.Statement", Rule("key", _statement)),  # IAM policies an output carries
    ("outputs", "*<json>.Statement[].*", SET),
    ("outputs", "bill.fixed", by("item")),
    ("outputs", "bill.tiers", by_all("tier", "release")),
    ("outputs", "bill.notes", SET),
    ("outputs", "bill.usageBilled", SET),
    ("outputs", "bill.tiers[].*", SET),
    ("outputs", "tierPlan", by_all("tier", "serving")),
    ("outputs", "promotionGate", by("tier")),
    ("outputs", "promotionGate[].failing", SET),
    ("outputs", "tierPlan[].*", SET),
    ("outputs", "tokenCost.tiers", by_all("tier", "release")),
    ("outputs", "tokenCost.tiers[].*", SET),
    ("outputs", "systemCapacity.perNode", Rule("key", lambda n: f"node {n['node']}")),
    ("outputs", "systemCapacity.*", SET),
    ("outputs", "models.*", SET),
    ("outputs", "*Cidrs", SET),
    ("outputs", "privateSubnetIds", SET),
    ("outputs", "publicSubnetIds", SET),
]


def rule_for(kind: Optional[str], shape: str) -> Optional[Rule]:
    """The declared rule of the list at ``shape`` in a resource of ``kind`` (None: no rule declared)."""
    for kind_glob, shape_glob, rule in RULES:
        if (kind is None and kind_glob != "*") or (kind is not None and not fnmatch.fnmatchcase(kind, kind_glob)):
            continue
        # "[]" is an element, not a glob character class: compare with it written as "/".
        if fnmatch.fnmatchcase(shape.replace("[]", "/"), shape_glob.replace("[]", "/")):
            return rule
    return None


def kind_of(entry: dict[str, Any]) -> str:
    """The rule kind of a state.json entry: its Kubernetes kind, else its Pulumi type."""
    inputs = entry.get("inputs") or {}
    if entry["type"].startswith("kubernetes:") and isinstance(inputs, dict) and "kind" in inputs:
        return str(inputs["kind"])
    return entry["type"]


def lists(value: Any, shape: str = ""):
    """(shape, list) for every list in ``value``, JSON documents inside strings included."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from lists(v, f"{shape}.{k}" if shape else str(k))
    elif isinstance(value, list):
        yield shape, value
        for v in value:
            yield from lists(v, shape + "[]")
    elif isinstance(value, str) and value[:1] in "{[":
        try:
            doc = json.loads(value)
        except ValueError:
            return
        yield from lists(doc, shape + "<json>")
