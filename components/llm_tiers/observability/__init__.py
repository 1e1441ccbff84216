"""Observability: Prometheus stack, recording and alert rules, dashboards, KEDA."""
