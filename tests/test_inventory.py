"""plan.md's inventory and outputs.json: what will be created, by component, and the stack outputs, for every
stack and example, with no secret value anywhere."""

from __future__ import annotations

import json
import re

import pytest

from conftest import STACKS
from llm_tiers.preview import inventory
from llm_tiers.preview import render as render_tool

EXAMPLES = render_tool.examples()


@pytest.fixture(scope="module")
def example_results():
    return {name: render_tool.render_example(name) for name in EXAMPLES}


def _builds(rendered, example_results, tmp_path):
    for stack in STACKS:
        yield stack, rendered(stack), render_tool.write_build(rendered(stack), tmp_path)
    for name, r in example_results.items():
        r.stack = name
        yield f"examples/{name}", r, render_tool.write_build(r, tmp_path / "examples")


def _inventory_rows(plan: str) -> dict[str, tuple[int, dict[str, int]]]:
    section = plan.split("## Inventory", 1)[1].split("### Stateful", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"^\| (.+?) \| (\d+) \| (.*) \|$", line)
        if m:
            by_type = {t: int(n) for t, n in (x.rsplit(" ", 1) for x in m.group(3).split(", ") if x)}
            rows[m.group(1)] = (int(m.group(2)), by_type)
    return rows


def test_every_stack_and_example_writes_outputs_and_an_inventory(rendered, example_results, tmp_path):
    for where, r, target in _builds(rendered, example_results, tmp_path):
        outputs = json.loads((target / "outputs.json").read_text())
        assert outputs == r.outputs() and outputs, where
        rows = _inventory_rows((target / "plan.md").read_text())
        resources = [x for x in r.recording.resources if not x.type.startswith("llmtiers:")]
        assert sum(n for n, _ in rows.values()) == len(resources), where
        assert all(n == sum(by_type.values()) for n, by_type in rows.values()), where
        # Every component the program registered has its row (with what it created).
        components = {f"{x.type.rsplit(':', 1)[-1]} `{x.name}`" for x in r.recording.resources
                      if x.type.startswith("llmtiers:")}
        assert components <= set(rows), (where, components - set(rows))


def test_the_tree_follows_parent_urns(rendered):
    r = rendered("prod")
    rows = {e.label: e for e in inventory.inventory(r.recording, "prod")}
    # Counted under the component whose children they are (their parent URN), not by name.
    assert rows["Cluster `cluster`"].counts["eks.Cluster"] == 1
    assert rows["Cluster `cluster`"].counts["ec2.NatGateway"] == len(r.of_type("aws:ec2/natGateway:NatGateway")) == 3
    assert rows["ModelTier `tier-chat-large`"].counts["Deployment"] == 1
    assert rows["GpuCapacity `gpu`"].counts["NodePool"] == 3  # l4, h100 and the weight-sync pool
    assert "stack `prod`" not in rows  # the main program creates every resource inside a component


def test_random_resources_are_listed_but_their_values_are_nowhere(rendered, example_results, tmp_path):
    for where, r, target in _builds(rendered, example_results, tmp_path):
        passwords = [x for x in r.recording.resources if x.type == "random:index/randomPassword:RandomPassword"]
        assert passwords, where
        rows = _inventory_rows((target / "plan.md").read_text())
        assert sum(by_type.get("random.RandomPassword", 0) for _, by_type in rows.values()) == len(passwords)
        values = [x.outputs["result"] for x in passwords]
        assert all(len(v) >= 32 for v in values)
        for path in target.iterdir():
            text = path.read_text()
            assert not [v for v in values if v in text], f"{where}: a generated secret leaked into {path.name}"


def test_stateful_resources_are_named_with_their_protection(rendered, tmp_path):
    prod = (render_tool.write_build(rendered("prod"), tmp_path) / "plan.md").read_text()
    stateful = prod.split("### Stateful", 1)[1]
    assert "| Cluster `cluster` | cluster-eks | eks.Cluster | yes |" in stateful
    assert "| Cluster `cluster` | cluster-weights | efs.FileSystem | yes |" in stateful
    assert "| SecretStore `secrets` | secrets-key | kms.Key | yes |" in stateful
    assert "| GpuCapacity `gpu` | gpu-interruption | sqs.Queue |" in stateful
    # chat-small's weights sit on EFS (its claim); chat-large's come from the S3 mirror (weightsFrom: nvme).
    assert "| ModelTier `tier-chat-small` | chat-small-weights-0e9e39f249 | PersistentVolumeClaim |" in stateful
    assert "chat-large-weights" not in stateful
    assert "| WeightMirror `weight-mirror` | weight-mirror-bucket | s3.Bucket | yes |" in stateful
    # Prometheus's volumes come from the chart's StatefulSet: listed from the release's values.
    assert ("Prometheus TSDB (2 x 200Gi (gp3-encrypted-retain, reclaimPolicy Retain)) | StatefulSet volume | "
            "retained") in stateful
    # Three tenant keys, the Grafana password and the rate-limit store's password.
    assert stateful.count("random.RandomPassword") == 5
    dev = (render_tool.write_build(rendered("dev"), tmp_path) / "plan.md").read_text()
    assert "| Cluster `cluster` | cluster-eks | eks.Cluster | no |" in dev
    assert "Prometheus TSDB (1 x 20Gi (gp3-encrypted, reclaimPolicy Delete)) | StatefulSet volume | no" in dev


def test_short_type_names():
    assert inventory.short_type("aws:ec2/subnet:Subnet") == "ec2.Subnet"
    assert inventory.short_type("kubernetes:apps/v1:Deployment") == "Deployment"
    assert inventory.short_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute") == "HTTPRoute"
    assert inventory.short_type("kubernetes:helm.sh/v3:Release") == "helm.Release"
    assert inventory.short_type("kubernetes:helm.sh/v4:Chart") == "helm.Chart (v4)"
    assert inventory.short_type("random:index/randomPassword:RandomPassword") == "random.RandomPassword"
    assert inventory.short_type("pulumi:providers:kubernetes") == "provider.kubernetes"
