"""SecretStore: KMS, Secrets Manager, External Secrets, tenant keys; secrets never in plaintext."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
import yaml

from llm_tiers.secrets import component as secret_store
from llm_tiers.stack.parse import parse
from conftest import STACKS, overrides, stack_values
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import documents
from llm_tiers.preview import validate

COMPONENT = "llmtiers:index:SecretStore$"


def mine(result, type_token):
    return [r for r in result.of_type(type_token) if COMPONENT in r.urn]


def objects(result, kind):
    return [o for o in result.kubernetes_objects() if o["kind"] == kind]


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_are_encrypted_with_the_platform_key(rendered, stack):
    r = rendered(stack)
    (key,) = mine(r, "aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    key_arn = f"arn:aws:kms:us-east-1:111122223333:key/{key.id}"
    cfg = parse(stack_values(stack))
    secrets = mine(r, "aws:secretsmanager/secret:Secret")
    # Names are generated from these prefixes (a deleted name stays reserved for the recovery window).
    assert {s.inputs["namePrefix"] for s in secrets} == {f"{cfg.cluster_name}/hf-token-"} | {
        f"{cfg.cluster_name}/tenants/{t.name}/api-key-" for t in cfg.tenants}
    assert not any("name" in s.inputs for s in secrets)
    for s in secrets:
        assert s.inputs["kmsKeyId"] == key_arn
        assert s.inputs["recoveryWindowInDays"] == cfg.secret_store.recovery_window_days
    versions = mine(r, "aws:secretsmanager/secretVersion:SecretVersion")
    assert len(versions) == len(secrets)
    assert all(documents.redact(v.inputs)["secretString"] == "[secret]" for v in versions)


@pytest.mark.parametrize("stack", STACKS)
def test_external_secrets_can_read_only_these_secrets_with_only_this_key(rendered, stack):
    r = rendered(stack)
    secret_arns = {s.id for s in mine(r, "aws:secretsmanager/secret:Secret")}
    (key,) = mine(r, "aws:kms/key:Key")
    (policy,) = mine(r, "aws:iam/rolePolicy:RolePolicy")
    read, decrypt = json.loads(policy.inputs["policy"])["Statement"]
    assert set(read["Resource"]) == secret_arns and "*" not in json.dumps(read["Resource"])
    assert read["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"] == f"arn:aws:kms:us-east-1:111122223333:key/{key.id}"
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}
    (assoc,) = mine(r, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert (assoc.inputs["namespace"], assoc.inputs["serviceAccount"]) == ("external-secrets", "external-secrets")
    (role,) = mine(r, "aws:iam/role:Role")
    statement = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}


@pytest.mark.parametrize("stack", STACKS)
def test_sync_targets(rendered, stack):
    r = rendered(stack)
    cfg = parse(stack_values(stack))
    (store,) = objects(r, "ClusterSecretStore")
    assert store["spec"]["provider"] == {"aws": {"service": "SecretsManager", "region": "us-east-1"}}
    assert store["spec"]["conditions"] == [{"namespaces": ["llm-gateway", "llm-tiers"]}]
    syncs = {o["metadata"]["name"]: o for o in objects(r, "ExternalSecret")}
    assert set(syncs) == {"hf-token", "tenant-api-keys"}
    hf = syncs["hf-token"]
    assert hf["metadata"]["namespace"] == "llm-tiers"
    names = {s.inputs["namePrefix"]: s.outputs["name"] for s in mine(r, "aws:secretsmanager/secret:Secret")}
    assert hf["spec"]["data"] == [{"secretKey": "HF_TOKEN",
                                   "remoteRef": {"key": names[f"{cfg.cluster_name}/hf-token-"]}}]
    keys = syncs["tenant-api-keys"]
    assert keys["metadata"]["namespace"] == "llm-gateway"
    assert {d["secretKey"]: d["remoteRef"]["key"] for d in keys["spec"]["data"]} == {
        t.name: names[f"{cfg.cluster_name}/tenants/{t.name}/api-key-"] for t in cfg.tenants}
    for s in syncs.values():
        assert s["spec"]["refreshInterval"] == cfg.secret_store.refresh_interval
        assert s["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}
    token_refs = [o for o in objects(r, "ExternalSecret") if "hf-token" in json.dumps(o["spec"]["data"])]
    assert [o["metadata"]["namespace"] for o in token_refs] == ["llm-tiers"], "the HF token goes nowhere else"


@pytest.mark.parametrize("stack", STACKS)
def test_secret_store_objects_validate_against_the_crds(rendered, stack, crd_schemas):
    objs = objects(rendered(stack), "ExternalSecret") + objects(rendered(stack), "ClusterSecretStore")
    assert len(objs) == 3
    problems, skipped = validate.validate_objects(objs, "1.34", crd_schemas)
    assert not problems and not skipped, problems


def test_operator_release(rendered):
    (rel,) = [x for x in rendered("prod").helm_releases() if x["name"] == "external-secrets"]
    assert (rel["chart"], rel["version"]) == ("external-secrets", "2.9.0")
    assert rel["namespace"] == "external-secrets"
    v = rel["values"]
    assert v["serviceAccount"]["name"] == "external-secrets" and v["installCRDs"] is True
    for part in (v, v["webhook"], v["certController"]):
        assert part["nodeSelector"] == {"llm-tiers.io/node-role": "system"}
    # Several controller replicas: only the leader may reconcile.
    assert v["replicaCount"] > 1 and v["leaderElect"] is True


def test_operator_turns_on_what_the_chart_leaves_off(rendered, chart_values):
    """The pinned chart's default is leaderElect off: the release must set it."""
    chart = chart_values / "external-secrets" / "values.yaml"
    assert yaml.safe_load(chart.read_text())["leaderElect"] is False
    (rel,) = [x for x in rendered("prod").helm_releases() if x["name"] == "external-secrets"]
    assert rel["values"]["leaderElect"] is True


def test_without_a_token_nothing_token_related_is_created():
    result = render_tool.render("dev", omit_secrets=True)
    assert not [s for s in result.of_type("aws:secretsmanager/secret:Secret") if "/hf-token" in s.inputs["namePrefix"]]
    assert [o["metadata"]["name"] for o in objects(result, "ExternalSecret")] == ["tenant-api-keys"]


def _resource_names(result):
    return {(r.type, r.name) for r in result.custom_resources}


def test_adding_and_removing_a_tenant_changes_exactly_its_resources():
    base = stack_values("dev")
    more = stack_values("dev")
    more["tenants"].append({"name": "newbie", "tiers": ["chat-small"]})
    before = render_tool.render("dev", overrides=overrides(base))
    after = render_tool.render("dev", overrides=overrides(more))
    added = _resource_names(after) - _resource_names(before)
    assert added == {("random:index/randomPassword:RandomPassword", "secrets-tenant-newbie"),
                     ("aws:secretsmanager/secret:Secret", "secrets-tenant-newbie"),
                     ("aws:secretsmanager/secretVersion:SecretVersion", "secrets-tenant-newbie")}
    assert _resource_names(before) - _resource_names(after) == set(), "removing is the exact inverse"
    # Besides the new resources, only the ESO read policy, the gateway's key sync, the policies of the
    # tier the tenant was granted (the per-tier route's and the single route's) and the request guard's data
    # (it lists every client id: a tenant it does not know is refused) change.
    changed = {(r.type, r.name) for r in before.custom_resources
               if r.inputs != next(a.inputs for a in after.custom_resources if (a.type, a.name) == (r.type, r.name))}
    assert changed == {("aws:iam/rolePolicy:RolePolicy", "secrets-eso"),
                       ("kubernetes:external-secrets.io/v1:ExternalSecret", "secrets-tenant-keys-sync"),
                       ("kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy", "gateway-chat-small-security"),
                       ("kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy", "gateway-chat-small-traffic"),
                       ("kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy", "gateway-ai-security"),
                       ("kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy", "gateway-ai-traffic"),
                       ("kubernetes:core/v1:ConfigMap", "gateway-guard-configmap")}


def _keepers(result):
    return {r.name: r.inputs["keepers"] for r in result.of_type("random:index/randomPassword:RandomPassword")
            if r.name.startswith("secrets-tenant-")}


def _key_sync(result):
    (es,) = [o for o in objects(result, "ExternalSecret") if o["metadata"]["name"] == "tenant-api-keys"]
    return [d["secretKey"] for d in es["spec"]["data"]]


def test_key_slots_take_turns():
    assert secret_store.key_slots(0, True) == [("a", 0, True)]
    assert secret_store.key_slots(1, True) == [("a", 0, False), ("b", 1, True)]
    assert secret_store.key_slots(2, True) == [("a", 2, True), ("b", 1, False)]
    assert secret_store.key_slots(2, False) == [("a", 2, True)]


def test_rotation_keeps_the_previous_key_valid_until_it_is_dropped():
    """rotate 0 -> 1 -> 2 -> drop: each rotation adds a key and leaves the one clients use untouched (its
    generator's name and keepers do not change, so its random value survives); the gateway accepts both as
    the same tenant (grants, one rate-limit bucket, body limits); dropping removes only the old one."""
    values = stack_values("prod")
    r0 = render_tool.render("prod", overrides=overrides(values))
    values["tenants"][1]["rotate"] = 1                       # support-bot: it has its own body limit
    r1 = render_tool.render("prod", overrides=overrides(values))
    values["tenants"][1]["rotate"] = 2
    r2 = render_tool.render("prod", overrides=overrides(values))
    values["tenants"][1]["dropPreviousKey"] = True
    r3 = render_tool.render("prod", overrides=overrides(values))
    k0, k1, k2, k3 = map(_keepers, (r0, r1, r2, r3))
    a, b = "secrets-tenant-support-bot", "secrets-tenant-support-bot-b"
    assert k0[a] == k1[a] == {"rotate": "0"} and k1[b] == {"rotate": "1"}, "rotate 1 adds a key, keeps the old"
    assert k2[b] == k1[b] and k2[a] == {"rotate": "2"}, "rotate 2 replaces only the oldest key"
    assert b not in k3 and k3[a] == k2[a], "dropping removes the previous key only"
    assert {n: k for n, k in k1.items() if "support-bot" not in n} == {n: k for n, k in k0.items()
                                                                       if "support-bot" not in n}
    assert _key_sync(r0) == ["analytics", "search", "support-bot"]
    assert _key_sync(r1) == _key_sync(r2) == ["analytics", "search", "support-bot", "support-bot-previous"]
    assert _key_sync(r3) == _key_sync(r0)
    policy = {o["metadata"]["name"]: o for o in objects(r1, "SecurityPolicy")}["chat-small"]["spec"]
    (grant,) = [x for x in policy["authorization"]["rules"] if x["name"] == "granted-tenants"]
    assert grant["principal"]["headers"][0]["values"] == ["search", "support-bot", "support-bot-previous"]
    (body,) = [x for x in policy["authorization"]["rules"] if x["name"] == "body-limit-support-bot"]
    assert "['support-bot', 'support-bot-previous']" in body["cel"]
    traffic = {o["metadata"]["name"]: o for o in objects(r1, "BackendTrafficPolicy")}["chat-small"]["spec"]
    selectors = [rule["clientSelectors"][0]["headers"][0] for rule in traffic["rateLimit"]["global"]["rules"]]
    rotating = [x for x in selectors if x["type"] == "RegularExpression"]
    assert len(rotating) == 2 and all(re.fullmatch(x["value"], t) for x in rotating
                                      for t in ("support-bot", "support-bot-previous"))
    assert not any(re.fullmatch(x["value"], "support-bot-x") for x in rotating)
    assert any("support-bot's previous API key (before rotate 2) is still accepted" in w for w in r2.recording.warnings)
    assert not any("previous API key" in w for w in r3.recording.warnings)


def test_a_tenant_name_may_not_take_the_previous_key_suffix():
    values = stack_values("dev")
    values["tenants"][0]["name"] = "playground-previous"
    with pytest.raises(render_tool.RenderError, match=r"tenants\[0\]\.name: must not end with '-previous'"):
        render_tool.render("dev", overrides=overrides(values))


def test_tenant_keys_have_the_openai_shape_and_stay_secret(tmp_path):
    """Compose SecretStore alone; unwrap a key deliberately, as only a test may, to check its shape."""
    (tmp_path / "Pulumi.yaml").write_text("name: keys\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        textwrap.dedent("""
        import pulumi
        from llm_tiers import SecretStore, SecretStoreArgs, TenantKeyArgs
        s = SecretStore("s", SecretStoreArgs(cluster_name="c", region="us-east-1",
                                             tenants=[TenantKeyArgs(name="alpha"),
                                                      TenantKeyArgs(name="beta", rotate=2)]))
        pulumi.export("alpha", pulumi.Output.unsecret(s.tenant_keys["alpha"]))
        pulumi.export("beta_is_secret", s.tenant_keys["beta"])
    """)
    )
    result = render_tool.run_program("test", {"aws:region": "us-east-1"}, [], project_dir=tmp_path)
    out = result.outputs()
    assert re.fullmatch(r"sk-[A-Za-z0-9]{48}", out["alpha"]), out["alpha"]
    assert out["beta_is_secret"] == "[secret]"
    (password,) = [
        r for r in result.of_type("random:index/randomPassword:RandomPassword") if r.name == "s-tenant-alpha"
    ]
    assert password.inputs["length"] == secret_store.API_KEY_RANDOM_LENGTH and password.inputs["special"] is False


def test_stack_outputs_carry_arns_not_keys(rendered):
    out = rendered("prod").outputs()
    arns = out["tenantKeySecretArns"]
    assert set(arns) == {"search", "support-bot", "analytics"}
    assert all(v.startswith("arn:aws:secretsmanager:") for v in arns.values())


def test_namespaces_enforce_pod_security(rendered):
    ns = {o["metadata"]["name"]: o["metadata"]["labels"] for o in objects(rendered("prod"), "Namespace")}
    assert ns["llm-gateway"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns["llm-tiers"]["pod-security.kubernetes.io/enforce"] == "baseline"
    for operator_ns in ("external-secrets", "keda", "envoy-gateway-system"):
        assert ns[operator_ns]["pod-security.kubernetes.io/enforce"] == "baseline"
