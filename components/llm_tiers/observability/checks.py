"""The observability domain's config rules (``observability.rules`` holds the Prometheus rules it deploys).

Pure. The stack's loader calls :func:`observability_issues`; the Observability component calls it on its args.
"""

from __future__ import annotations

from typing import Any

from llm_tiers.config.issues import ConfigIssue
from llm_tiers.tiers.rules import duplicates
from llm_tiers.tracing.rules import otlp_grpc_endpoint_problem


def observability_issues(obs: Any, prefix: str = "observability") -> list[ConfigIssue]:
    """The ``observability`` section's rules (``prefix``: ``observability`` in a stack file)."""
    issues: list[ConfigIssue] = []
    tracing = obs.tracing
    if tracing.enabled and not tracing.otlp_endpoint:
        issues.append(ConfigIssue(f"{prefix}.tracing.otlpEndpoint", "required when tracing is enabled"))
    for name, idx in duplicates([r.name for r in obs.alertmanager.receivers]).items():
        for i in idx[1:]:
            issues.append(ConfigIssue(f"{prefix}.alertmanager.receivers[{i}].name", f"duplicate receiver {name!r}"))
    if tracing.otlp_endpoint:
        problem = otlp_grpc_endpoint_problem(tracing.otlp_endpoint)
        if problem:
            issues.append(ConfigIssue(f"{prefix}.tracing.otlpEndpoint", problem))
    return issues
