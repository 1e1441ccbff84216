"""Keys outside the project's schema: namespaces (``cluster:`` without ``<project>:``), ``aws:region``. Pure."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Optional

from llm_tiers.cluster.rules import AWS_REGIONS, region_issues  # noqa: F401  (AWS_REGIONS re-exported)
from llm_tiers.config.issues import ConfigIssue
from llm_tiers.config.schema import StackConfig
from llm_tiers.stack.parse import top_level_keys




# Namespaces a stack file may hold keys of: this program's and the providers' and Pulumi's own.
PROVIDER_NAMESPACES = ("aws", "kubernetes", "random", "pulumi")


# aws provider keys this program or the provider reads (a near-miss of one is an error; others pass).
AWS_PROVIDER_KEYS = (
    "region", "profile", "accessKey", "secretKey", "token", "assumeRole", "assumeRoles",
    "assumeRoleWithWebIdentity", "allowedAccountIds", "forbiddenAccountIds", "defaultTags", "ignoreTags",
    "sharedCredentialsFiles", "sharedConfigFiles", "skipCredentialsValidation", "skipMetadataApiCheck",
    "skipRegionValidation", "skipRequestingAccountId", "maxRetries", "retryMode", "endpoints", "insecure",
    "stsRegion", "s3UsePathStyle", "customCaBundle", "httpProxy", "httpsProxy", "noProxy", "ec2MetadataServiceEndpoint",
    "ec2MetadataServiceEndpointMode", "useFipsEndpoint", "useDualstackEndpoint", "tokenBucketRateLimiterCapacity",
)


def check_config_keys(keys: Iterable[str], project: str) -> list[ConfigIssue]:
    """Keys of a stack's ``config`` that no one would read: in no namespace (``cluster:`` instead of
    ``<project>:cluster``), in a misspelled or unknown namespace (``llm-tier:tenants``), or a near-miss of an
    aws provider key (``aws:regoin``). Pulumi passes such keys along silently, so a stack would lose its
    tenants or its alerting without a word; each is an error naming the key to write instead."""
    issues: list[ConfigIssue] = []
    project_keys = top_level_keys()
    namespaces = (project, *PROVIDER_NAMESPACES)
    for full in keys:
        namespace, sep, key = full.partition(":")
        if not sep:
            guess: Optional[str] = (full if full in project_keys
                                    else next(iter(difflib.get_close_matches(full, project_keys, n=1)), None))
            where = (f"write it as `{project}:{guess}`" if guess else
                     f"config keys are `<namespace>:<key>`; this project's are `{project}:<key>` "
                     f"({', '.join(project_keys)})")
            issues.append(ConfigIssue(full, f"has no namespace prefix, so the program never reads it; {where}"))
            continue
        if namespace == project:
            continue  # parse() checks the project's keys (unknown ones, near-misses)
        if namespace == "aws":
            if key not in AWS_PROVIDER_KEYS:
                near = difflib.get_close_matches(key, AWS_PROVIDER_KEYS, n=1)
                if near:
                    issues.append(ConfigIssue(full, f"unknown aws provider key; did you mean `aws:{near[0]}`?"))
            continue
        if namespace in PROVIDER_NAMESPACES:
            continue
        close = difflib.get_close_matches(namespace, namespaces, n=1, cutoff=0.6)
        if key in project_keys or (close and close[0] == project):
            hint = f"write it as `{project}:{key}`" if key in project_keys else \
                f"did you mean `{project}:`? (its keys: {', '.join(project_keys)})"
            issues.append(ConfigIssue(full, f"`{namespace}:` is not this project's namespace (`{project}:`), so the "
                                            f"program never reads this key; {hint}"))
        else:
            issues.append(ConfigIssue(full, f"unknown config namespace `{namespace}:`; nothing reads it (this stack "
                                            f"reads `{project}:` keys and the providers' "
                                            f"{', '.join(f'`{n}:`' for n in PROVIDER_NAMESPACES)}); remove it or fix "
                                            "the prefix"))
    return issues


def check_region(region: Optional[str], cfg: Optional[StackConfig] = None) -> list[ConfigIssue]:
    """``aws:region`` is a known region, and the stack's zones and certificate are in it."""
    if not region:
        return [ConfigIssue("aws:region", "required; run `pulumi config set aws:region us-east-1`")]
    issues = region_issues(region, "aws:region")
    if issues:
        return issues
    cluster = getattr(cfg, "cluster", None)
    for i, zone in enumerate((cluster.availability_zones or []) if cluster else []):
        if zone[:-1] != region:
            issues.append(ConfigIssue(f"cluster.availabilityZones[{i}]", f"{zone} is not a zone of aws:region "
                                      f"{region}; use {region}a, {region}b, ..."))
    gateway = getattr(cfg, "gateway", None)
    arn = gateway.tls.certificate_arn if gateway else None
    if arn and arn.split(":")[3] != region:
        issues.append(ConfigIssue("gateway.tls.certificateArn", f"the certificate is in {arn.split(':')[3]}, but the "
                                  f"load balancer is in aws:region {region}; an NLB can only use an ACM certificate of "
                                  "its own region"))
    return issues
