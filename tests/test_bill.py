"""The bill: plan.md's cost summary is what the rendered objects cost at the catalog's prices.

The recomputation below reads only the render (the Deployments' requests, the NodePools' instance types and
node classes' volumes, the ScaledObjects' bounds, the AWS resources, the Helm values) and the price tables; it
shares no code with components/llm_tiers/cost/bill.py beyond the price constants, so a manifest change the bill does not
follow (a request that no longer fits the cheapest type, a second NAT gateway, a bigger volume) fails here.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from typing import Any

import pytest

from llm_tiers.cost import bill
from llm_tiers.tiers import capacity
from llm_tiers.gpu import catalog as gpu_catalog
from llm_tiers.cost import prices
from llm_tiers.cluster import system_capacity
from llm_tiers.stack.parse import parse
from llm_tiers.tiers.models_lock import load
from conftest import ROOT, STACKS, overrides, stack_values
from llm_tiers.preview import render as render_tool

GIB = 2**30
HOURS = 730
TIER = "llm-tiers.io/tier"
RELEASE = "llm-tiers.io/release"


# ---------------------------------------------------------------------------------------------- recomputation


def _qty_gib(q: str) -> float:
    assert q.endswith("Gi"), q
    return float(q[:-2])


def _node_hourly(it: gpu_catalog.InstanceType, ebs: dict[str, Any]) -> float:
    gp3 = (_qty_gib(ebs["volumeSize"]) * 0.08 + max(0, ebs["iops"] - 3000) * 0.005
           + max(0, ebs["throughput"] - 125) * 0.04)
    return it.hourly_usd + gp3 / HOURS


def recompute(objects: list[dict[str, Any]], aws: list[dict[str, Any]], helm: list[dict[str, Any]]) -> dict[str, Any]:
    """The stack's hourly cost at min and max, per tier release and fixed, from rendered objects alone."""
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for o in objects:
        by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    tiers = {}
    for name, d in by_kind.get("Deployment", {}).items():
        labels = d["metadata"]["labels"]
        if labels.get("llm-tiers.io/component") != "server":
            continue
        pod = d["spec"]["template"]["spec"]
        req = pod["containers"][0]["resources"]["requests"]
        gpus, cpu, mem = int(req["nvidia.com/gpu"]), float(req["cpu"]), _qty_gib(req["memory"])
        pool = by_kind["NodePool"][pod["nodeSelector"]["llm-tiers.io/gpu-class"]]["spec"]
        types = next(r["values"] for r in pool["template"]["spec"]["requirements"]
                     if r["key"] == "node.kubernetes.io/instance-type")
        ebs = by_kind["EC2NodeClass"][pool["template"]["spec"]["nodeClassRef"]["name"]]["spec"][
            "blockDeviceMappings"][0]["ebs"]
        fits = [gpu_catalog.lookup(t) for t in types]
        fits = [it for it in fits if it.gpu_count >= gpus and it.vcpus > cpu and it.memory_gib * 0.925 >= mem]
        node = min(fits, key=lambda it: it.hourly_usd)
        so = by_kind.get("ScaledObject", {}).get(name)
        lo, hi = ((so["spec"]["minReplicaCount"], so["spec"]["maxReplicaCount"]) if so
                  else (d["spec"]["replicas"], d["spec"]["replicas"]))
        tiers[(labels[TIER], labels[RELEASE])] = {"instanceType": node.name, "min": lo * _node_hourly(node, ebs),
                                                  "max": hi * _node_hourly(node, ebs)}

    def of(t: str) -> list[dict[str, Any]]:
        return [e for e in aws if e["type"] == t]

    (eks,) = of("aws:eks/cluster:Cluster")
    fixed = {"EKS control plane": prices.EKS_CLUSTER_HOURLY[eks["inputs"]["upgradePolicy"]["supportType"]],
             "NAT gateways": len(of("aws:ec2/natGateway:NatGateway")) * 0.045}
    proxies = [p["spec"]["provider"]["kubernetes"]["envoyService"] for p in by_kind.get("EnvoyProxy", {}).values()]
    balancers = [s for s in proxies if s["type"] == "LoadBalancer"]
    public_subnets = [s for s in of("aws:ec2/subnet:Subnet") if s["inputs"]["tags"].get("kubernetes.io/role/elb")]
    scheme = "service.beta.kubernetes.io/aws-load-balancer-scheme"
    internet_facing = sum(1 for s in balancers if s["annotations"][scheme] == "internet-facing")
    fixed["Public IPv4 addresses"] = (len(of("aws:ec2/eip:Eip")) + internet_facing * len(public_subnets)) * 0.005
    fixed["Network Load Balancer"] = len(balancers) * 0.0225
    (ng,) = of("aws:eks/nodeGroup:NodeGroup")
    nodes = ng["inputs"]["scalingConfig"]["desiredSize"]
    fixed["System nodes"] = nodes * prices.SYSTEM_INSTANCE_HOURLY[ng["inputs"]["instanceTypes"][0]]
    (lt,) = of("aws:ec2/launchTemplate:LaunchTemplate")
    root_gib = lt["inputs"]["blockDeviceMappings"][0]["ebs"]["volumeSize"]
    fixed["System nodes' root volumes"] = nodes * root_gib * 0.08 / HOURS
    claims = [c for c in by_kind.get("PersistentVolumeClaim", {}).values()
              if c["spec"]["storageClassName"] == "efs-weights"
              and c["metadata"]["labels"].get("llm-tiers.io/component") == "weights"]
    fixed["EFS weight caches (Standard)"] = sum(int(c["metadata"]["annotations"]["llm-tiers.io/weights-bytes"])
                                                for c in claims) / GIB * 0.30 / HOURS
    # The S3 weight mirror holds each revision a sync Job uploads (weightsFrom nvme or s3), once.
    mirrored = {(j["metadata"]["annotations"]["llm-tiers.io/model"],
                 j["metadata"]["annotations"]["llm-tiers.io/revision"]):
                int(j["metadata"]["annotations"]["llm-tiers.io/weights-bytes"])
                for j in by_kind.get("Job", {}).values()
                if j["metadata"]["annotations"].get("llm-tiers.io/weights-from") in ("nvme", "s3")}
    if mirrored:
        assert of("aws:s3/bucket:Bucket"), "mirrored revisions need the bucket"
        fixed["S3 weight mirror (Standard)"] = sum(mirrored.values()) / GIB * 0.023 / HOURS
    kps = next(r["values"]["prometheus"]["prometheusSpec"] for r in helm if r["name"] == "kube-prometheus-stack")
    size = _qty_gib(kps["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"])
    fixed["Prometheus volumes"] = kps["replicas"] * size * 0.08 / HOURS
    fixed["Secrets Manager secrets"] = len(of("aws:secretsmanager/secret:Secret")) * 0.40 / HOURS
    fixed["KMS keys"] = len(of("aws:kms/key:Key")) * 1.00 / HOURS
    # Warm capacity: each placeholder pod holds a node of its class, the cheapest type with the GPUs it requests.
    for d in by_kind.get("Deployment", {}).values():
        cls = d["metadata"]["labels"].get("llm-tiers.io/warm-capacity")
        if not cls:
            continue
        pod = d["spec"]["template"]["spec"]
        gpus = sum(int(c["resources"]["requests"].get("nvidia.com/gpu", 0)) for c in pod["containers"])
        pool = by_kind["NodePool"][pod["nodeSelector"]["llm-tiers.io/gpu-class"]]["spec"]
        types = next(r["values"] for r in pool["template"]["spec"]["requirements"]
                     if r["key"] == "node.kubernetes.io/instance-type")
        ebs = by_kind["EC2NodeClass"][pool["template"]["spec"]["nodeClassRef"]["name"]]["spec"][
            "blockDeviceMappings"][0]["ebs"]
        node = min((gpu_catalog.lookup(t) for t in types if gpu_catalog.lookup(t).gpu_count >= gpus),
                   key=lambda it: it.hourly_usd)
        fixed[f"Warm GPU capacity ({cls})"] = d["spec"]["replicas"] * _node_hourly(node, ebs)
    for relay in of("aws:ec2/instance:Instance"):  # cluster.operatorAccess: the SSM relay and its root volume
        from llm_tiers.cluster.operator_access import HOURLY_USD

        fixed["Operator access relay (SSM)"] = (HOURLY_USD[relay["inputs"]["instanceType"]]
                                                + relay["inputs"]["rootBlockDevice"]["volumeSize"] * 0.08 / HOURS)
    total_fixed = sum(fixed.values())
    return {"tiers": tiers, "fixed": fixed,
            "min": total_fixed + sum(t["min"] for t in tiers.values()),
            "max": total_fixed + sum(t["max"] for t in tiers.values())}


def compare(bill_output: dict[str, Any], figures: dict[str, Any]) -> list[str]:
    """Differences between the bill output and the recomputation (more than a cent a month)."""
    problems = []

    def near(monthly: float, hourly: float, what: str) -> None:
        if abs(monthly - hourly * HOURS) > 0.02:
            problems.append(f"{what}: bill {monthly:.2f}/month, render {hourly * HOURS:.2f}/month")

    lines = {(t["tier"], t["release"]): t for t in bill_output["tiers"]}
    if set(lines) != set(figures["tiers"]):
        problems.append(f"tier releases: bill {sorted(lines)}, render {sorted(figures['tiers'])}")
    for key in set(lines) & set(figures["tiers"]):
        line, fig = lines[key], figures["tiers"][key]
        if line["instanceType"] != fig["instanceType"]:
            problems.append(f"{key}: bill prices {line['instanceType']}, its requests get {fig['instanceType']}")
        near(line["usdPerMonthMin"], fig["min"], f"{key} at min")
        near(line["usdPerMonthMax"], fig["max"], f"{key} at max")
    fixed = {f["item"]: f["usdPerMonth"] for f in bill_output["fixed"]}
    if set(fixed) != set(figures["fixed"]):
        problems.append(f"fixed items: bill {sorted(fixed)}, render {sorted(figures['fixed'])}")
    for item in set(fixed) & set(figures["fixed"]):
        near(fixed[item], figures["fixed"][item], item)
    near(bill_output["total"]["usdPerMonthMin"], figures["min"], "total at min")
    near(bill_output["total"]["usdPerMonthMax"], figures["max"], "total at max")
    return problems


def _figures(r: render_tool.RenderResult) -> dict[str, Any]:
    return recompute(r.kubernetes_objects(), r.aws_resources(), r.helm_releases())


@functools.lru_cache(maxsize=1)
def _candidate_render() -> render_tool.RenderResult:
    return render_tool.render("prod", overrides=overrides(_candidate_values()))


def _candidate_values() -> dict[str, Any]:
    values = stack_values("prod")
    values["tiers"][0]["candidate"] = {"modelId": "Qwen/Qwen2.5-7B-Instruct"}
    values["gpuClasses"]["l4"]["maxGpus"] = 18  # both releases of chat-small at replicas.max, with surges
    return values


# ---------------------------------------------------------------------------------------------- every stack


@pytest.mark.parametrize("stack", STACKS)
def test_the_cost_summary_is_what_the_rendered_objects_cost(rendered, stack, tmp_path):
    r = rendered(stack)
    out = r.outputs()["bill"]
    figures = _figures(r)
    assert compare(out, figures) == []
    plan = (render_tool.write_build(r, tmp_path) / "plan.md").read_text()
    # plan.md opens with it: the first section, and its headline is the recomputed total.
    assert plan.split("\n## ")[1].startswith("Cost summary")
    headline = re.search(r"\*\*\$([\d,.]+) a month at replicas\.min, \$([\d,.]+) at replicas\.max\*\*", plan)
    lo, hi = (float(x.replace(",", "")) for x in headline.groups())
    assert lo == pytest.approx(figures["min"] * HOURS, abs=0.02) and hi == pytest.approx(figures["max"] * HOURS,
                                                                                         abs=0.02)
    for (tier, release), fig in figures["tiers"].items():
        row = next(line for line in plan.splitlines() if line.startswith(f"| {tier} | {release}"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2].startswith(fig["instanceType"])
        assert float(cells[-2].replace(",", "")) == pytest.approx(fig["min"] * HOURS, abs=0.02)
        assert float(cells[-1].replace(",", "")) == pytest.approx(fig["max"] * HOURS, abs=0.02)
    assert "Region us-east-1" in plan and prices.PRICE_LIST in plan


def test_the_packing_assumption_holds_in_the_manifests(rendered):
    """A node per replica: the spread is a preference Karpenter honours, and nothing repacks nodes later."""
    for stack in STACKS:
        r = rendered(stack)
        for d in r.objects_named("Deployment").values():
            if d["metadata"]["labels"].get("llm-tiers.io/component") != "server":
                continue
            spread = {c["topologyKey"]: c["whenUnsatisfiable"]
                      for c in d["spec"]["template"]["spec"]["topologySpreadConstraints"]}
            assert spread["kubernetes.io/hostname"] == "ScheduleAnyway"
        for pool in r.objects_named("NodePool").values():
            assert pool["spec"]["disruption"]["consolidationPolicy"] == "WhenEmpty"
        karpenter = next(x["values"] for x in r.helm_releases() if x["name"] == "karpenter")
        # The chart's default is Respect (charts/karpenter/values.yaml settings.preferencePolicy); Ignore would
        # let Karpenter pack replicas onto one node.
        assert karpenter.get("settings", {}).get("preferencePolicy", "Respect") == "Respect"


def test_a_candidate_shows_its_extra_cost_while_the_swap_runs(rendered, tmp_path):
    r = _candidate_render()
    out = r.outputs()["bill"]
    figures = _figures(r)
    assert compare(out, figures) == []
    lines = {(t["tier"], t["release"]): t for t in out["tiers"]}
    live, candidate = lines[("chat-small", "live")], lines[("chat-small", "candidate")]
    assert candidate["usdPerMonthMax"] == live["usdPerMonthMax"] > 0  # same replica bounds, same nodes
    # What the swap adds to prod's bill: the candidate's nodes and its own weight cache on EFS.
    before = rendered("prod").outputs()["bill"]["total"]
    qwen = load(ROOT / "models.lock.json").models["Qwen/Qwen2.5-7B-Instruct"].weights_bytes / GIB * 0.30
    for at in ("Min", "Max"):
        assert out["total"][f"usdPerMonth{at}"] - before[f"usdPerMonth{at}"] == pytest.approx(
            candidate[f"usdPerMonth{at}"] + qwen, abs=0.03)
    plan = (render_tool.write_build(r, tmp_path) / "plan.md").read_text()
    assert "| chat-small | candidate (while swapping) |" in plan
    assert (f"the candidate release adds ${candidate['usdPerMonthMin']:,.2f} to "
            f"${candidate['usdPerMonthMax']:,.2f}") in plan


def test_the_recomputation_catches_a_bill_that_does_not_follow_the_manifests(rendered):
    """The check can fail: a request that no longer fits the cheapest type, and a NAT gateway too many."""
    r = rendered("prod")
    objects = copy.deepcopy(r.kubernetes_objects())
    deployment = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "chat-small-live")
    deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"] = "40Gi"
    aws = r.aws_resources() + [e for e in r.aws_resources() if e["type"] == "aws:ec2/natGateway:NatGateway"][:1]
    problems = compare(r.outputs()["bill"], recompute(objects, aws, r.helm_releases()))
    assert any("chat-small" in p and "g6.4xlarge" in p for p in problems), problems
    assert any(p.startswith("NAT gateways") for p in problems), problems


# ---------------------------------------------------------------------------------------------- pure


def test_a_replica_is_priced_as_the_whole_cheapest_node_that_holds_its_requests():
    l4 = [gpu_catalog.lookup(t) for t in ("g6.xlarge", "g6.2xlarge", "g6.12xlarge")]
    assert capacity.replica_node(l4, 1).name == "g6.xlarge"
    # 20 GiB does not fit a g6.xlarge (16 GiB nominal, 14.8 after the VM overhead): the next cheapest does.
    assert capacity.replica_node(l4, 1, cpu=3, memory_gib=20).name == "g6.2xlarge"
    assert capacity.replica_node(l4, 2).name == "g6.12xlarge"
    assert capacity.replica_node(l4, 8) is None
    p5 = gpu_catalog.lookup("p5.48xlarge")
    assert capacity.replica_hourly_usd([p5], 4) == 55.04
    assert bill.replicas_per_node(p5, 4, *capacity.replica_requests([p5], 4)) == 2


def test_pod_requests_fit_the_type_they_were_sized_from():
    for name, it in gpu_catalog.CATALOG.items():
        for gpus in (1, 2, 4, 8):
            if it.gpu_count >= gpus:
                cpu, mem = capacity.replica_requests([it], gpus)
                assert capacity.holds(it, gpus, cpu, mem), (name, gpus)


def test_gpu_root_volumes_are_billed_above_gp3s_baseline():
    # 200 GiB ($16) + 3000 IOPS over the baseline ($15) + 375 MiB/s over it ($15) = $46 a month.
    assert bill.gpu_root_volume_hourly(200) * 730 == pytest.approx(46.0)
    assert prices.gp3_monthly(50) == pytest.approx(4.0)


def test_every_system_instance_type_has_a_price():
    assert set(prices.SYSTEM_INSTANCE_HOURLY) == set(system_capacity.CATALOG)
    assert prices.SYSTEM_INSTANCE_HOURLY["m7i.xlarge"] == 0.2016
    assert prices.SYSTEM_INSTANCE_HOURLY["m6i.large"] == 0.096


def _cfg(stack: str, **changes: Any):
    values = stack_values(stack)
    for key, value in changes.items():
        values[key] = value
    return parse(values)


def test_totals_are_the_sum_of_their_lines_and_scale_to_zero_costs_nothing_at_min():
    lock = load(ROOT / "models.lock.json").models
    b = bill.stack_bill(_cfg("dev"), lock, "us-east-1")
    assert b.tiers_hourly("min") == 0 and b.tiers_hourly("max") == pytest.approx(2 * b.tiers[0].node_hourly)
    out = b.to_output()
    assert out["total"]["usdPerMonthMin"] == pytest.approx(sum(f["usdPerMonth"] for f in out["fixed"]), abs=0.02)
    assert any("scales to zero" in n for n in out["notes"]) and any("spot" in n for n in out["notes"])


def test_the_bill_says_when_the_prices_are_not_the_stacks_region():
    lock = load(ROOT / "models.lock.json").models
    out = bill.stack_bill(_cfg("prod"), lock, "eu-west-1").to_output()
    assert out["region"] == "eu-west-1" and any("eu-west-1" in n and "us-east-1" in n for n in out["notes"])


def test_nat_gateways_and_public_addresses_follow_the_network_config():
    lock = load(ROOT / "models.lock.json").models
    fixed = lambda cfg: {f.item: f for f in bill.fixed_lines(cfg, lock, True)}  # noqa: E731
    prod = fixed(_cfg("prod"))
    assert prod["NAT gateways"].monthly == pytest.approx(3 * 0.045 * 730)
    assert prod["Public IPv4 addresses"].monthly == pytest.approx((3 + 3) * 0.005 * 730)  # NATs + NLB per zone
    dev = fixed(_cfg("dev"))
    assert dev["NAT gateways"].monthly == pytest.approx(0.045 * 730)
    assert dev["Public IPv4 addresses"].monthly == pytest.approx(0.005 * 730)  # internal NLB: none


def test_efs_storage_counts_each_revision_once():
    lock = load(ROOT / "models.lock.json").models
    cfg = parse(_candidate_values())
    caches = bill.weight_caches(cfg, lock)
    assert len(caches) == 2  # chat-small's two models on EFS; chat-large's is in the S3 mirror (weightsFrom: nvme)
    assert set(bill.weight_caches(cfg, lock, bill.MIRRORED)) == {("chat-large", lock[
        "meta-llama/Llama-3.1-70B-Instruct"].revision)}
    same = stack_values("prod")
    same["tiers"][0]["candidate"] = {"image": "ghcr.io/huggingface/text-generation-inference:3.3.5"}
    same["gpuClasses"]["l4"]["maxGpus"] = 18
    assert len(bill.weight_caches(parse(same), lock)) == 1  # the candidate shares the live release's cache
    assert math.isclose(sum(caches.values()), sum(lock[m].weights_bytes for m in (
        "meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct")))
