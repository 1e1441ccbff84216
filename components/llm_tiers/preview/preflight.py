"""The API server's answer before anything is registered (pure, no Pulumi resources).

Design (issue 24): the objects whose size and shape grow with the config (the gateway's routes, policies and
backends: one rule per tier, per tenant and tier) are built from the validated config by the same pure
builders the Gateway component uses, and validated as the API server would validate them (CRD schema with
every limit and format, then every CEL rule: ``llm_tiers.preview.validate``) in three places:

1. ``stack.parse`` (always, no schemas needed): the per-object limits the gateway cannot split around
   (``gateway/aigw.py`` ``limit_issues``), so even a preview without the CRDs refuses them by key path.
2. The program, right after the config is loaded and before the first resource (``__main__.py`` calls
   ``check(cfg)``), whenever the pinned CRDs are at hand (``$LLM_TIERS_CRD_DIR``, ``$CRD_SCHEMA_DIR`` or
   ``<project>/.crds`` from ``llm-tiers-crds fetch --dest .crds``): under ``pulumi preview`` and in the render.
3. The render, after the program: every rendered object (core kinds with kubernetes-validate in strict mode,
   custom resources with their CRD and CEL rules); ``llm_tiers.preview.render`` refuses the render on any
   problem (``rendered_problems``).

Each problem names the config key that produced the object where one did (``origin``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional

from llm_tiers import naming
from llm_tiers.config.schema import ConfigError, ConfigIssue, StackConfig, TierConfig

KEYS_SECRET = "tenant-api-keys"


def gateway_objects(cfg: StackConfig, namespace: str = naming.GATEWAY_NAMESPACE,
                    tiers_namespace: str = naming.TIERS_NAMESPACE) -> list[dict[str, Any]]:
    """The gateway objects the config sizes: per tier a Backend and an AIServiceBackend, per route group an
    AIGatewayRoute, SecurityPolicy and BackendTrafficPolicy, the listener's token-budget policy when the
    budgets cannot stay in the single route's (``aigw.token_budget_policy``), each fallback tier's provider objects
    with the routes' fallback backendRefs and retry (``gateway/fallback.py``), and the deprecated per-tier route objects
    while
    ``gateway.perTierUrls``; exactly what the Gateway component registers for them: both build them with
    ``gateway.objects.route_objects``."""
    from llm_tiers.gateway import objects
    from llm_tiers.secrets.component import TENANT_KEYS_SECRET

    return objects.route_objects(cfg.tiers, cfg.tenants, cfg.gateway, namespace, tiers_namespace,
                                 TENANT_KEYS_SECRET).manifests()


def _tier_index(tiers: Sequence[TierConfig], name: Any) -> Optional[int]:
    names = [t.name for t in tiers]
    return names.index(name) if name in names else None


def origin(cfg: StackConfig) -> Callable[[dict[str, Any], str], Optional[str]]:
    """``origin(obj, message)``: the config key that produced ``obj`` (or the part of it a problem is about)."""
    from llm_tiers.gateway import aigw, aigw_rate_limits

    def find(obj: dict[str, Any], message: str) -> Optional[str]:
        kind, meta = obj.get("kind"), obj.get("metadata") or {}
        name = meta.get("name", "")
        where = message.split(":", 1)[0]
        if name == aigw_rate_limits.TOKEN_POLICY_NAME and kind == "BackendTrafficPolicy":
            return "tenants[*].limits.tokensPerMinute"
        if name == aigw.ROUTE_NAME or name.startswith(f"{aigw.ROUTE_NAME}-"):
            if kind == "AIGatewayRoute":
                if where.startswith("spec.rules[") and "]" in where:
                    rule = (obj["spec"]["rules"] + [{}] * 999)[int(where[len("spec.rules["):where.index("]")])]
                    i = _tier_index(cfg.tiers, rule.get("name"))
                    if i is not None:
                        return f"tiers[{i}]" + (".aliases" if ".matches" in where else "")
                return "tiers"
            if kind == "BackendTrafficPolicy":
                if where.startswith("spec.rateLimit"):
                    return "tenants[*].limits"
                if where.startswith("spec.requestBuffer"):
                    return "tenants[*].limits.maxRequestBodyBytes"
                return "gateway"
            if kind == "SecurityPolicy":
                return "tenants[*].tiers" if where.startswith("spec.authorization") else "gateway"
        labels = meta.get("labels") or {}
        for candidate in (labels.get("app.kubernetes.io/instance"), name):
            i = _tier_index(cfg.tiers, candidate)
            if i is not None:
                return f"tiers[{i}]"
        if meta.get("namespace") == naming.GATEWAY_NAMESPACE:
            return "gateway"
        return None

    return find


def check(cfg: StackConfig, crd_dir: Optional[Path] = None, stack_file: str = "the stack config") -> bool:
    """Refuse the stack (``ConfigError``, every problem by config key) when the API server would refuse a
    gateway object the config sizes. Runs before any resource is registered. Returns False when no CRD
    schemas are at hand (nothing checked beyond ``stack.parse``'s limits), True when checked."""
    from llm_tiers.preview import validate

    crd_dir = crd_dir or validate.find_crd_dir()
    if crd_dir is None:
        return False
    problems, _ = validate.check(gateway_objects(cfg), cfg.cluster.kubernetes_version, crd_dir, origin=None)
    find = origin(cfg)
    objects = {validate.describe(o): o for o in gateway_objects(cfg)}
    issues = [ConfigIssue(find(objects[p.object], p.message) or "gateway",
                          f"{_short(p.object)}: {p.message} (the API server would refuse it)") for p in problems]
    if issues:
        raise ConfigError(issues, stack_file)
    return True


def _short(described: str) -> str:
    """``gateway.envoyproxy.io/v1alpha1 BackendTrafficPolicy ns/name`` -> ``BackendTrafficPolicy ns/name``."""
    return described.split(" ", 1)[1] if " " in described else described


def rendered_problems(objects: Sequence[dict[str, Any]], cfg: Optional[StackConfig], crd_dir: Optional[Path],
                      kubernetes_version: str) -> tuple[list[str], list[str]]:
    """Every rendered object as the API server would take it: (problems, objects not checked for want of
    CRD schemas). A problem reads ``<Kind> <ns>/<name>: <path>: <what>; produced by <config key>``."""
    from llm_tiers.preview import validate

    problems, skipped = validate.check(objects, kubernetes_version, crd_dir, origin=origin(cfg) if cfg else None)
    return [f"{_short(p.object)}: {p.message}" for p in problems], skipped


def run(cfg: StackConfig) -> None:
    """``check`` as the program runs it: a refusal is a ``pulumi.RunError`` (what ``pulumi preview`` and the
    render show, as for any config error), before any resource is registered."""
    import pulumi

    try:
        checked = check(cfg, stack_file=f"stacks/Pulumi.{pulumi.get_stack()}.yaml")
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    if not checked:
        pulumi.log.info("the gateway's custom resources were not validated against their CRDs (no CRD schemas at "
                        "hand): run `llm-tiers-crds fetch --dest .crds` or set LLM_TIERS_CRD_DIR")
