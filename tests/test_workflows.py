"""GitHub workflows validate against the GitHub workflow schema (check-jsonschema's vendored copy) and use
only pinned action versions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOWS = sorted((Path(__file__).resolve().parents[1] / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


def test_there_are_pr_deploy_and_drift_workflows():
    assert {p.name for p in WORKFLOWS} >= {"pull-request.yml", "deploy.yml", "deploy-stack.yml", "drift.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_validates_against_the_schema(path):
    out = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                          str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned(path):
    uses = re.findall(r"uses:\s*([^\s#]+)", path.read_text())
    external = [u for u in uses if not u.startswith("./")]
    assert all(PINNED.match(u) for u in external), [u for u in external if not PINNED.match(u)]


def test_previews_apply_the_policy_pack_and_use_oidc():
    for path in WORKFLOWS:
        doc = yaml.safe_load(path.read_text())
        for job in doc["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("pulumi/actions@"):
                    assert step["with"]["policyPacks"] == "policy", path.name
                if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"):
                    assert "role-to-assume" in step["with"] and "aws-access-key-id" not in step["with"]
    pr = yaml.safe_load((WORKFLOWS[0].parent / "pull-request.yml").read_text())
    preview = next(s for s in pr["jobs"]["preview"]["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert preview["with"]["comment-on-pr"] is True and preview["with"]["edit-pr-comment"] is True
    assert pr["jobs"]["preview"]["needs"] == "test" and "concurrency" in pr
