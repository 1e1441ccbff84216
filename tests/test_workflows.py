"""GitHub workflows validate against the GitHub workflow schema (check-jsonschema's vendored copy) and use
only pinned action versions."""

from __future__ import annotations

import json
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
    # The action cuts a comment over 64,000 characters from the end unless told otherwise, which drops the
    # resource summary and the policy results (pulumi/actions v7.0.0 action.yml, src/libs/pr.ts).
    assert preview["with"]["always-include-summary"] is True
    for path in WORKFLOWS:
        for u in re.findall(r"uses:\s*(pulumi/actions@[^\s#]+)", path.read_text()):
            assert u.startswith("pulumi/actions@v7."), (path.name, u)
    assert pr["jobs"]["preview"]["needs"] == "test" and "concurrency" in pr


# ------------------------------------------------------------------ reaching the cluster (docs/delivery.md)

# The first prod `up` takes roughly 2-3 h (the ~141 GB weight sync, GPU node launches); an `up` job's AWS
# session and its timeout must both outlast that, with margin. 6 h.
UP_SESSION_MIN_SECONDS = 6 * 3600  # tests/test_rollout.py checks it covers every stack's longest await
UP_TIMEOUT_MIN_MINUTES = 360
MAX_SESSION_SECONDS = 43200  # STS maximum (a role's MaxSessionDuration is at most 12 h)
GITHUB_HOSTED = re.compile(r"^(ubuntu|windows|macos)-")
SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository"
STACKS = ("dev", "staging", "prod")


def _jobs():
    for path in WORKFLOWS:
        doc = yaml.safe_load(path.read_text())
        for name, job in doc["jobs"].items():
            if "steps" in job:  # a call of a reusable workflow has no runner of its own
                yield path.name, name, job, doc


def _pulumi_commands(job) -> set[str]:
    commands = set()
    for step in job["steps"]:
        if str(step.get("uses", "")).startswith("pulumi/actions@"):
            commands.add(step["with"]["command"])
            if step["with"].get("refresh"):
                commands.add("refresh")
        commands |= set(re.findall(r"\bpulumi\s+(preview|up|refresh|destroy)\b", str(step.get("run", ""))))
    return commands


def _aws_steps(job):
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")]


def _runner_labels(runs_on, stack: str) -> list[str]:
    """The labels a job gets when the repository variable RUNNER_LABELS_<stack> is unset (its default)."""
    if isinstance(runs_on, list):
        return runs_on
    if not runs_on.startswith("${{"):
        return [runs_on]
    assert "vars[format('RUNNER_LABELS_{0}'" in runs_on, runs_on
    default = re.search(r"format\('(\[[^']*\])'", runs_on)
    assert default, f"no default label list in {runs_on}"
    return json.loads(default.group(1).replace("{0}", stack))


def test_cluster_jobs_run_on_the_stacks_self_hosted_runner():
    cluster_jobs = [(f, n, j) for f, n, j, _ in _jobs() if _pulumi_commands(j)]
    assert {(f, n) for f, n, _ in cluster_jobs} == {
        ("pull-request.yml", "preview"), ("deploy-stack.yml", "deploy"), ("drift.yml", "drift")}
    for file, name, job in cluster_jobs:
        runs_on = job["runs-on"]
        assert isinstance(runs_on, str) and "RUNNER_LABELS_" in runs_on, (file, name, runs_on)
        for stack in STACKS:
            labels = _runner_labels(runs_on, stack)
            assert "self-hosted" in labels and f"llm-tiers-{stack}" in labels, (file, name, labels)
            assert not any(GITHUB_HOSTED.match(label) for label in labels), (file, name, labels)


def test_jobs_that_need_no_cluster_stay_on_github_hosted_runners():
    other = [(f, n, j) for f, n, j, _ in _jobs() if not _pulumi_commands(j)]
    assert {(f, n) for f, n, _ in other} >= {("pull-request.yml", "test"), ("pull-request.yml", "render-diff"),
                                             ("deploy-stack.yml", "test")}
    for file, name, job in other:
        assert isinstance(job["runs-on"], str) and GITHUB_HOSTED.match(job["runs-on"]), (file, name)
        assert not _aws_steps(job), f"{file}:{name} takes AWS credentials but touches no stack"


def test_every_aws_session_is_sized_and_outlasts_its_job():
    for file, name, job, _ in _jobs():
        for step in _aws_steps(job):
            seconds = step["with"].get("role-duration-seconds")
            assert isinstance(seconds, int) and 900 <= seconds <= MAX_SESSION_SECONDS, (file, name, seconds)
            # The session may not expire before GitHub cancels the job.
            assert seconds >= 60 * job["timeout-minutes"], (file, name, seconds, job["timeout-minutes"])
            if "up" in _pulumi_commands(job):
                assert seconds >= UP_SESSION_MIN_SECONDS, (file, name, seconds)


def test_up_jobs_have_a_timeout_above_the_critical_path():
    up_jobs = [(f, n, j) for f, n, j, _ in _jobs() if "up" in _pulumi_commands(j)]
    assert up_jobs
    for file, name, job in up_jobs:
        assert job.get("timeout-minutes", 0) >= UP_TIMEOUT_MIN_MINUTES, (file, name)
    for file, name, job, _ in _jobs():
        if _pulumi_commands(job):
            assert "timeout-minutes" in job, f"{file}:{name}: set the timeout explicitly (GitHub's default is 360)"


def test_pull_request_jobs_with_credentials_or_a_cluster_skip_forks():
    for file, name, job, doc in _jobs():
        triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads the key `on` as True
        if not ({"pull_request", "pull_request_target"} & set(triggers)):
            continue
        sensitive = (_pulumi_commands(job) or _aws_steps(job)
                     or (job.get("permissions") or {}).get("id-token") == "write"
                     or "secrets." in json.dumps(job))
        if sensitive:
            assert SAME_REPO in str(job.get("if", "")), f"{file}:{name} must skip fork PRs"


def test_previews_use_the_read_only_role_and_deploys_the_deploy_role():
    roles = {}
    for file, name, job, _ in _jobs():
        for step in _aws_steps(job):
            roles[(file, name)] = step["with"]["role-to-assume"]
    assert "AWS_PREVIEW_ROLE_ARN_" in roles[("pull-request.yml", "preview")]
    assert "AWS_ROLE_ARN_" in roles[("deploy-stack.yml", "deploy")]
    assert "AWS_PREVIEW_ROLE_ARN_" not in roles[("deploy-stack.yml", "deploy")]


def test_the_render_diff_is_fork_safe_and_commented_from_its_artifact():
    """The job that runs the PR's code has no write permission; the comment is posted by a workflow_run job
    that runs no PR code and edits its comment in place."""
    pr = yaml.safe_load((WORKFLOWS[0].parent / "pull-request.yml").read_text())
    diff = pr["jobs"]["render-diff"]
    assert diff["permissions"] == {"contents": "read"}
    upload = next(s for s in diff["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert {"render-diff.md", "pr-number", "build/"} <= set(upload["with"]["path"].split())
    comment = yaml.safe_load((WORKFLOWS[0].parent / "pr-comment.yml").read_text())
    triggers = comment.get("on", comment.get(True))
    assert list(triggers) == ["workflow_run"] and triggers["workflow_run"]["workflows"] == ["pull-request"]
    (job,) = comment["jobs"].values()
    uses = [str(s.get("uses", "")) for s in job["steps"]]
    assert not any(u.startswith("actions/checkout@") for u in uses), "never check out the PR's code here"
    sticky = next(s for s in job["steps"]
                  if str(s.get("uses", "")).startswith("marocchino/sticky-pull-request-comment@"))
    assert sticky["with"]["header"] == "render-diff" and "steps.pr.outputs.number" in sticky["with"]["number"]


def test_tests_on_github_validate_custom_resources_against_fetched_schemas():
    for file, job_name in (("pull-request.yml", "test"), ("deploy-stack.yml", "test")):
        steps = yaml.safe_load((WORKFLOWS[0].parent / file).read_text())["jobs"][job_name]["steps"]
        runs = [s.get("run", "") for s in steps]
        fetch = next(i for i, r in enumerate(runs) if "llm-tiers-crds fetch" in r)
        values = next(i for i, r in enumerate(runs) if "llm-tiers-chart-values fetch" in r)
        test = next(i for i, r in enumerate(runs) if "make test" in r)
        assert fetch < test and values < test, (file, runs)
        # every input make test needs: both fetched folders, the tools CI=true requires, root for tests/podrun.py
        assert "CRD_SCHEMA_DIR=" in runs[test] and "CHART_VALUES_DIR=" in runs[test] and "CI=true" in runs[test]
        assert "sudo env" in runs[test], "tests/podrun.py needs root"
        apt = " ".join(r for r in runs[:test + 1] if "apt-get install" in r)
        assert all(p in apt for p in ("prometheus", "redis-server", "iproute2")), (file, apt)
