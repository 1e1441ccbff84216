"""The ``observability`` section: Prometheus, Alertmanager, Grafana, tracing."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union  # noqa: F401

from pydantic import Field, StringConstraints, field_validator, model_validator  # noqa: F401

# The shared types and patterns (and the modules the validators use), by name.
from llm_tiers.config.base import *  # noqa: F401,F403
from llm_tiers.config.base import _cidr, _Model  # noqa: F401


class PrometheusConfig(_Model):
    retention: Annotated[str, StringConstraints(pattern=PROM_DURATION)] = Field(
        "15d", description="Prometheus TSDB retention (e.g. `15d`).")
    storage_gib: int = Field(
        50, alias="storageGiB", ge=10, le=16000, description="Prometheus persistent volume size (GiB)."
    )
    replicas: int = Field(1, ge=1, le=3, description="Prometheus replicas.")


class AlertReceiverConfig(_Model):
    name: Annotated[str, StringConstraints(pattern=DNS_LABEL)] = Field(
        ..., description="Receiver name; its URL is read from the secret config key `alertReceiverUrls.<name>`."
    )
    type: Literal["slack", "pagerduty", "webhook"] = Field(..., description="Alertmanager receiver type.")
    severities: list[Literal["critical", "warning", "info"]] = Field(
        default_factory=lambda: ["critical", "warning"],  # type: ignore[arg-type]
        min_length=1,
        description="Alert severities routed to this receiver.",
    )


class AlertmanagerConfig(_Model):
    receivers: list[AlertReceiverConfig] = Field(
        default_factory=list, description="Where alerts go. Empty: alerts are only visible in Alertmanager."
    )


class TracingConfig(_Model):
    enabled: bool = Field(
        False,
        description="Run an OpenTelemetry Collector (components/llm_tiers/tracing/) that "
        "receives the engines' and the gateway's spans, adds `inference.backend`, `model_id`, "
        "`tier` and the tenant, and exports them to `otlpEndpoint`.",
    )
    otlp_endpoint: Optional[str] = Field(
        None,
        description="Where the collector exports spans: an OTLP gRPC endpoint `http(s)://host:port` (e.g. "
        "`https://otlp.example.com:4317`; `http://` means no TLS). Required when tracing is enabled.",
    )
    sampling_percent: int = Field(
        10,
        ge=0,
        le=100,
        description="Share of gateway requests (%) Envoy starts a trace for, when the client sent "
        "no sampling decision. The engines trace every request that reaches them.",
    )


class ObservabilityConfig(_Model):
    """kube-prometheus-stack, DCGM exporter, KEDA, rules, alerts, dashboards."""

    prometheus: PrometheusConfig = Field(default_factory=PrometheusConfig, description="Prometheus server.")
    alertmanager: AlertmanagerConfig = Field(default_factory=AlertmanagerConfig, description="Alertmanager.")
    grafana_enabled: bool = Field(True, description="Install Grafana with the tier dashboards.")
    tracing: TracingConfig = Field(default_factory=TracingConfig, description="OpenTelemetry tracing.")
