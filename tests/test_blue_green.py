"""Blue/green model swaps (docs/blue-green.md): each step of the cycle is one line, safe on its own, and
checked on the render: the switch waits for the release it points at, the candidate is refused like the
live release at its own key path, promotion syncs nothing already cached, plan.md names what serves."""

from __future__ import annotations

import pytest

from conftest import overrides, stack_values
from llm_tiers.cli import blue_green_doc as cycle
from llm_tiers.preview import render as render_tool
from llm_tiers.preview import rollout


@pytest.fixture(scope="module")
def steps():
    """(values, render, objects by kind/name) before the cycle and after each of its seven steps."""
    out = []
    for values in cycle.states():
        r = cycle.render_state(values)
        out.append((values, r, {(o["kind"], o["metadata"]["name"]): o for o in r.kubernetes_objects()}))
    return out


def _changed(a, b):
    return ({k for k in b if k not in a}, {k for k in a if k not in b}, {k for k in a if k in b and a[k] != b[k]})


def test_the_cycle_is_seven_one_line_steps():
    assert [len(line.splitlines()) for _, line, _, _ in cycle.STEPS] == [1] * 7


RUN = cycle.RUN_ID


def test_measuring_adds_the_benchmark_and_evals_and_admits_them(steps):
    added, removed, changed = _changed(steps[1][2], steps[2][2])
    assert added == {("ConfigMap", "chat-small-eval-scripts"), ("ConfigMap", "chat-small-eval-set"),
                     *{("Job", f"chat-small-{r}-{kind}-{RUN}") for r in ("live", "candidate") for kind in ("bench",
                                                                                                           "eval")},
                     ("NetworkPolicy", "chat-small-benchmark"),
                     ("PersistentVolumeClaim", "chat-small-benchmark-results"),
                     ("Service", "chat-small-candidate"), ("Service", "chat-small-live"),
                     ("ServiceAccount", "chat-small-benchmark")}
    assert not removed and changed == {("NetworkPolicy", "chat-small")}  # it admits the benchmark and eval pods


def test_adding_a_candidate_adds_only_its_own_objects(steps):
    added, removed, changed = _changed(steps[0][2], steps[1][2])
    assert added == {("Deployment", "chat-small-candidate"), ("PodDisruptionBudget", "chat-small-candidate"),
                     ("ScaledObject", "chat-small-candidate"), ("Job", "chat-small-sync-a09a35458c"),
                     ("PersistentVolumeClaim", "chat-small-weights-a09a35458c")}
    assert not removed and not changed


def test_the_switch_waits_for_the_candidate_to_be_available_and_the_gate(steps):
    added, removed, changed = _changed(steps[2][2], steps[3][2])
    assert added == {("Job", f"chat-small-gate-{RUN}"), ("NetworkPolicy", "chat-small-eval-gate")} and not removed
    assert changed == {("Service", "chat-small"), ("PrometheusRule", "llm-tiers")}
    _, r, objs = steps[3]
    assert objs[("Service", "chat-small")]["spec"]["selector"]["llm-tiers.io/release"] == "candidate"
    plan = rollout.plan("prod", r.recording)
    service = next(x for x in r.custom_resources if x.inputs.get("kind") == "Service"
                   and x.inputs["metadata"]["name"] == "chat-small")
    candidate = next(x for x in r.custom_resources if x.inputs.get("kind") == "Deployment"
                     and x.inputs["metadata"]["name"] == "chat-small-candidate")
    gate = next(x for x in r.custom_resources if x.inputs.get("kind") == "Job"
                and x.inputs["metadata"]["name"] == f"chat-small-gate-{RUN}")
    assert candidate.urn in plan.steps[service.urn].depends_on and gate.urn in plan.steps[service.urn].depends_on
    assert "Available" in plan.steps[candidate.urn].awaits.condition
    assert "Complete" in plan.steps[gate.urn].awaits.condition
    # Adding and serving in one change: the candidate syncs, becomes available, then the Service moves.
    assert {u for u in plan.ancestors(service.urn) if "sync-a09a35458c" in u}


def test_alerts_watch_the_serving_release(steps):
    for values, _, objs in steps:
        rules = [rule for g in objs[("PrometheusRule", "llm-tiers")]["spec"]["groups"] for rule in g["rules"]]
        serve = values["tiers"][0].get("serve", "live")
        alert = next(x for x in rules if x.get("alert") == "LlmTierNoReadyReplica"
                     and x["labels"]["tier"] == "chat-small")
        assert f'deployment="chat-small-{serve}"' in alert["expr"]


def test_promotion_syncs_nothing_that_is_cached_and_keeps_serving_the_new_model(steps):
    added, removed, changed = _changed(steps[3][2], steps[4][2])
    assert not added, "promotion must not create a sync Job or a cache for a revision already synced"
    assert removed == {("Job", "chat-small-sync-0e9e39f249"),
                       ("PersistentVolumeClaim", "chat-small-weights-0e9e39f249")}
    # The live release's benchmark and eval record its new model, so they run again under the same run id.
    assert changed == {("Deployment", "chat-small-live"), ("Job", f"chat-small-live-bench-{RUN}"),
                       ("Job", f"chat-small-live-eval-{RUN}")}
    live = steps[4][2][("Deployment", "chat-small-live")]["spec"]["template"]["spec"]
    assert live["volumes"][0]["persistentVolumeClaim"]["claimName"] == "chat-small-weights-a09a35458c"
    assert steps[4][2][("Service", "chat-small")]["spec"]["selector"]["llm-tiers.io/release"] == "candidate"


def test_serving_live_again_and_removing_the_candidate_change_only_the_switch_then_the_candidate(steps):
    _, removed, changed = _changed(steps[4][2], steps[5][2])
    assert changed == {("Service", "chat-small"), ("PrometheusRule", "llm-tiers")}
    assert removed == {("Job", f"chat-small-gate-{RUN}"), ("NetworkPolicy", "chat-small-eval-gate")}
    added, removed, changed = _changed(steps[5][2], steps[6][2])
    assert not added and not changed
    assert removed == {("Deployment", "chat-small-candidate"), ("PodDisruptionBudget", "chat-small-candidate"),
                       ("ScaledObject", "chat-small-candidate"), ("Job", f"chat-small-candidate-bench-{RUN}"),
                       ("Job", f"chat-small-candidate-eval-{RUN}"), ("Service", "chat-small-candidate")}


def test_plan_and_outputs_name_the_serving_release(steps):
    for values, r, _ in steps:
        tier = values["tiers"][0]
        serve = tier.get("serve", "live")
        model = tier["modelId"] if serve == "live" else tier["candidate"]["modelId"]
        row = next(x for x in r.outputs()["tierPlan"] if x["tier"] == "chat-small")
        assert (row["serving"], row["model"]) == (serve, model)
        assert r.outputs()["tierServing"]["chat-small"]["model"] == model
        if "candidate" in tier:
            assert row["otherRelease"].startswith("candidate:" if serve == "live" else "live:")


def _refused(values, path, words):
    with pytest.raises(render_tool.RenderError) as info:
        render_tool.render("prod", overrides=overrides(values))
    text = str(info.value)
    assert f"{path}:" in text and words in text, text
    assert not info.value.recording.resources, "nothing may be registered before the refusal"


def test_a_candidate_that_does_not_fit_is_refused_at_its_key_path():
    values = stack_values("prod")
    values["tiers"][0]["candidate"] = {"modelId": "meta-llama/Llama-3.1-70B-Instruct"}  # 70B on one L4
    _refused(values, "tiers[0].candidate", "meta-llama/Llama-3.1-70B-Instruct on 1 x")


def test_a_candidate_with_a_guarded_flag_is_refused_before_anything_is_registered():
    values = stack_values("prod")
    values["tiers"][0]["candidate"] = {"extraArgs": ["--max-total-tokens=99999"]}
    _refused(values, "tiers[0].candidate.extraArgs[0]", "--max-total-tokens is set by the platform")


def test_a_candidate_licensed_outside_the_allow_list_is_refused():
    values = stack_values("prod")
    values["modelPolicy"]["allowedLicenses"] = ["llama3.1", "mit"]  # not apache-2.0
    values["tiers"][0]["candidate"] = {"modelId": "Qwen/Qwen2.5-7B-Instruct"}
    _refused(values, "tiers[0].candidate.modelId", "licensed 'apache-2.0'")


def test_a_candidate_needs_gpu_room_for_both_releases():
    values = stack_values("prod")
    values["gpuClasses"]["l4"]["maxGpus"] = 16
    values["tiers"][0]["candidate"] = {"modelId": "Qwen/Qwen2.5-7B-Instruct"}
    _refused(values, "gpuClasses.l4.maxGpus", "chat-small: 2 release(s) x (8 + 1 surge) x 1 GPU(s) = 18 GPUs")


def test_the_worked_example_in_the_docs_is_current():
    assert cycle.DOC.read_text() == cycle.document(), "run python -m llm_tiers.cli.blue_green_doc --write"
