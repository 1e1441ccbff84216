"""Observability: kube-prometheus-stack (Prometheus, Alertmanager, Grafana, kube-state-metrics, node
exporter), the NVIDIA DCGM exporter on GPU nodes, KEDA, and the platform's recording and alert rules.

Secrets stay out of Helm values: Grafana's admin password (pulumi-random) and the alert receivers' URLs
(secret config) go into Kubernetes Secrets that the charts mount by reference.
"""

# No ``from __future__ import annotations``: Pulumi's component provider reads the args' annotations at runtime.
from collections.abc import Mapping, Sequence
from typing import Any, Optional, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from llm_tiers import arguments
from llm_tiers.observability import checks
from llm_tiers.observability import dashboards
from llm_tiers import helm
from llm_tiers.gpu import karpenter
from llm_tiers.observability import rules as monitoring_rules
from llm_tiers.observability import usage
from llm_tiers import naming
from llm_tiers.cluster import system_capacity as sc
from llm_tiers import versions
from llm_tiers.config.schema import AlertReceiverConfig, ObservabilityConfig, TierConfig
from llm_tiers.config.specs import ObservabilitySpec, TierSpec

MONITORING_NAMESPACE = naming.MONITORING_NAMESPACE
KEDA_NAMESPACE = naming.KEDA_NAMESPACE
GRAFANA_SECRET = "grafana-admin"
RECEIVERS_SECRET = "alertmanager-receivers"
RULES_NAME = "llm-tiers"
# In-cluster address of Prometheus (kube-prometheus-stack release "kube-prometheus-stack"), for KEDA.
PROMETHEUS_URL = f"http://kube-prometheus-stack-prometheus.{naming.MONITORING_NAMESPACE}.svc:9090"


# ---------------------------------------------------------------------------------------------- pure


def alertmanager_config(receivers: Sequence[AlertReceiverConfig]) -> dict[str, Any]:
    """Alertmanager routing: each receiver gets the severities it asks for. URLs and keys are read from
    files of the mounted ``alertmanager-receivers`` Secret, never written into the config."""
    secret_dir = f"/etc/alertmanager/secrets/{RECEIVERS_SECRET}"
    built = [{"name": "null"}]
    routes = []
    for r in receivers:
        path = f"{secret_dir}/{r.name}"
        if r.type == "slack":
            body = {"slack_configs": [{"api_url_file": path, "send_resolved": True}]}
        elif r.type == "pagerduty":
            body = {"pagerduty_configs": [{"routing_key_file": path, "send_resolved": True}]}
        else:
            body = {"webhook_configs": [{"url_file": path, "send_resolved": True}]}
        built.append({"name": r.name, **body})  # type: ignore[dict-item]
        routes.append({"receiver": r.name, "continue": True,
                       "matchers": [f'severity=~"{"|".join(r.severities)}"']})
    return {
        "route": {"receiver": "null", "group_by": ["alertname", "tier"], "group_wait": "30s",
                  "group_interval": "5m", "repeat_interval": "4h", "routes": routes},
        "receivers": built,
        "inhibit_rules": [{"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
                           "equal": ["alertname", "tier"]}],
    }


def prometheus_stack_values(cfg: ObservabilityConfig, storage_class: str, system: Mapping[str, str],
                            has_receivers: bool) -> dict[str, Any]:
    """kube-prometheus-stack's values. Every pod's requests are the ones the system capacity check counts
    (components/llm_tiers/cluster/system_capacity.py); the operator gives each Prometheus and Alertmanager pod a
    config-reloader
    sidecar sized by ``prometheusOperator.prometheusConfigReloader.resources``."""
    on_system = {"nodeSelector": dict(system)}
    prom = cfg.prometheus
    return {
        # CRDs come from the prometheus-operator-crds chart (its own object-by-object install, upgraded with
        # the chart); this chart's crds subchart would be installed once and never upgraded by Helm.
        "crds": {"enabled": False},
        "prometheus": {"prometheusSpec": {
            **on_system,
            "resources": sc.PROMETHEUS.resources(),
            "retention": prom.retention,
            "replicas": prom.replicas,
            # Pick up every PodMonitor/ServiceMonitor/PrometheusRule, not only the chart's own.
            "ruleSelectorNilUsesHelmValues": False,
            "serviceMonitorSelectorNilUsesHelmValues": False,
            "podMonitorSelectorNilUsesHelmValues": False,
            "storageSpec": {"volumeClaimTemplate": {"spec": {
                "storageClassName": storage_class, "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": f"{prom.storage_gib}Gi"}}}}},
        }},
        "alertmanager": {
            "enabled": True,
            "alertmanagerSpec": {**on_system, "replicas": sc.ALERTMANAGER_REPLICAS,
                                 "resources": sc.ALERTMANAGER.resources(),
                                 **({"secrets": [RECEIVERS_SECRET]} if has_receivers else {})},
            "config": alertmanager_config(cfg.alertmanager.receivers),
        },
        "grafana": {
            "enabled": cfg.grafana_enabled,
            **on_system,
            "replicas": sc.GRAFANA_REPLICAS,
            "resources": sc.GRAFANA.resources(),
            "admin": {"existingSecret": GRAFANA_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            # Applies to each sidecar container (dashboards, datasources).
            "sidecar": {"resources": sc.GRAFANA_SIDECAR.resources(),
                        "dashboards": {"enabled": True, "label": "grafana_dashboard", "searchNamespace": "ALL"}},
        },
        "prometheusOperator": {
            **on_system,
            "resources": sc.PROMETHEUS_OPERATOR.resources(),
            "prometheusConfigReloader": {"resources": sc.CONFIG_RELOADER.resources()},
            # The admission webhook's certificate hook Jobs.
            "admissionWebhooks": {"patch": {"resources": sc.ADMISSION_JOB.resources(), **on_system}},
        },
        "kube-state-metrics": {
            **on_system,
            "replicas": sc.KUBE_STATE_METRICS_REPLICAS,
            "resources": sc.KUBE_STATE_METRICS.resources(),
            # The tier label on pods lets DCGM series be joined to tiers (llm:tier_gpu_* rules).
            "metricLabelsAllowlist": [f"pods=[{naming.LABEL_DOMAIN}/tier,{naming.LABEL_DOMAIN}/release]"],
        },
        # Node exporter runs on every node, GPU nodes included.
        "prometheus-node-exporter": {"tolerations": [{"operator": "Exists"}],
                                     "resources": sc.NODE_EXPORTER.resources()},
    }


def keda_values(system: Mapping[str, str]) -> dict[str, Any]:
    """KEDA's operator, metrics API server and admission webhooks on the system nodes, with the requests the
    system capacity check counts."""
    one = {"replicaCount": sc.KEDA_REPLICAS}
    return {
        "nodeSelector": dict(system),
        "operator": one, "metricsServer": one, "webhooks": one,
        "resources": {"operator": sc.KEDA_OPERATOR.resources(), "metricServer": sc.KEDA_METRICS_SERVER.resources(),
                      "webhooks": sc.KEDA_WEBHOOKS.resources()},
    }


def dcgm_values() -> dict[str, Any]:
    repo, _, tag = versions.IMAGES["dcgm-exporter"].rpartition(":")
    return {
        "image": {"repository": repo, "tag": tag},
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": karpenter.GPU_CLASS_LABEL, "operator": "Exists"}]}]}}},
        "tolerations": [{"key": karpenter.GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}],
        # honorLabels: the exporter labels each GPU's series with the pod using it (pod, namespace, container:
        # NVIDIA/dcgm-exporter 4.5.3-4.8.2 internal/pkg/transformation/const.go, kubernetes.go). The chart
        # defaults to false (deployment/values.yaml), under which Prometheus keeps the target's labels (the
        # exporter's own pod) and renames the GPU's to exported_pod/exported_namespace, so the join to the
        # tiers' pods matches nothing. kube-prometheus-stack scrapes kube-state-metrics, which reports other
        # pods the same way, with honorLabels: true. The exporter sets no job/instance labels of its own.
        "serviceMonitor": {"enabled": True, "interval": "15s", "honorLabels": True},
    }


def prometheus_rule(tiers: Sequence[TierConfig], tiers_namespace: str,
                    replica_prices: Optional[Mapping[str, float]] = None,
                    fallback_prices: Optional[Mapping[str, float]] = None) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
        "metadata": {"name": RULES_NAME, "namespace": MONITORING_NAMESPACE,
                     "labels": naming.k8s_labels("observability", RULES_NAME)},
        "spec": {"groups": [*monitoring_rules.rule_groups(tiers, tiers_namespace, replica_prices),
                            *usage.rule_groups(tiers, fallback_prices)]},
    }


# ---------------------------------------------------------------------------------------------- component


class ObservabilityArgs(TypedDict, total=False):
    """Inputs of :class:`Observability`."""

    settings: ObservabilitySpec
    """The ``observability`` config section (Prometheus, Alertmanager receivers, Grafana). Default: the section's
    defaults."""
    tiers: list[TierSpec]
    """Tiers whose alerts and usage rules to create (thresholds from each tier's config). Default: none."""
    tiers_namespace: str
    """Namespace of the tiers' Deployments and Jobs (alert selectors). Default: ``llm-tiers``."""
    storage_class: pulumi.Input[str]
    """StorageClass of Prometheus's volume (the Cluster's ``block_storage_class``, or
    ``retained_block_storage_class`` to keep the volume when the stack is destroyed); depend on the StorageClass.
    Default: ``gp3-encrypted``."""
    system_node_selector: dict[str, str]
    """Where everything but the DCGM exporter and node exporter runs. Default: any node."""
    replica_prices: dict[str, float]
    """Tier -> on-demand USD per replica-hour (the whole GPU node a replica gets,
    ``llm_tiers.stack.plan.replica_prices``), for the
    cost panel and ``llm:tier_hourly_usd``. Default: none."""
    fallback_prices: dict[str, float]
    """Tier (with a fallback) -> USD per 1M output tokens at its fallback provider (``cost.managedPriceByTier``),
    for ``llm:tenant_hourly_usd{via="fallback"}`` (observability/usage.py). Default: none."""
    alert_receiver_urls: dict[str, pulumi.Input[str]]
    """Receiver name -> its URL (or PagerDuty routing key), secrets; one for each of
    ``settings.alertmanager.receivers`` and no other. Default: none."""


class Observability(pulumi.ComponentResource):
    """Metrics, alerts, dashboards and KEDA. See docs/components/observability.md.

    Python callers may also pass ``depends_on`` (keyword): resources the charts and Secrets are created after
    (nodes, the StorageClass, namespaces). Other languages use the resource option ``dependsOn``, which the
    component passes on to the same children. ``ready`` is a Python-only property; other languages wait on the
    component itself."""

    namespace: str
    """Namespace of Prometheus, Alertmanager, Grafana and the exporters."""
    grafana_admin_password: pulumi.Output[str]
    """Secret Output; also in the ``grafana-admin`` Secret. Never export it in plaintext."""

    def __init__(self, resource_name: str, args: ObservabilityArgs, opts: Optional[pulumi.ResourceOptions] = None,
                 *, depends_on: Sequence[pulumi.Resource] = ()):
        # Every problem at its args path, before anything (this component included) is registered.
        arguments.refuse("Observability", resource_name, checks.args_issues(args))
        super().__init__(naming.type_token("Observability"), resource_name, None, opts)
        a = checks.resolved(args)
        settings: ObservabilityConfig = a["settings"]
        deps = [*depends_on, *arguments.resources(opts.depends_on if opts else None)]
        ns = MONITORING_NAMESPACE
        after = pulumi.ResourceOptions(parent=self, depends_on=list(deps))

        password = random.RandomPassword(f"{resource_name}-grafana-admin", length=32, special=False,
                                         opts=pulumi.ResourceOptions(parent=self))
        grafana_secret = k8s.core.v1.Secret(
            f"{resource_name}-grafana-admin",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GRAFANA_SECRET, namespace=ns,
                                                labels=naming.k8s_labels("observability", "grafana")),
            string_data={"admin-user": "admin", "admin-password": password.result}, opts=after)
        secrets: list[pulumi.Resource] = [grafana_secret]
        receivers = settings.alertmanager.receivers
        if receivers:
            # One secret map, receiver -> URL: the Secret's data keys are the files alertmanager_config reads.
            urls = pulumi.Output.all(**{r.name: a["alert_receiver_urls"][r.name] for r in receivers})
            secrets.append(k8s.core.v1.Secret(
                f"{resource_name}-alert-receivers",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=RECEIVERS_SECRET, namespace=ns,
                                                    labels=naming.k8s_labels("observability", "alertmanager")),
                string_data=pulumi.Output.secret(urls), opts=after))  # type: ignore[arg-type]

        operator_crds = helm.crd_chart(f"{resource_name}-prometheus-operator-crds", "prometheus-operator-crds",
                                       values={}, opts=pulumi.ResourceOptions(parent=self, depends_on=list(deps)))
        stack = helm.release(
            f"{resource_name}-kube-prometheus-stack", "kube-prometheus-stack", name="kube-prometheus-stack",
            namespace=ns,
            values=prometheus_stack_values(settings, a["storage_class"], a["system_node_selector"], bool(receivers)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*deps, *secrets, operator_crds]))
        helm.release(f"{resource_name}-dcgm-exporter", "dcgm-exporter", name="dcgm-exporter", namespace=ns,
                     values=dcgm_values(), opts=pulumi.ResourceOptions(parent=self, depends_on=[stack]))
        keda = helm.release(f"{resource_name}-keda", "keda", name="keda", namespace=KEDA_NAMESPACE,
                            create_namespace=True, values=keda_values(a["system_node_selector"]),
                            opts=after)
        rule = prometheus_rule(a["tiers"], a["tiers_namespace"], a["replica_prices"], a["fallback_prices"])
        rules = k8s.apiextensions.CustomResource(
            f"{resource_name}-rules", api_version=rule["apiVersion"], kind=rule["kind"], metadata=rule["metadata"],
            spec=rule["spec"], opts=pulumi.ResourceOptions(parent=self, depends_on=[stack]))

        # Provisioned through Grafana's dashboard sidecar (label grafana_dashboard), not hand-imported.
        k8s.core.v1.ConfigMap(
            f"{resource_name}-dashboard",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="llm-tiers-dashboard", namespace=ns,
                                                labels={**naming.k8s_labels("observability", "grafana"),
                                                        "grafana_dashboard": "1"}),
            data={"llm-tiers.json": dashboards.dashboard_json(), "llm-usage.json": usage.dashboard_json()}, opts=after)

        self.namespace = ns
        self.grafana_admin_password = pulumi.Output.secret(password.result)
        self._ready: list[pulumi.Resource] = [operator_crds, stack, keda, rules]
        self.register_outputs({"namespace": ns, "prometheusRule": RULES_NAME})

    @property
    def ready(self) -> list[pulumi.Resource]:
        """The monitoring release, KEDA and the rules, to depend on."""
        return self._ready
