"""The checks that need the whole stack: every domain's rules called at stack-file key paths, and the system node
group's fit (every system pod of every component on ``desiredSize`` nodes).

Pure. ``llm_tiers.stack.parse`` runs :func:`semantic_issues` once the sections validated.
"""

from __future__ import annotations

from llm_tiers.benchmark import rules as benchmark_rules
from llm_tiers.cluster import rules as cluster_rules
from llm_tiers.stack import system_capacity
from llm_tiers.config.issues import ConfigIssue
from llm_tiers.config.schema import StackConfig
from llm_tiers.cost import rules as cost_rules
from llm_tiers.evaluation import rules as eval_rules
from llm_tiers.gateway import aigw
from llm_tiers.gateway import rules as gateway_rules
from llm_tiers.gpu import rules as gpu_rules
from llm_tiers.observability import checks as observability_checks
from llm_tiers.tiers import rules as tier_rules


def system_capacity_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """Every system pod must fit on desiredSize nodes of each listed instance type (no autoscaler grows the
    system node group; components/llm_tiers/cluster/system_capacity.py has the requests and the allocatable formula)."""
    path = "cluster.systemNodeGroup"
    issues: list[ConfigIssue] = []
    for i, itype in enumerate(cfg.cluster.system_node_group.instance_types):
        if system_capacity.lookup(itype) is None:
            families = sorted({name.split(".")[0] for name in system_capacity.CATALOG})
            issues.append(ConfigIssue(f"{path}.instanceTypes[{i}]", (
                f"{itype!r} is not in the system instance catalog, so the system pods cannot be checked against it; "
                f"use a {'/'.join(families)} size from large to 8xlarge, or add it to CATALOG in "
                "components/llm_tiers/cluster/system_capacity.py with its vCPUs, memory and ENI limits")))
    for fit in system_capacity.fits_for(cfg):
        if not fit.fits:
            key, message = system_capacity.misfit_message(cfg, fit)
            issues.append(ConfigIssue(f"{path}.{key}", message))
    return issues


def semantic_issues(cfg: StackConfig) -> list[ConfigIssue]:
    """Every rule of every domain on a stack whose sections each validated, at stack-file key paths."""
    issues = cluster_rules.cluster_issues(cfg.cluster)
    tier_names = [t.name for t in cfg.tiers]
    issues += tier_rules.tier_name_issues(cfg.tiers)
    for i, t in enumerate(cfg.tiers):
        issues += tier_rules.tier_issues(i, t, cfg.gpu_classes)
    issues += tier_rules.fallback_issues(cfg.tiers)
    # The gateway splits the tiers over as many routes and policies as the per-object limits need; what one
    # tier alone would put over a limit is refused here (gateway/aigw.py, route groups).
    issues += [ConfigIssue(path, message) for path, message in aigw.limit_issues(cfg.tiers, cfg.tenants, cfg.gateway)]
    for name, cls in cfg.gpu_classes.items():
        issues += gpu_rules.gpu_class_issues(name, cls)
        issues += gpu_rules.gpu_budget_issues(name, cls, cfg.tiers)
        issues += gpu_rules.warm_nodes_issues(name, cls, cfg.tiers)
    issues += gateway_rules.tenant_issues(cfg.tenants, tier_names)
    issues += gateway_rules.gateway_issues(cfg.gateway)
    issues += system_capacity_issues(cfg)
    issues += benchmark_rules.benchmark_issues(cfg.benchmark, cfg.tiers)
    issues += cost_rules.cost_issues(cfg.cost, tier_names)
    issues += observability_checks.observability_issues(cfg.observability)
    issues += eval_rules.eval_issues(cfg.tiers, cfg.benchmark.tiers)
    issues += gateway_rules.feature_issues(cfg.gateway.features)
    return issues
