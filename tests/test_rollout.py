"""The rollout plan (components/llm_tiers/preview/rollout.py): what the real engine does with each stack, checked on the
render.

Each test reads what the SDK sent the mock engine (dependencies, property dependencies, providers, custom
timeouts, protect) and would fail on a program that a real ``pulumi up`` or ``pulumi destroy`` trips over:
an await that outlasts its budget, a custom resource created before its CRD and controller, an input that
names another resource without an ordering edge to it, a delete that removes egress, EFS mount targets or
Karpenter before what still needs them.
"""

from __future__ import annotations

import json

import pytest

from conftest import STACKS
from llm_tiers import timing
from llm_tiers import versions
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import rollout
from llm_tiers.preview import awaits, ordering

EXAMPLES = render_tool.examples()

# API group -> the charts (versions.CHARTS keys) that install its CRDs and its controller.
CRD_OWNERS = {
    "karpenter.sh": {"karpenter-crd", "karpenter"},
    "karpenter.k8s.aws": {"karpenter-crd", "karpenter"},
    "external-secrets.io": {"external-secrets"},
    "keda.sh": {"keda"},
    "monitoring.coreos.com": {"prometheus-operator-crds", "kube-prometheus-stack"},
    "gateway.networking.k8s.io": {"envoy-gateway-crds", "envoy-gateway"},
    "gateway.envoyproxy.io": {"envoy-gateway-crds", "envoy-gateway"},
}


@pytest.fixture(scope="module")
def example_renders():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = render_tool.render_example(name)
        return cache[name]
    return get


def plans(rendered, example_renders):
    for stack in STACKS:
        r = rendered(stack)
        yield stack, r, rollout.plan(stack, r.recording)
    for name in EXAMPLES:
        r = example_renders(name)
        yield f"example {name}", r, rollout.plan(name, r.recording)


def by_label(plan, prefix):
    return [s for s in plan.steps.values() if s.label.startswith(prefix)]


def chart_steps(plan, recording, key):
    pin = versions.CHARTS[key]
    urns = {r.urn for r in recording.resources
            if r.type in (awaits.HELM_RELEASE, awaits.HELM_CHART)
            and str(r.inputs.get("chart", "")).rsplit("/", 1)[-1] == pin.chart}
    return [plan.steps[u] for u in urns]


# ---------------------------------------------------------------------------------------------- awaits


def test_no_await_is_expected_to_outlast_its_budget(rendered, example_renders):
    over = []
    for where, _, plan in plans(rendered, example_renders):
        for s in plan.steps.values():
            a = s.awaits
            if a.budget_seconds is not None and a.estimate_seconds > a.budget_seconds:
                over.append(f"{where}: {s.label} estimated {a.estimate_seconds}s, budget {a.budget_seconds}s")
    assert not over, "\n".join(over)


def test_the_70b_sync_and_its_deployment_get_budgets_beyond_the_default_ten_minutes(rendered):
    plan = rollout.plan("prod", rendered("prod").recording)
    job = by_label(plan, "Job llm-tiers/chat-large-sync-")[0]
    deployment = by_label(plan, "Deployment llm-tiers/chat-large-live")[0]
    # Without customTimeouts both would fail at 10 minutes: the 141 GB sync alone takes ~50 minutes.
    assert job.awaits.estimate_seconds > timing.KUBERNETES_DEFAULT_AWAIT_SECONDS
    assert job.awaits.budget_seconds >= job.awaits.estimate_seconds
    assert deployment.awaits.estimate_seconds > timing.KUBERNETES_DEFAULT_AWAIT_SECONDS
    assert deployment.awaits.budget_seconds >= deployment.awaits.estimate_seconds


@pytest.mark.parametrize("stack", STACKS)
def test_sync_jobs_are_awaited_past_their_own_deadline_and_replaced_when_unready(rendered, stack):
    r = rendered(stack)
    plan = rollout.plan(stack, r.recording)
    jobs = [x for x in r.custom_resources if x.inputs.get("kind") == "Job"
            and x.inputs["metadata"]["labels"].get("llm-tiers.io/component") == "weights-sync"]
    assert jobs
    for job in jobs:
        deadline = job.inputs["spec"]["activeDeadlineSeconds"]
        assert plan.steps[job.urn].awaits.budget_seconds > deadline, job.name
        # A failed Job (a rotated token, a Hub outage) is replaced by the next `pulumi up`.
        assert job.inputs["metadata"]["annotations"]["pulumi.com/replaceUnready"] == "true"


@pytest.mark.parametrize("stack", STACKS)
def test_tier_deployments_progress_deadline_covers_a_replica_on_a_fresh_node(rendered, stack):
    r = rendered(stack)
    plan = rollout.plan(stack, r.recording)
    for d in r.custom_resources:
        if d.inputs.get("kind") != "Deployment" or d.inputs["metadata"]["namespace"] != "llm-tiers" \
                or d.inputs["metadata"]["labels"].get("llm-tiers.io/component") != "server":
            continue  # warm-capacity placeholders (gpu/warm.py) hold nodes; they serve nothing and load nothing
        spec = d.inputs["spec"]
        step = plan.steps[d.urn]
        assert spec["progressDeadlineSeconds"] >= step.awaits.estimate_seconds, d.name
        # The startup probe's window covers the load it gates.
        container = spec["template"]["spec"]["containers"][0]
        probe = container["startupProbe"]
        weights = int(d.inputs["metadata"]["annotations"]["llm-tiers.io/weights-bytes"])
        engine = d.inputs["metadata"]["labels"]["llm-tiers.io/engine"]
        types = awaits.node_pool_types(r.recording).get(awaits.gpu_class_of(d) or "", [])
        assert probe["periodSeconds"] * probe["failureThreshold"] >= timing.load_seconds(
            weights, engine, weights_from=awaits.weights_from_of(d), instance_types=types, shards=awaits.shards_of(d))
        # An update waits for the whole rollout at replicas.max, one surge replica at a time.
        assert timing.parse_duration(d.custom_timeouts["update"]) >= timing.parse_duration(d.custom_timeouts["create"])


def test_custom_resources_with_an_observable_readiness_are_awaited(rendered):
    r = rendered("prod")
    waits = {(x.inputs["kind"], x.inputs["metadata"]["name"]): x.inputs["metadata"].get("annotations", {}).get(
        "pulumi.com/waitFor") for x in r.custom_resources if x.type == "kubernetes:apiextensions.k8s.io:CustomResource"
        or x.inputs.get("apiVersion", "").split("/")[0].count(".")}
    assert waits[("Gateway", "llm-gateway")] == "condition=Programmed"
    assert waits[("NodePool", "h100")] == waits[("EC2NodeClass", "h100")] == "condition=Ready"
    assert waits[("ExternalSecret", "hf-token")] == "condition=Ready"
    assert waits[("ClusterSecretStore", "aws-secrets-manager")] == "condition=Ready"


@pytest.mark.parametrize("stack", STACKS)
def test_helm_release_timeouts_cover_their_estimates_and_come_from_timing(rendered, stack):
    r = rendered(stack)
    for rel in r.of_type(awaits.HELM_RELEASE):
        key = awaits.chart_key(rel)
        assert key, rel.name
        assert rel.inputs["timeout"] == timing.CHARTS[key].timeout_seconds >= timing.CHARTS[key].estimate_seconds


# ---------------------------------------------------------------------------------------------- order


def test_every_custom_resource_is_created_after_its_crd_and_controller(rendered, example_renders):
    missing = []
    for where, r, plan in plans(rendered, example_renders):
        owners = {key: chart_steps(plan, r.recording, key) for keys in CRD_OWNERS.values() for key in keys}
        for x in r.custom_resources:
            group = str(x.inputs.get("apiVersion", "")).split("/")[0]
            if group not in CRD_OWNERS:
                continue
            ancestors = plan.ancestors(x.urn)
            for key in CRD_OWNERS[group]:
                installed = owners[key]
                if installed and not any(s.urn in ancestors for s in installed):
                    missing.append(f"{where}: {awaits.label(x)} does not wait for {key}")
                if not installed and where in STACKS:
                    missing.append(f"{where}: {awaits.label(x)} needs {key}, which the stack does not install")
    assert not missing, "\n".join(missing)


def test_every_input_naming_another_resource_depends_on_it(rendered, example_renders):
    found = []
    for where, r, plan in plans(rendered, example_renders):
        found += [f"{where}: {ref.resource}.{ref.path} = {ref.value!r} names {ref.target}"
                  for ref in ordering.unordered_references(plan, r.recording)]
    assert not found, "\n".join(found)


def test_the_reference_check_finds_a_cluster_name_passed_as_a_plain_string(rendered):
    """The check itself can fail: an access entry naming the cluster without an edge to it is reported."""
    r = rendered("prod")
    plan = rollout.plan("prod", r.recording)
    entry = next(x for x in r.custom_resources if x.type == "aws:eks/accessEntry:AccessEntry" and x.name == "gpu-node")
    step = plan.steps[entry.urn]
    saved = list(step.depends_on)
    try:
        step.depends_on = [u for u in saved if "eks/cluster" not in u and "Role::" not in u]
        refs = ordering.unordered_references(plan, r.recording)
    finally:
        step.depends_on = saved
    assert any(ref.resource == "AccessEntry gpu-node" and ref.path == "clusterName"
               and "Cluster cluster-eks" in ref.target
               for ref in refs), refs


def test_pod_identity_associations_and_access_entries_wait_for_the_cluster(rendered):
    r = rendered("prod")
    plan = rollout.plan("prod", r.recording)
    eks = r.of_type("aws:eks/cluster:Cluster")[0].urn
    for t in ("aws:eks/podIdentityAssociation:PodIdentityAssociation", "aws:eks/accessEntry:AccessEntry"):
        for x in r.of_type(t):
            assert eks in plan.steps[x.urn].depends_on, x.name


def test_the_system_node_group_waits_for_egress(rendered):
    r = rendered("prod")
    plan = rollout.plan("prod", r.recording)
    ng = r.of_type("aws:eks/nodeGroup:NodeGroup")[0]
    nats = {x.urn for x in r.of_type("aws:ec2/natGateway:NatGateway")}
    assocs = {x.urn for x in r.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")}
    assert nats | assocs <= plan.ancestors(ng.urn)


def test_a_tiers_weights_pvc_sync_job_and_engine_wait_only_for_what_they_use(rendered, example_renders):
    found, checked = [], 0
    for where, r, plan in plans(rendered, example_renders):
        if where not in STACKS:
            continue  # the examples compose ModelTier with one depends_on list on a cluster they do not create
        checked += sum(1 for x in rollout.nodes(r.recording) if ordering._tier_role(x))
        found += [f"{where}: {line}" for line in ordering.needless_edges(plan, r.recording)]
    assert checked, "no tier PVC, sync Job or Deployment found"
    assert not found, "\n".join(found)


def test_the_needless_edge_check_finds_a_sync_job_waiting_for_prometheus(rendered):
    """The check itself can fail: the 70B sync Job made to wait for kube-prometheus-stack (as ModelTier did
    through observability.ready) is reported, and so is a PVC waiting for the GPU NodePool."""
    r = rendered("prod")
    plan = rollout.plan("prod", r.recording)
    job = by_label(plan, "Job llm-tiers/chat-large-sync-")[0]
    pvc = by_label(plan, "PersistentVolumeClaim llm-tiers/chat-small-weights-")[0]
    prometheus = chart_steps(plan, r.recording, "kube-prometheus-stack")[0]
    pool = by_label(plan, "NodePool h100")[0]
    saved = list(job.depends_on), list(pvc.depends_on)
    try:
        job.depends_on = [*saved[0], prometheus.urn]
        pvc.depends_on = [*saved[1], pool.urn]
        found = ordering.needless_edges(plan, r.recording)
    finally:
        job.depends_on, pvc.depends_on = saved
    assert f"{job.label} waits for helm release monitoring/kube-prometheus-stack" in found, found
    assert f"{pvc.label} waits for NodePool h100" in found, found
    # And the engine still waits for its GPU class and the sync Job, the scaler for KEDA.
    deployment = by_label(plan, "Deployment llm-tiers/chat-large-live")[0]
    assert pool.urn in plan.ancestors(deployment.urn) and job.urn in plan.ancestors(deployment.urn)
    scaler = by_label(plan, "ScaledObject llm-tiers/chat-large-live")[0]
    assert chart_steps(plan, r.recording, "keda")[0].urn in plan.ancestors(scaler.urn)


# ---------------------------------------------------------------------------------------------- destroy


@pytest.mark.parametrize("stack", STACKS)
def test_destroy_keeps_egress_and_karpenter_until_every_gpu_node_is_gone(rendered, stack):
    r = rendered(stack)
    plan = rollout.plan(stack, r.recording)
    egress = {x.urn for t in ("aws:ec2/natGateway:NatGateway", "aws:ec2/routeTableAssociation:RouteTableAssociation",
                              "aws:ec2/routeTable:RouteTable") for x in r.of_type(t)}
    karpenter = {s.urn for s in chart_steps(plan, r.recording, "karpenter")}
    identity = {x.urn for x in r.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                if x.inputs["serviceAccount"] == "karpenter"}
    assert karpenter and identity
    for x in r.custom_resources:
        if x.inputs.get("kind") not in ("NodePool", "EC2NodeClass"):
            continue
        ancestors = plan.ancestors(x.urn)
        assert egress <= ancestors, f"{x.name}: egress can be deleted before it"
        assert karpenter <= ancestors and identity <= ancestors, f"{x.name}: the controller can go first"
        # Deleting it waits for Karpenter to drain and terminate its nodes (Foreground propagation).
        assert plan.steps[x.urn].delete_budget_seconds >= timing.GPU_NODE_DRAIN_SECONDS
    for pool in (x for x in r.custom_resources if x.inputs.get("kind") == "NodePool"):
        ref = pool.inputs["spec"]["template"]["spec"]["nodeClassRef"]["name"]
        node_class = next(x for x in r.custom_resources if x.inputs.get("kind") == "EC2NodeClass"
                          and x.inputs["metadata"]["name"] == ref)
        assert node_class.urn in plan.ancestors(pool.urn)
    # Tier pods go before the NodePools, so the nodes are empty when Karpenter drains them.
    pools = {x.urn for x in r.custom_resources if x.inputs.get("kind") == "NodePool"}
    for d in r.custom_resources:
        if d.inputs.get("kind") == "Deployment" and d.inputs["metadata"]["namespace"] == "llm-tiers":
            assert pools & plan.ancestors(d.urn), d.name


@pytest.mark.parametrize("stack", STACKS)
def test_destroy_keeps_the_efs_mount_targets_until_the_weight_caches_are_gone(rendered, stack):
    r = rendered(stack)
    plan = rollout.plan(stack, r.recording)
    mounts = {x.urn for x in r.of_type("aws:efs/mountTarget:MountTarget")}
    pvcs = [x for x in r.custom_resources if x.inputs.get("kind") == "PersistentVolumeClaim"]
    assert mounts and pvcs
    for pvc in pvcs:
        assert mounts <= plan.ancestors(pvc.urn), pvc.name


def test_prod_protects_its_stateful_resources_and_dev_does_not(rendered):
    stateful = ("aws:eks/cluster:Cluster", "aws:efs/fileSystem:FileSystem", "aws:kms/key:Key",
                "aws:secretsmanager/secret:Secret")
    prod, dev = rendered("prod"), rendered("dev")
    assert all(x.protect for t in stateful for x in prod.of_type(t))
    assert not any(x.protect for x in dev.custom_resources)
    kps = next(h for h in prod.helm_releases() if h["name"] == "kube-prometheus-stack")
    storage = kps["values"]["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    retain = prod.objects_named("StorageClass")[storage["storageClassName"]]
    assert retain["reclaimPolicy"] == "Retain"


def test_secrets_manager_names_are_generated_so_a_recreated_secret_never_collides(rendered):
    for x in rendered("prod").of_type("aws:secretsmanager/secret:Secret"):
        assert "name" not in x.inputs and x.inputs["namePrefix"].startswith("llm-prod/")


# ---------------------------------------------------------------------------------------------- upgrades


def test_charts_crds_are_upgraded_with_the_chart(rendered):
    r = rendered("prod")
    releases = {h["name"]: h for h in r.helm_releases()}
    assert releases["kube-prometheus-stack"]["values"]["crds"] == {"enabled": False}
    assert releases["envoy-gateway"]["values"]["crds"] == {"enabled": False}
    charts = {h["chart"]: h for h in r.helm_releases()}
    for key in ("prometheus-operator-crds", "envoy-gateway-crds", "ai-gateway-crds"):
        pin = versions.CHARTS[key]
        assert charts[pin.chart]["version"] == pin.version
    crd_charts = {x.name: x for x in r.recording.resources if x.type == awaits.HELM_CHART}
    assert set(crd_charts) == {"observability-prometheus-operator-crds", "gateway-envoy-gateway-crds",
                               "gateway-ai-gateway-crds"}
    # gateway-crds-helm v1.9.0 renders nothing by default: its templates gate on exactly these values
    # (envoyproxy/gateway charts/gateway-crds-helm/templates, values.yaml: both false, channel experimental).
    # prometheus-operator-crds enables every CRD by default (its values are left empty).
    assert crd_charts["gateway-envoy-gateway-crds"].inputs["values"] == {
        "crds": {"gatewayAPI": {"enabled": True, "channel": "experimental"}, "envoyGateway": {"enabled": True}}}
    assert crd_charts["observability-prometheus-operator-crds"].inputs["values"] == {}
    # ai-gateway-crds-helm v1.1.0 installs every CRD of its templates/ unconditionally.
    assert crd_charts["gateway-ai-gateway-crds"].inputs["values"] == {}


def test_weight_caches_are_keyed_by_revision_and_never_resized_in_place(rendered):
    r = rendered("prod")
    for pvc in (x for x in r.custom_resources if x.inputs.get("kind") == "PersistentVolumeClaim"):
        revision = pvc.inputs["metadata"]["annotations"]["llm-tiers.io/revision"]
        assert pvc.inputs["metadata"]["name"].endswith(revision[:10])
        assert pvc.ignore_changes == ["spec.resources.requests.storage"]


def test_karpenter_is_told_its_region(rendered):
    for stack in STACKS:
        values = next(h for h in rendered(stack).helm_releases() if h["name"] == "karpenter")["values"]
        assert {"name": "AWS_REGION", "value": "us-east-1"} in values["controller"]["env"]


# ---------------------------------------------------------------------------------------------- files


@pytest.mark.parametrize("stack", STACKS)
def test_rollout_files_are_written_and_agree(rendered, stack, tmp_path):
    target = render_tool.write_build(rendered(stack), tmp_path)
    doc = json.loads((target / "rollout.json").read_text())
    md = (target / "rollout.md").read_text()
    assert doc["criticalPath"]["totalSeconds"] > 0 and doc["deleteWaves"] and doc["createWaves"]
    assert f"critical path {rollout.minutes(doc['criticalPath']['totalSeconds'])}" in md
    labels = [x["label"] for x in doc["resources"]]
    assert len(labels) == len(set(labels))
    first_wave = set(doc["createWaves"][0])
    assert any(label.startswith("Vpc ") for label in first_wave)
    # Deleted last: what nothing else depends on goes first, the VPC is among the very last.
    assert any(label.startswith("Vpc ") for label in doc["deleteWaves"][-1])


def test_dev_plan_states_the_time_to_first_token_from_zero(rendered, tmp_path):
    target = render_tool.write_build(rendered("dev"), tmp_path)
    doc = json.loads((target / "rollout.json").read_text())
    [zero] = doc["scaleFromZero"]
    assert zero["deployment"] == "llm-tiers/chat-small-live"
    cold = zero["coldNode"]
    names = [s["step"] for s in cold["steps"]]
    # Broken down per step: the trigger, a fresh node, the pull of the vLLM image, then start, the stream from the
    # S3 mirror (weightsFrom: s3) and the warm-up from the persisted compile cache.
    assert names[0] == "scrape + KEDA poll" and names[1].startswith("GPU node launch (g family)")
    # dev's l4 class pulls with SOCI's parallel mode (gpuClasses.l4.imagePull: soci-parallel; tests/test_image_pull.py).
    assert "image pull (SOCI parallel pull)" in names
    assert "weights stream (S3 mirror, Run:ai Model Streamer)" in names
    assert names[-1] == "vLLM compile + CUDA graphs (persisted cache)"
    assert cold["upperSeconds"] == sum(s["upper_seconds"] for s in cold["steps"])
    assert cold["upperSeconds"] >= (timing.GPU_NODE_LAUNCH["g"].slow
                                    + timing.image_pull("vllm", fast_pull=True).upper_seconds)
    plan_md = (target / "plan.md").read_text()
    assert "llm-tiers/chat-small-live (vllm on l4, weights from s3): fresh node about" in plan_md
    # plan.md states the first deploy's critical path both ways, as rollout.md computes it.
    critical = doc["criticalPath"]
    assert critical["typicalSeconds"] <= critical["totalSeconds"]
    assert (f"at most {critical['totalSeconds']}s" if critical["totalSeconds"] < 120
            else f"at most {round(critical['totalSeconds'] / 60)} min") in plan_md


@pytest.mark.parametrize("stack", STACKS)
def test_every_scale_from_zero_step_has_a_source_and_a_budget_above_its_upper_bound(rendered, stack, tmp_path):
    target = render_tool.write_build(rendered(stack), tmp_path)
    doc = json.loads((target / "rollout.json").read_text())
    md = (target / "rollout.md").read_text()
    for zero in doc["scaleFromZero"]:
        for breakdown in filter(None, (zero["coldNode"], zero["warmNode"])):
            for s in breakdown["steps"]:
                assert s["source"].strip(), s
                assert s["typical_seconds"] <= s["upper_seconds"] <= s["budget_seconds"], s
                # rollout.md shows estimate, upper bound, budget and source of each step.
                assert f"| {s['step']} | {rollout.minutes(s['typical_seconds'])} | " \
                       f"{rollout.minutes(s['upper_seconds'])} | {rollout.minutes(s['budget_seconds'])} | " \
                       f"{s['source']} |" in md


def test_timing_figures_carry_sources_and_budgets_cover_their_slow_ends():
    figures = [timing.EKS_CONTROL_PLANE, timing.HUB_DOWNLOAD_BYTES_PER_SECOND, timing.EFS_READ_BYTES_PER_SECOND,
               timing.IMAGE_PULL_BYTES_PER_SECOND, timing.POD_START, *timing.ENGINE_IMAGE_BYTES.values(),
               *timing.GPU_NODE_LAUNCH.values(), *timing.ENGINE_WARMUP.values(), timing.SHA256_BYTES_PER_SECOND,
               *timing.S3_READ_BYTES_PER_SECOND.values(), timing.S3_UPLOAD_BYTES_PER_SECOND,
               timing.NVME_READ_BYTES_PER_SECOND, timing.SAFETENSORS_LOADER_BYTES_PER_SECOND]
    assert all(f.source.strip() for f in figures)
    for engine in ("tgi", "vllm"):
        for cache in (False, True):
            for types in (["g6.xlarge"], ["p5.48xlarge"]):
                for where in ("efs", "nvme", "s3"):
                    for shards in (1, 4):
                        for s in timing.replica_steps(141_000_000_000, engine, types, True, cache,
                                                      weights_from=where, shards=shards):
                            assert s.typical_seconds <= s.upper_seconds <= s.budget_seconds, (engine, where, s)
    for mirror in (False, True):
        steps = timing.sync_steps(141_000_000_000, "tgi", new_node=True, mirror=mirror)
        assert ("upload to the S3 mirror" in [s.step for s in steps]) is mirror
        assert timing.sync_deadline_seconds(141_000_000_000, "tgi", True, mirror) > sum(s.upper_seconds for s in steps)
    # The Deployment's deadline is the sum of step budgets, not of estimates.
    steps = timing.replica_steps(16_000_000_000, "vllm", ["g6.xlarge"])
    assert timing.progress_deadline_seconds(16_000_000_000, "vllm", ["g6.xlarge"]) >= sum(
        s.budget_seconds for s in steps) > sum(s.upper_seconds for s in steps)
    # A P-family node is estimated slower than a G-family one; warm capacity skips launch and pull.
    assert timing.node_launch(["p5.48xlarge"]).slow > timing.node_launch(["g6.xlarge"]).slow
    assert [s.step for s in timing.replica_steps(1, new_node=False)] == [
        "pod start", "weights load (EFS, loader-bound)", "TGI warm-up"]
    # nvme copies first; a 4-GPU replica's loaders read in parallel, up to the disk's rate; s3 streams at the network's.
    assert [s.step for s in timing.replica_steps(1, new_node=False, weights_from="nvme")][1].startswith("weights copy")
    one, four = (timing.weights_load(141_000_000_000, "nvme", shards=n) for n in (1, 4))
    assert four.typical_seconds * 3 < one.typical_seconds
    assert timing.weights_load(141_000_000_000, "s3", "vllm", ["p5.48xlarge"]).typical_seconds < four.typical_seconds


def test_the_deploy_job_outlasts_every_stacks_critical_path_and_longest_await(rendered):
    """CI's `pulumi up` runs in one OIDC session and one job: both must outlast the first deploy and the
    longest single await of an update (a tier rolling at replicas.max)."""
    import yaml

    from conftest import ROOT

    job = yaml.safe_load((ROOT / ".github/workflows/deploy-stack.yml").read_text())["jobs"]["deploy"]
    session = next(s["with"]["role-duration-seconds"] for s in job["steps"]
                   if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"))
    for stack in STACKS:
        r = rendered(stack)
        plan = rollout.plan(stack, r.recording)
        longest = max(timing.parse_duration(t) for x in r.custom_resources for t in x.custom_timeouts.values())
        need = max(plan.critical_path_seconds, longest)
        assert session >= need and job["timeout-minutes"] * 60 >= need, (stack, need)


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_get_a_rollout_plan_too(example_renders, name, tmp_path):
    result = example_renders(name)
    result.stack = name
    target = render_tool.write_build(result, tmp_path)
    doc = json.loads((target / "rollout.json").read_text())
    assert doc["criticalPath"]["steps"] and (target / "rollout.md").read_text().startswith(f"# Rollout plan: {name}")
    # On a cluster it does not create, a tier still syncs its weights before its Deployment starts.
    steps = doc["criticalPath"]["steps"]
    assert any(s.startswith("Job llm-tiers/chat-sync-") for s in steps) and steps.index(
        next(s for s in steps if s.startswith("Job "))) < steps.index("Deployment llm-tiers/chat-live")


@pytest.mark.parametrize("stack", STACKS)
def test_the_rollout_plan_does_not_depend_on_the_order_resources_were_registered(rendered, stack):
    """The engine registers resources asynchronously, so their order varies between runs; the plan (and with it
    rollout.md in a PR diff) must not. Among equally long paths the critical path is picked by URN."""
    import dataclasses
    recording = rendered(stack).recording
    forward = rollout.to_json(rollout.plan(stack, recording))
    backward = dataclasses.replace(recording, resources=list(reversed(recording.resources)))
    assert rollout.to_json(rollout.plan(stack, backward)) == forward
