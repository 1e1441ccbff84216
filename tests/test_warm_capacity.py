"""Warm GPU capacity (components/llm_tiers/gpu/warm.py): placeholder pods that hold idle nodes of a class, checked on
what Kubernetes receives in the render (the scheduler's preemption rules decide whether a replica takes a node)."""

from __future__ import annotations

import json

import pytest

from conftest import stack_values
from llm_tiers.stack.parse import parse
from llm_tiers.cost import bill
from llm_tiers.gpu import catalog, warm
from llm_tiers.gpu.karpenter import GPU_CLASS_LABEL, GPU_RESOURCE, GPU_TAINT, WARM_CAPACITY_LABEL
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import rollout


def _placeholders(r):
    return [x.inputs for x in r.custom_resources if x.inputs.get("kind") == "Deployment"
            and WARM_CAPACITY_LABEL in x.inputs["metadata"].get("labels", {})]


def _priority(r, pod_spec):
    classes = {x.inputs["metadata"]["name"]: x.inputs["value"] for x in r.custom_resources
               if x.inputs.get("kind") == "PriorityClass"}
    name = pod_spec.get("priorityClassName")
    return classes[name] if name else 0  # no class and no globalDefault: priority 0


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_tier_replica_preempts_the_placeholder_and_fits_its_node(rendered, stack):
    r = rendered(stack)
    cfg = parse(stack_values(stack), stack)
    [holder] = _placeholders(r)
    cls_name = holder["metadata"]["labels"][WARM_CAPACITY_LABEL]
    cls = cfg.gpu_classes[cls_name]
    pod = holder["spec"]["template"]["spec"]
    assert holder["spec"]["replicas"] == cls.warm_nodes >= 1
    # On the class's nodes only (its label and taint), one pod per node.
    assert pod["nodeSelector"] == {GPU_CLASS_LABEL: cls_name}
    assert any(t["key"] == GPU_TAINT["key"] and t["effect"] == GPU_TAINT["effect"] for t in pod["tolerations"])
    [spread] = pod["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname" and spread["whenUnsatisfiable"] == "DoNotSchedule"
    # It holds every GPU of the node Karpenter launches for it (the class's cheapest type that fits it).
    gpus = sum(int(c["resources"]["requests"].get(GPU_RESOURCE, 0)) for c in pod["containers"])
    node = warm.warm_instance_type(cls)
    assert gpus == node.gpu_count == min(catalog.lookup(t).gpu_count for t in cls.instance_types)
    # The priority class is negative, never the default and never preempts; every tier pod of the class outranks
    # it (the scheduler preempts only lower-priority pods) and fits the node the placeholder frees.
    [pc] = [x.inputs for x in r.custom_resources if x.inputs.get("kind") == "PriorityClass"
            and x.inputs["metadata"]["name"] == pod["priorityClassName"]]
    assert pc["value"] < 0 and pc["globalDefault"] is False and pc["preemptionPolicy"] == "Never"
    tiers = [x.inputs for x in r.custom_resources if x.inputs.get("kind") == "Deployment"
             and x.inputs["metadata"]["namespace"] == "llm-tiers"
             and x.inputs["spec"]["template"]["spec"]["nodeSelector"] == {GPU_CLASS_LABEL: cls_name}
             and WARM_CAPACITY_LABEL not in x.inputs["metadata"].get("labels", {})]
    assert tiers
    for d in tiers:
        spec = d["spec"]["template"]["spec"]
        assert _priority(r, spec) > pc["value"]
        requests = spec["containers"][0]["resources"]["requests"]
        assert int(requests[GPU_RESOURCE]) <= gpus
        cpu = str(requests["cpu"])
        assert (int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)) <= node.vcpus
        assert int(requests["memory"].rstrip("Gi")) <= node.memory_gib
        # The placeholder ran the replica's image, so the node has it: no pull on wake-up.
        assert spec["containers"][0]["image"] in {c["image"] for c in pod["containers"]}
    # Non-root, nothing to do but sleep; nothing waits for it on `pulumi up`.
    assert pod["securityContext"]["runAsNonRoot"] and all(c["command"] == ["sleep", "infinity"]
                                                         for c in pod["containers"])
    assert holder["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    # No ingress, no egress: a NetworkPolicy selecting the placeholder pods allows nothing.
    [np] = [x.inputs for x in r.custom_resources if x.inputs.get("kind") == "NetworkPolicy"
            and x.inputs["metadata"]["namespace"] == holder["metadata"]["namespace"]
            and all(holder["spec"]["template"]["metadata"]["labels"].get(k) == v
                    for k, v in x.inputs["spec"]["podSelector"].get("matchLabels", {"-": "-"}).items())]
    assert np["spec"]["policyTypes"] == ["Ingress", "Egress"] and not np["spec"]["ingress"] and not np["spec"]["egress"]


def test_warm_capacity_is_opt_in(rendered):
    assert not _placeholders(rendered("staging"))
    values = stack_values("dev")
    del values["gpuClasses"]["l4"]["warmNodes"]
    cfg = parse(values, "dev")
    assert bill.warm_capacity_lines(cfg) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_warm_nodes_are_billed_all_month_at_their_on_demand_price(stack):
    cfg = parse(stack_values(stack), stack)
    [line] = bill.warm_capacity_lines(cfg)
    cls = cfg.gpu_classes["l4"]
    node = warm.warm_instance_type(cls)
    volume = bill.gpu_root_volume_hourly(cls.root_volume_gib, cls.image_pull)
    expected = cls.warm_nodes * (node.hourly_usd + volume) * bill.HOURS
    assert line.item == "Warm GPU capacity (l4)" and node.name in line.quantity
    assert line.monthly == pytest.approx(expected)


def test_the_dev_tier_wakes_onto_warm_capacity_without_launch_or_pull(rendered, tmp_path):
    target = render_tool.write_build(rendered("dev"), tmp_path)
    [zero] = json.loads((target / "rollout.json").read_text())["scaleFromZero"]
    assert zero["warmNodes"] == 1
    warm_steps = [s["step"] for s in zero["warmNode"]["steps"]]
    cold_steps = [s["step"] for s in zero["coldNode"]["steps"]]
    assert not any(s.startswith("GPU node launch") or s == "image pull" for s in warm_steps)
    assert set(warm_steps) < set(cold_steps)
    assert zero["warmNode"]["upperSeconds"] < zero["coldNode"]["upperSeconds"]
    assert zero["totalSeconds"] == zero["warmNode"]["upperSeconds"]
    plan_md = (target / "plan.md").read_text()
    assert "onto warm capacity (1 node(s))" in plan_md and "Warm GPU capacity (l4)" in plan_md
    # Without the placeholder the plan shows the fresh node only.
    plan = rollout.plan("dev", rendered("dev").recording)
    assert rollout.warm_nodes(rendered("dev").recording) == {"l4": 1} and plan.scale_from_zero[0]["warmNode"]
