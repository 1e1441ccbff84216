"""The stacks' tiers as rendered: every tier of every stack gets its weights cache, sync Job, Deployment,
Service, PDB, NetworkPolicy, exactly one ScaledObject per release and a PodMonitor; the gateway routes to
Services that exist; unlocked models are refused before anything is registered."""

from __future__ import annotations

import json

import pytest

from llm_tiers.tiers import models_lock
from llm_tiers.tiers import weights
from conftest import ROOT, STACKS, overrides, stack_values
from llm_tiers.preview import render as render_tool

LOCK = models_lock.load(ROOT / "models.lock.json")


def tier_objects(result, tier: str) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in result.kubernetes_objects()
            if o["metadata"].get("labels", {}).get("llm-tiers.io/tier") == tier}


@pytest.mark.parametrize("stack", STACKS)
def test_every_tier_has_its_objects(rendered, stack):
    result = rendered(stack)
    for tier in stack_values(stack)["tiers"]:
        name = tier["name"]
        entry = LOCK.models[tier["modelId"]]
        objs = tier_objects(result, name)
        job = f"{name}-sync-{entry.revision[:10]}"
        source, engine = tier.get("weightsFrom", "efs"), tier.get("engine", "tgi")
        # The EFS claim holds the weights (efs), or only a vLLM release's compile cache (nvme, s3); TGI off EFS has
        # none, and reads the S3 mirror through its tier's AWS CLI config instead.
        kind = "weights" if source == "efs" else "compile-cache"
        claim_name = f"{name}-{kind}-{entry.revision[:10]}"
        expected = {("Job", job), ("Deployment", f"{name}-live"),
                    ("Service", name), ("PodDisruptionBudget", f"{name}-live"), ("NetworkPolicy", name),
                    ("NetworkPolicy", f"{name}-weights-sync"),
                    ("ScaledObject", f"{name}-live"), ("PodMonitor", name)}
        if source == "efs" or engine == "vllm":
            expected.add(("PersistentVolumeClaim", claim_name))
        if source != "efs":
            expected.add(("ConfigMap", f"{name}-aws-cli"))
        assert expected <= set(objs), (stack, name, sorted(objs))
        scalers = sorted(o["spec"]["scaleTargetRef"]["name"] for (k, _), o in objs.items() if k == "ScaledObject")
        assert scalers == [f"{name}-{r}" for r in (("candidate", "live") if "candidate" in tier else ("live",))]
        args = objs[("Deployment", f"{name}-live")]["spec"]["template"]["spec"]["containers"][0]["args"]
        if source == "s3":
            assert args[0].endswith(f"/models/{tier['modelId']}/{entry.revision}/") and "--revision" not in args
        else:
            assert args[args.index("--revision") + 1] == entry.revision
        sync_pod = objs[("Job", job)]["spec"]["template"]["spec"]
        sync_args = next(c for c in [*sync_pod.get("initContainers", []), *sync_pod["containers"]]
                         if c["name"] == "sync")["args"]
        assert json.loads(sync_args[sync_args.index("--files") + 1]) == [f.model_dump() for f in entry.files]
        if ("PersistentVolumeClaim", claim_name) in objs:
            pvc = objs[("PersistentVolumeClaim", claim_name)]["spec"]["resources"]["requests"]["storage"]
            assert pvc == f"{weights.pvc_size_gib(entry, source)}Gi"


@pytest.mark.parametrize("stack", STACKS)
def test_routes_point_at_rendered_services(rendered, stack):
    result = rendered(stack)
    services = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in result.kubernetes_objects()
                if o["kind"] == "Service"}
    routes = [o for o in result.kubernetes_objects() if o["kind"] == "HTTPRoute"
              and o["metadata"]["name"] != "https-redirect"]
    assert {r["metadata"]["name"] for r in routes} == {t["name"] for t in stack_values(stack)["tiers"]}
    backends = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in result.kubernetes_objects()
                if o["kind"] == "Backend"}
    ai_backends = {o["metadata"]["name"]: o for o in result.kubernetes_objects() if o["kind"] == "AIServiceBackend"}
    refs = [(r["metadata"]["namespace"], ref) for r in routes for ref in r["spec"]["rules"][0]["backendRefs"]]
    ai_route = next(o for o in result.kubernetes_objects() if o["kind"] == "AIGatewayRoute")
    refs += [(ai_route["metadata"]["namespace"], ai_backends[ref["name"]]["spec"]["backendRef"])
             for rule in ai_route["spec"]["rules"] for ref in rule["backendRefs"]]
    assert refs
    for ns, ref in refs:
        assert ref["kind"] == "Backend", "an FQDN Backend: a Service backend has no cluster at zero endpoints"
        (endpoint,) = backends[(ref.get("namespace", ns), ref["name"])]["spec"]["endpoints"]
        host, _, rest = endpoint["fqdn"]["hostname"].partition(".")
        assert (rest.split(".")[0], host) in services, f"{ref['name']} routes to nothing"


def test_prod_outputs_the_in_cluster_url_of_every_tier(rendered):
    assert rendered("prod").outputs()["tierServiceUrls"] == {
        "chat-small": "http://chat-small.llm-tiers.svc/v1", "chat-large": "http://chat-large.llm-tiers.svc/v1"}


def test_a_model_missing_from_the_lock_is_refused_at_its_key(tmp_path):
    values = stack_values("prod")
    values["tiers"][1]["modelId"] = "mistralai/Mistral-Large-Instruct-2411"
    with pytest.raises(render_tool.RenderError) as info:
        render_tool.render("prod", overrides=overrides(values))
    message = str(info.value)
    assert "tiers[1].modelId: mistralai/Mistral-Large-Instruct-2411 is not in models.lock.json" in message
    assert "make models-lock" in message
    assert info.value.recording.resources == [], "nothing is registered"


def test_without_a_lock_file_every_tier_is_refused(tmp_path):
    values = stack_values("dev")
    values["modelPolicy"]["lockFile"] = str(tmp_path / "absent.json")
    with pytest.raises(render_tool.RenderError, match=r"tiers\[0\]\.modelId: Qwen/Qwen2.5-7B-Instruct is not locked "
                                                      r"\(.*absent.json does not exist\)"):
        render_tool.render("dev", overrides=overrides(values))


def test_an_entry_without_files_or_numbers_is_refused(tmp_path):
    values = stack_values("dev")
    entry = LOCK.models["Qwen/Qwen2.5-7B-Instruct"].model_dump(by_alias=True)
    entry.update(files=[], numLayers=None)
    lock = tmp_path / "lock.json"
    lock.write_text(json.dumps({"version": 1, "models": {"Qwen/Qwen2.5-7B-Instruct": entry}}))
    values["modelPolicy"]["lockFile"] = str(lock)
    with pytest.raises(render_tool.RenderError,
                       match=r"tiers\[0\]\.modelId: .* lacks its weight files or architecture"):
        render_tool.render("dev", overrides=overrides(values))


def test_hand_written_lock_entries_are_announced_in_the_preview_and_plan(rendered, tmp_path):
    manual = {m for m, e in LOCK.models.items() if e.source == "manual"}
    for stack in STACKS:
        result = rendered(stack)
        deployed = {t["modelId"] for t in stack_values(stack)["tiers"]}
        warned = {m for m in deployed if any(m in w for w in result.recording.warnings)}
        assert warned == deployed & manual, stack
        plan = (render_tool.write_build(result, tmp_path / "build") / "plan.md").read_text()
        section = plan.split("## Warnings", 1)[1] if "## Warnings" in plan else ""
        assert {m for m in deployed if f"the lock entry of {m} is hand-written" in section} == deployed & manual, stack


def test_the_committed_lock_marks_what_it_does_not_know():
    for model_id, e in LOCK.models.items():
        if e.source == "hub":
            assert e.unverified_files == [] and e.weights_bytes == sum(
                f.size for f in e.files if f.path.endswith(".safetensors")), model_id
        else:
            assert e.note and e.weights_bytes > 0, model_id
        assert any(f.path.endswith(".safetensors") for f in e.files), model_id


@pytest.mark.parametrize("entry,words", [
    ({"source": "hub", "files": [{"path": "model.safetensors", "size": None}]}, "files without a size in a hub entry"),
    ({"source": "manual", "files": [{"path": "model.safetensors", "size": None}]}, "needs a note"),
    ({"files": [{"path": "model.safetensors"}]}, "size"),
])
def test_lock_entries_say_where_sizes_come_from(tmp_path, entry, words):
    base = {"revision": "a" * 40, "gated": False, "weightsBytes": 1}
    path = tmp_path / "lock.json"
    path.write_text(json.dumps({"version": 1, "models": {"o/m": {**base, **entry}}}))
    with pytest.raises(models_lock.LockError, match=words):
        models_lock.load(path)


@pytest.mark.parametrize("stack", STACKS)
def test_the_sync_failure_alert_matches_the_rendered_job_names(rendered, stack):
    """The alert selects Jobs by a name pattern: a renamed Job must not silence it."""
    import re

    result = rendered(stack)
    rules = [r for g in result.objects_named("PrometheusRule")["llm-tiers"]["spec"]["groups"] for r in g["rules"]]
    for tier in stack_values(stack)["tiers"]:
        (alert,) = [r for r in rules if r.get("alert") == "LlmWeightsSyncFailed"
                    and r["labels"]["tier"] == tier["name"]]
        pattern = re.search(r'job_name=~"([^"]+)"', alert["expr"]).group(1)
        # The weight syncs (not the benchmark, eval and gate Jobs, which the alert does not watch).
        jobs = [n for (k, n) in tier_objects(result, tier["name"]) if k == "Job"
                and not any(part in n for part in ("-bench-", "-eval-", "-gate-"))]
        assert jobs and all(re.fullmatch(pattern, j) for j in jobs), (pattern, jobs)
