"""Tracing: the OpenTelemetry Collector that adds tier, engine, model and tenant to spans (manifests, component)."""
