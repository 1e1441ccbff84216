"""The package as a Pulumi component provider: every exported component, for any Pulumi language.

``provider/`` (PulumiPlugin.yaml, __main__.py) runs :func:`main`; ``pulumi package add`` starts it, reads the schema
Pulumi's component provider infers from each component's typed args (``llm_tiers.arguments``), and generates an SDK
in the consuming program's language (docs/components/README.md, "From TypeScript, Go, C# and YAML"). The inferred
schema is committed as ``provider/schema.json`` and a test keeps it current.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import pulumi

PACKAGE = "llmtiers"
"""The package name: type tokens are ``llmtiers:index:<Component>`` (llm_tiers.naming.type_token)."""
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "provider" / "schema.json"


def version() -> str:
    try:
        return metadata.version("llm-tiers")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0.0.0"


# TEMPORARY (issue 27): exported components whose args are still dataclasses holding config models, which the
# provider cannot infer a schema from; each leaves this set when its args become a TypedDict. Empty when done.
PENDING = {"Benchmark", "Cluster", "Dns", "Evaluation", "Gateway", "GpuCapacity", "LoadBalancerController",
           "ModelTier", "Namespaces", "Observability", "SecretStore"}


def components() -> list[type[pulumi.ComponentResource]]:
    """Every component the package exports (``llm_tiers.__all__``), in that order."""
    import llm_tiers

    found = [getattr(llm_tiers, name) for name in llm_tiers.__all__]
    return [c for c in found if isinstance(c, type) and issubclass(c, pulumi.ComponentResource)
            and c.__name__ not in PENDING]


def provider() -> Any:
    """The component provider over :func:`components` (infers the schema; raises when a type is unsupported)."""
    from pulumi.provider.experimental.component import ComponentProvider

    return ComponentProvider(components(), PACKAGE, None, version())


def schema() -> dict[str, Any]:
    """The inferred package schema, as ``pulumi package get-schema`` would print it."""
    return json.loads(provider().schema)


def write_schema() -> Path:
    """Write :func:`schema` to ``provider/schema.json`` (sorted keys, so a PR diff shows what changed)."""
    SCHEMA_PATH.write_text(json.dumps(schema(), indent=2, sort_keys=True) + "\n")
    return SCHEMA_PATH


def main() -> None:
    """Serve the components (what ``pulumi package add`` and ``pulumi up`` of a consuming program start)."""
    from pulumi.provider.experimental.host import component_provider_host

    component_provider_host(components(), PACKAGE, None, version())


if __name__ == "__main__":
    # `python -m llm_tiers.provider --schema` rewrites provider/schema.json (a repository step; a test compares).
    import sys

    if sys.argv[1:] == ["--schema"]:
        print(f"wrote {write_schema()}")
    else:
        main()
