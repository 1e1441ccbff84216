"""The ``observability`` config section(s) as plain typed dicts (generated: see ``llm_tiers.config.specs``)."""

# No ``from __future__ import annotations``: Pulumi's component provider reads these annotations at runtime.
from typing import Optional, Required, TypedDict


class PrometheusSpec(TypedDict, total=False):
    """``PrometheusConfig`` as plain data."""
    retention: str
    """Prometheus TSDB retention (e.g. `15d`). Default: ``'15d'``. (stack file key ``retention``)"""
    storage_gib: int
    """Prometheus persistent volume size (GiB). Default: ``50``. (stack file key ``storageGiB``)"""
    replicas: int
    """Prometheus replicas. Default: ``1``. (stack file key ``replicas``)"""


class AlertReceiverSpec(TypedDict, total=False):
    """``AlertReceiverConfig`` as plain data."""
    name: Required[str]
    """Receiver name; its URL is read from the secret config key `alertReceiverUrls.<name>`. (stack file key ``name``)"""
    type: Required[str]
    """Alertmanager receiver type. One of: ``slack``, ``pagerduty``, ``webhook``. (stack file key ``type``)"""
    severities: list[str]
    """Alert severities routed to this receiver. One of: ``critical``, ``warning``, ``info``. Default: ``['critical', 'warning']``. (stack file key ``severities``)"""


class AlertmanagerSpec(TypedDict, total=False):
    """``AlertmanagerConfig`` as plain data."""
    receivers: list[AlertReceiverSpec]
    """Where alerts go. Empty: alerts are only visible in Alertmanager. Default: empty. (stack file key ``receivers``)"""


class TracingSpec(TypedDict, total=False):
    """``TracingConfig`` as plain data."""
    enabled: bool
    """Run an OpenTelemetry Collector (components/llm_tiers/tracing/) that receives the engines' and the gateway's spans, adds `inference.backend`, `model_id`, `tier` and the tenant, and exports them to `otlpEndpoint`. Default: ``False``. (stack file key ``enabled``)"""
    otlp_endpoint: Optional[str]
    """Where the collector exports spans: an OTLP gRPC endpoint `http(s)://host:port` (e.g. `https://otlp.example.com:4317`; `http://` means no TLS). Required when tracing is enabled. Default: ``None``. (stack file key ``otlpEndpoint``)"""
    sampling_percent: int
    """Share of gateway requests (%) Envoy starts a trace for, when the client sent no sampling decision. The engines trace every request that reaches them. Default: ``10``. (stack file key ``samplingPercent``)"""


class ObservabilitySpec(TypedDict, total=False):
    """``ObservabilityConfig`` as plain data. kube-prometheus-stack, DCGM exporter, KEDA, rules, alerts, dashboards."""
    prometheus: PrometheusSpec
    """Prometheus server. (stack file key ``prometheus``)"""
    alertmanager: AlertmanagerSpec
    """Alertmanager. (stack file key ``alertmanager``)"""
    grafana_enabled: bool
    """Install Grafana with the tier dashboards. Default: ``True``. (stack file key ``grafanaEnabled``)"""
    tracing: TracingSpec
    """OpenTelemetry tracing. (stack file key ``tracing``)"""
