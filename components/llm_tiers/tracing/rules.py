"""The tracing domain's rules: what an OTLP export endpoint must look like, and the Tracing component's args.

Pure. The stack's loader calls :func:`otlp_grpc_endpoint_problem` for ``observability.tracing.otlpEndpoint``;
the component calls :func:`args_issues` on its own args, so a composed collector is checked the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Optional

from llm_tiers import arguments
from llm_tiers.arguments import cidr_issues, namespace_issues
from llm_tiers import naming
from llm_tiers.config.issues import ConfigIssue

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

DEFAULTS: dict[str, Any] = {
    "namespace": naming.MONITORING_NAMESPACE,
    "tiers_namespace": naming.TIERS_NAMESPACE,
    "gateway_namespace": naming.ENVOY_GATEWAY_NAMESPACE,
    "system_node_selector": {},
    "node_cidrs": [],
}


def otlp_grpc_endpoint_problem(value: str) -> Optional[str]:
    """Why ``value`` is not an OTLP gRPC endpoint URL (``http(s)://host:port``, no path), else None. The collector's
    ``otlp`` exporter speaks gRPC (opentelemetry-collector exporter/otlpexporter: ``endpoint`` is a gRPC target);
    ``/v1/traces`` is the OTLP/HTTP path of the other exporter, and a bare ``host:port`` has no scheme to say
    whether TLS is on (``http://`` is plaintext here, tracing/manifests.py)."""
    from urllib.parse import urlsplit

    try:
        u = urlsplit(value)
        port = u.port
    except ValueError as exc:
        return f"{value!r} is not a URL ({exc}); write it as https://host:4317 (http:// for plaintext)"
    if u.scheme not in ("http", "https") or not u.hostname:
        example = value if "://" not in value and value else "otlp.example.com:4317"
        return (f"{value!r} is not an OTLP gRPC URL: it needs a scheme and a host, e.g. https://{example} "
                "(http:// for plaintext inside the cluster)")
    if u.path not in ("", "/") or u.query or u.fragment:
        return (f"{value!r} has a path ({u.path or '?' + u.query}): that is an OTLP/HTTP URL, but the collector "
                f"exports over OTLP gRPC to host:port alone; use {u.scheme}://{u.hostname}:4317 (the gRPC port)")
    if port is None:
        return f"{value!r} has no port; OTLP gRPC listens on 4317 by default: {u.scheme}://{u.hostname}:4317"
    return None


def args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of a ``TracingArgs`` value, each at its ``args.`` path."""
    from llm_tiers.tracing.component import TracingArgs

    issues = arguments.shape_issues(args, TracingArgs)
    if issues:
        return issues
    problem = otlp_grpc_endpoint_problem(args["export_endpoint"])
    if problem:
        issues.append(ConfigIssue("args.export_endpoint", problem))
    issues += namespace_issues(args, ("namespace", "tiers_namespace", "gateway_namespace"))
    issues += cidr_issues(args.get("node_cidrs"), "args.node_cidrs")
    return issues


def resolved(args: Mapping[str, Any]) -> dict[str, Any]:
    """The args with every default filled in (checked args only)."""
    return {**DEFAULTS, **{k: v for k, v in args.items() if v is not None}}
