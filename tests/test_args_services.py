"""SecretStore and Observability as typed components (issue 27): each refuses bad args at their ``args.`` paths
before anything is registered (the stack loader's rules for its sections, applied to a composed component), each
constructs through the component provider from plain camelCase inputs (what a TypeScript, Go or YAML program
passes), and secrets stay secret on the way (what AWS and Kubernetes receive)."""

from __future__ import annotations

import pytest

from llm_tiers.observability import component as observability
from llm_tiers.secrets import component as secret_store
from llm_tiers.preview import render as render_tool
from test_component_args import refused, run
from test_provider import constructed

SECRET = render_tool.SECRET_MARKER

# A tier as a TypeScript program writes it (camelCase keys of the stack file).
CHAT = {"name": "chat", "modelId": "Qwen/Qwen2.5-7B-Instruct", "gpuClass": "l4", "maxInputTokens": 4096,
        "maxTotalTokens": 8192, "replicas": {"min": 1, "max": 2}}

# (program body composing the component with bad args, the arg paths the error must name)
BAD: dict[str, tuple[str, list[str]]] = {
    "secret-store-values": ("""
from llm_tiers import SecretStore, SecretStoreArgs, TenantKeyArgs
SecretStore("s", SecretStoreArgs(
    cluster_name="c", region="us-east-1x", refresh_interval="1 hour", recovery_window_days=3,
    tenants=[TenantKeyArgs(name="Alpha"), TenantKeyArgs(name="beta"), TenantKeyArgs(name="beta"),
             TenantKeyArgs(name="beta-previous"), TenantKeyArgs(name="gamma", rotate=-1)],
    fallback_keys={"Bad_Key": pulumi.Output.secret("k")}, gateway_namespace="Gateway"))
""", ["args.region", "args.refresh_interval", "args.recovery_window_days", "args.tenants[0].name",
      "args.tenants[2].name", "args.tenants[3].name", "args.tenants[4].rotate", "args.fallback_keys.Bad_Key",
      "args.gateway_namespace"]),
    "secret-store-shape": ("""
from llm_tiers import SecretStore
cluster = pulumi.Output.from_input("c")
SecretStore("s", {"cluster_name": cluster, "region": "us-east-1", "tenant": [], "protect": "yes",
                  "tenants": [{"rotate": 1}], "refresh_interval": pulumi.Output.from_input("1h")})
""", ["args.tenant", "args.protect", "args.tenants[0].name", "args.refresh_interval"]),
    "secret-store-output-cluster-name": ("""
from llm_tiers import SecretStore, SecretStoreArgs
SecretStore("s", SecretStoreArgs(cluster_name=pulumi.Output.from_input("c"), region="us-east-1"))
""", ["args.name_prefix"]),
    "observability-rules": ("""
from llm_tiers import Observability, ObservabilityArgs
chat = {"name": "chat", "model_id": "Qwen/Qwen2.5-7B-Instruct", "gpu_class": "l4", "max_input_tokens": 4096,
        "max_total_tokens": 4096, "aliases": ["search"],
        "fallback": {"base_url": "https://api.example.com/v1", "model": "chat", "api_key_secret": "openai"}}
search = {"name": "search", "model_id": "Qwen/Qwen2.5-7B-Instruct", "gpu_class": "l4", "max_input_tokens": 1024,
          "max_total_tokens": 2048}
Observability("o", ObservabilityArgs(
    settings={"tracing": {"enabled": True},
              "alertmanager": {"receivers": [{"name": "oncall", "type": "slack"},
                                             {"name": "oncall", "type": "pagerduty"},
                                             {"name": "team", "type": "webhook"}]}},
    tiers=[chat, search, dict(search)], tiers_namespace="Tiers", storage_class="",
    replica_prices={"ghost": 1.0, "search": -2.0}, fallback_prices={"search": 3.0, "chat": 0.0},
    alert_receiver_urls={"oncall": pulumi.Output.secret("https://hooks.example/a"),
                         "nobody": pulumi.Output.secret("https://hooks.example/b")}))
""", ["args.settings.tracing.otlp_endpoint", "args.settings.alertmanager.receivers[1].name",
      "args.settings.alertmanager.receivers[2].name", "args.alert_receiver_urls.nobody",
      "args.tiers[0].max_total_tokens", "args.tiers[0].aliases[0]", "args.tiers[0].fallback.model",
      "args.tiers[2].name", "args.replica_prices.ghost", "args.replica_prices.search",
      "args.fallback_prices.search", "args.fallback_prices.chat", "args.tiers_namespace", "args.storage_class"]),
    "observability-sections": ("""
from llm_tiers import Observability, ObservabilityArgs
Observability("o", ObservabilityArgs(
    settings={"prometheus": {"retention": "30 days", "storage_gib": 1}, "grafana": True,
              "tracing": {"otlp_endpoint": "otlp.example.com:4318/v1/traces"}},
    tiers=[{"name": "Chat", "model_id": "Qwen/Qwen2.5-7B-Instruct", "gpu_class": "l4", "max_input_tokens": 4096,
            "max_total_tokens": 8192, "replicas": {"min": 1, "max": 0.5}}],
    tiers_namespace=pulumi.Output.from_input("llm-tiers")))
""", ["args.settings.grafana", "args.tiers[0].replicas.max", "args.tiers_namespace"]),
    "observability-section-values": ("""
from llm_tiers import Observability, ObservabilityArgs
Observability("o", ObservabilityArgs(
    settings={"prometheus": {"retention": "30 days", "storage_gib": 1},
              "tracing": {"enabled": True, "otlp_endpoint": "otlp.example.com:4318/v1/traces"}},
    tiers=[{"name": "Chat", "model_id": "Qwen/Qwen2.5-7B-Instruct", "gpu_class": "l4", "max_input_tokens": 4096,
            "max_total_tokens": 8192, "replicas": {"min": 1, "max": 0}}]))
""", ["args.settings.prometheus.retention", "args.settings.prometheus.storage_gib", "args.tiers[0].name",
      "args.tiers[0].replicas.max"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_args_are_refused_at_their_paths_before_anything_is_registered(tmp_path, case):
    body, paths = BAD[case]
    refused(tmp_path, body, "SecretStore" if case.startswith("secret") else "Observability", paths)


def test_an_otlp_endpoint_of_the_wrong_protocol_is_named_with_the_tracing_rule(tmp_path):
    """_check_observability's endpoint rule (tracing/rules.py) at the args path, with its advice."""
    with pytest.raises(render_tool.RenderError) as exc:
        run(tmp_path, """
from llm_tiers import Observability, ObservabilityArgs
Observability("o", ObservabilityArgs(
    settings={"tracing": {"enabled": True, "otlp_endpoint": "otlp.example.com:4318/v1/traces"}}))
""")
    line = next(x for x in str(exc.value).splitlines() if x.startswith("  - args.settings.tracing.otlp_endpoint:"))
    assert "not an OTLP gRPC URL" in line and "https://" in line, line


# ------------------------------------------------------------------------------------ SecretStore


def by_name(result, type_token):
    return {r.name: r for r in result.of_type(type_token)}


def external_secrets(result):
    return {o["metadata"]["name"]: o for o in result.kubernetes_objects() if o["kind"] == "ExternalSecret"}


def test_secret_store_constructs_from_plain_inputs(tmp_path):
    result = constructed(tmp_path, "SecretStore", {
        "clusterName": "llm-dev", "region": "us-east-1", "hfToken": "hf_plain_token",
        "tenants": [{"name": "alpha", "rotate": 1}, {"name": "beta"}], "fallbackKeys": {"openai": "sk-plain"},
        "systemNodeSelector": {"role": "system"}})
    # What AWS receives: one secret per tenant key, the previous key of a rotated tenant kept (keep_previous
    # defaults to true), the token and the fallback key; names from the cluster name; the default window.
    secrets = by_name(result, "aws:secretsmanager/secret:Secret")
    assert set(secrets) == {"secretstore-hf-token", "secretstore-tenant-alpha", "secretstore-tenant-alpha-previous",
                            "secretstore-tenant-beta", "secretstore-fallback-openai"}
    assert secrets["secretstore-tenant-alpha"].inputs["namePrefix"] == "llm-dev/tenants/alpha/api-key-"
    assert {s.inputs["recoveryWindowInDays"] for s in secrets.values()} == {30}
    passwords = by_name(result, "random:index/randomPassword:RandomPassword")
    assert set(passwords) == {"secretstore-tenant-alpha", "secretstore-tenant-alpha-b", "secretstore-tenant-beta"}
    # Plain inputs become secrets before they reach any resource.
    versions = by_name(result, "aws:secretsmanager/secretVersion:SecretVersion")
    assert render_tool.redact(versions["secretstore-hf-token"].inputs["secretString"]) == SECRET
    assert render_tool.redact(versions["secretstore-fallback-openai"].inputs["secretString"]) == SECRET
    assert "hf_plain_token" not in repr(render_tool.aws_resources(result.recording))
    # What Kubernetes receives: the token only in the tiers namespace, tenant keys (both ids of alpha) and the
    # fallback key in the gateway namespace, refreshed at the default interval.
    es = external_secrets(result)
    assert es["hf-token"]["metadata"]["namespace"] == "llm-tiers"
    assert [d["secretKey"] for d in es["tenant-api-keys"]["spec"]["data"]] == ["alpha", "alpha-previous", "beta"]
    assert es["fallback-openai"]["metadata"]["namespace"] == "llm-gateway"
    assert {e["spec"]["refreshInterval"] for e in es.values()} == {"1h"}
    (eso,) = [r for r in result.helm_releases() if r["name"] == "external-secrets"]
    assert eso["values"]["nodeSelector"] == {"role": "system"}


def test_secret_store_children_wait_for_opts_depends_on(tmp_path):
    """Other languages pass `dependsOn`; Python callers may also pass the keyword `depends_on`: both reach the
    operator's release."""
    result = run(tmp_path, """
import pulumi_kubernetes as k8s
from llm_tiers import SecretStore, SecretStoreArgs
ns = k8s.core.v1.Namespace("ns", metadata={"name": "llm-gateway"})
nodes = k8s.core.v1.Namespace("nodes", metadata={"name": "nodes"})
s = SecretStore("s", SecretStoreArgs(cluster_name="c", region="us-east-1"),
                opts=pulumi.ResourceOptions(depends_on=[ns]), depends_on=[nodes])
pulumi.export("names", {"hf": s.hf_token_k8s_secret, "ready": len(s.ready), "hf_ready": len(s.hf_token_ready)})
""")
    urns = {r.name: r.urn for r in result.recording.resources}
    (release,) = [r for r in result.recording.resources if r.name == "s-external-secrets"]
    assert {urns["ns"], urns["nodes"]} <= set(release.dependencies)
    (store,) = [r for r in result.recording.resources if r.name == "s-cluster-store"]
    assert {urns["ns"], urns["nodes"]} <= set(store.dependencies)
    # Without a token: no hf-token secret, nothing for a sync Job to wait for.
    assert result.outputs()["names"] == {"hf": None, "ready": 1, "hf_ready": 0}


def test_a_zero_recovery_window_is_secrets_managers_delete_at_once(tmp_path):
    """0 is what AWS accepts besides 7-30 (the component allows it; the stack file keeps 7-30)."""
    result = run(tmp_path, """
from llm_tiers import SecretStore, SecretStoreArgs, TenantKeyArgs
SecretStore("s", SecretStoreArgs(cluster_name="c", region="us-east-1", recovery_window_days=0,
                                 tenants=[TenantKeyArgs(name="alpha")]))
""")
    (secret,) = result.of_type("aws:secretsmanager/secret:Secret")
    assert secret.inputs["recoveryWindowInDays"] == 0


def test_tenant_keys_stay_a_python_property_not_a_component_output():
    from llm_tiers import provider

    schema = provider.schema()["resources"]["llmtiers:index:SecretStore"]
    assert "tenantKeys" not in schema["properties"] and "ready" not in schema["properties"]
    assert {"tenantSecretArns", "hfTokenK8sSecret", "kmsKeyArn"} <= set(schema["properties"])
    assert isinstance(secret_store.SecretStore.tenant_keys, property)
    tenant = provider.schema()["types"]["llmtiers:index:TenantKeyArgs"]
    assert tenant["required"] == ["name"] and set(tenant["properties"]) == {"name", "rotate", "keepPrevious"}


# ------------------------------------------------------------------------------------ Observability


def test_observability_constructs_from_plain_inputs(tmp_path):
    # The provider camelCases the Python names: storage_gib is `storageGib` there (the stack file's `storageGiB`).
    result = constructed(tmp_path, "Observability", {
        "settings": {"prometheus": {"retention": "7d", "storageGib": 20},
                     "alertmanager": {"receivers": [{"name": "oncall", "type": "slack"}]}},
        "alertReceiverUrls": {"oncall": "https://hooks.example/plain"},
        "tiers": [CHAT], "storageClass": "gp3-custom", "replicaPrices": {"chat": 0.8}})
    stack = {r["name"]: r for r in result.helm_releases()}["kube-prometheus-stack"]["values"]
    spec = stack["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "7d"
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3-custom" and claim["resources"]["requests"]["storage"] == "20Gi"
    assert stack["alertmanager"]["alertmanagerSpec"]["secrets"] == [observability.RECEIVERS_SECRET]
    routes = stack["alertmanager"]["config"]["route"]["routes"]
    assert [r["receiver"] for r in routes] == ["oncall"]
    # The receiver's URL reaches the cluster only in the Secret, as a secret.
    (receivers,) = [r for r in result.recording.resources if r.name == "observability-alert-receivers"]
    assert render_tool.redact(receivers.inputs["stringData"]) == SECRET
    assert "hooks.example" not in repr([o for o in result.kubernetes_objects()])
    # Alerts for the tier (labelled with it), and its price in the cost rule.
    (rule,) = [o for o in result.kubernetes_objects() if o["kind"] == "PrometheusRule"]
    rules = [r for g in rule["spec"]["groups"] for r in g["rules"]]
    assert any(r.get("alert") and r["labels"]["tier"] == "chat" for r in rules)
    hourly = {r["expr"] for r in rules if r.get("record") == "llm:tier_hourly_usd"}
    assert hourly == {'llm:tier_replicas{tier="chat"} * 0.8'}


def test_observability_takes_its_storage_class_as_an_output(tmp_path):
    """The StorageClass may come from another resource (a Cluster's, or one made in the same program)."""
    result = run(
        tmp_path,
        """
import pulumi_kubernetes as k8s
from llm_tiers import Observability, ObservabilityArgs
sc = k8s.storage.v1.StorageClass("sc", metadata={"name": "gp3-mine"}, provisioner="ebs.csi.aws.com")
Observability("o", ObservabilityArgs(storage_class=sc.metadata.apply(lambda m: m["name"])), depends_on=[sc])
""",
    )
    stack = {r["name"]: r for r in result.helm_releases()}["kube-prometheus-stack"]["values"]
    claim = stack["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3-mine"
    assert "secrets" not in stack["alertmanager"]["alertmanagerSpec"]  # no receivers: no receivers Secret
    assert not [r for r in result.recording.resources if r.name == "o-alert-receivers"]


def test_the_stack_passes_each_receivers_url_as_its_own_secret(rendered):
    """__main__.py splits the secret map alertReceiverUrls per configured receiver; the Secret keeps one key per
    receiver (the files alertmanager_config reads) and no value in clear."""
    prod = rendered("prod")
    from conftest import stack_values

    receivers = stack_values("prod")["observability"]["alertmanager"]["receivers"]
    (secret,) = [
        o
        for o in prod.kubernetes_objects()
        if o["kind"] == "Secret" and o["metadata"]["name"] == observability.RECEIVERS_SECRET
    ]
    assert sorted(secret["stringData"]) == sorted(r["name"] for r in receivers)
    assert set(secret["stringData"].values()) == {SECRET}
