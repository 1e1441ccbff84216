"""The WeightMirror component's args: their shape, names and region, each problem at its ``args.`` path (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llm_tiers import arguments
from llm_tiers.cluster.rules import region_issues
from llm_tiers.config.issues import ConfigIssue

# S3 general purpose bucket names (Amazon S3 User Guide, "General purpose bucket naming rules"): 3-63 characters,
# lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit; no IP-address form.
# Dots are refused too: virtual-hosted HTTPS (what the AWS CLI and the Run:ai streamer use) cannot verify them.
BUCKET_NAME = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
#: A bucket prefix leaves room for the 26 characters the provider appends (a timestamp and a counter).
MAX_BUCKET_PREFIX = 37


def args_issues(args: Mapping[str, Any]) -> list[ConfigIssue]:
    """Every problem of a ``WeightMirrorArgs`` value, each at its ``args.`` path."""
    from llm_tiers.mirror.component import WeightMirrorArgs

    issues = arguments.shape_issues(args, WeightMirrorArgs)
    if issues:
        return issues
    issues += region_issues(args["region"], "args.region")
    name = args.get("bucket_name")
    if name is not None and not re.match(BUCKET_NAME, name):
        issues.append(ConfigIssue("args.bucket_name", f"{name!r} is not an S3 bucket name this mirror can use: 3-63 "
                                  "lowercase letters, digits and hyphens, starting and ending with a letter or digit"))
    prefix = args.get("name_prefix")
    if prefix is not None and not re.match(r"^[a-z0-9][a-z0-9-]*$", prefix):
        issues.append(ConfigIssue("args.name_prefix", f"{prefix!r}: lowercase letters, digits and hyphens only (the "
                                  "bucket's name starts with it)"))
    if prefix is not None and len(prefix) > MAX_BUCKET_PREFIX - len("-weights-"):
        issues.append(ConfigIssue("args.name_prefix", f"at most {MAX_BUCKET_PREFIX - len('-weights-')} characters "
                                  "(S3 bucket names are at most 63 with the generated suffix)"))
    if args.get("route_table_ids") and not args.get("vpc_id"):
        issues.append(ConfigIssue("args.vpc_id", "required with route_table_ids: the S3 gateway endpoint is created "
                                  "in that VPC"))
    return issues
