"""The GuideLLM benchmark: what the rendered Jobs, Services and NetworkPolicies say, per release and run, and the
config errors that keep a bad benchmark from deploying."""

from __future__ import annotations

from typing import Any

import pytest

from llm_tiers import versions
from llm_tiers.stack import system_capacity as sc
from llm_tiers.config.schema import ConfigError
from llm_tiers.stack.parse import parse
from llm_tiers.preview import render as render_tool
from conftest import overrides, stack_values

NS = "llm-tiers"


def _objects(r: render_tool.RenderResult) -> list[dict[str, Any]]:
    return r.kubernetes_objects()


def _get(objs, kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _bench_jobs(objs) -> list[dict[str, Any]]:
    # GuideLLM's Jobs (the eval Jobs of a tier with `eval` carry the benchmark pods' selector too).
    return [o for o in objs if o["kind"] == "Job"
            and o["metadata"]["labels"].get("llm-tiers.io/component") == "benchmark"
            and o["metadata"]["labels"].get("app.kubernetes.io/name") == "guidellm"]


def _without_eval() -> dict[str, Any]:
    """staging as a plain benchmark setup: TGI live serving, the vLLM candidate beside it, no eval or gate
    (tests/test_eval_gate.py covers those; with `eval`, both releases are benchmarked through their own Service)."""
    values = stack_values("staging")
    values["tiers"][0].pop("eval")
    values["tiers"][0].pop("gate")
    values["tiers"][0]["serve"] = "live"
    return values


@pytest.fixture(scope="module")
def plain_render():
    return render_tool.render("staging", overrides=overrides(_without_eval()))


def _opt(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


def _kv(value: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in value.split(","))


def _with_candidate() -> dict[str, Any]:
    values = _without_eval()
    values["tiers"][0]["candidate"] = {"extraArgs": ["--max-waiting-tokens=10"]}
    values["tiers"][0]["replicas"] = {"min": 1, "max": 3}
    return values


@pytest.fixture(scope="module")
def candidate_render():
    return render_tool.render("staging", overrides=overrides(_with_candidate()))


def test_only_opted_in_tiers_get_a_benchmark(rendered):
    assert not _bench_jobs(_objects(rendered("dev"))) and not _bench_jobs(_objects(rendered("prod")))
    jobs = _bench_jobs(_objects(rendered("staging")))
    # staging's chat-small runs TGI live and a vLLM candidate: one run per release, the same workload.
    assert sorted(j["metadata"]["name"] for j in jobs) == ["chat-small-candidate-bench-2026-12-01a",
                                                          "chat-small-live-bench-2026-12-01a"]


def test_the_job_targets_the_tier_service_offline_with_its_own_tokenizer(plain_render):
    objs = _objects(plain_render)
    job = _get(objs, "Job", "chat-small-live-bench-2026-12-01a")
    pod = job["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["image"] == versions.IMAGES["guidellm"] and not c["image"].endswith(":latest")
    args = c["args"]
    assert args[0] == "run"  # the image's ENTRYPOINT is guidellm
    backend = _kv(_opt(args, "--backend")[0])
    assert backend == {"kind": "openai_http", "target": "http://chat-small.llm-tiers.svc.cluster.local/v1"}
    # The Service it names exists and sends port 80 to the engine's http port (not the gateway's address).
    svc = _get(objs, "Service", "chat-small")
    assert svc["spec"]["ports"][0]["port"] == 80 and svc["spec"]["selector"]["llm-tiers.io/release"] == "live"
    # Tokenizer: the live revision's snapshot in the weights cache the tier's Deployment mounts, read-only.
    deploy = _get(objs, "Deployment", "chat-small-live")
    revision = deploy["metadata"]["annotations"]["llm-tiers.io/revision"]
    model = deploy["metadata"]["annotations"]["llm-tiers.io/model"]
    tok = _kv(_opt(args, "--tokenizer")[0])
    assert tok == {"kind": "huggingface_auto",
                   "model": f"/weights/hub/models--{model.replace('/', '--')}/snapshots/{revision}"}
    claim = next(v["persistentVolumeClaim"] for v in pod["volumes"] if v["name"] == "weights")
    served = next(v["persistentVolumeClaim"]["claimName"] for v in deploy["spec"]["template"]["spec"]["volumes"]
                  if v["name"] == "weights")
    assert claim == {"claimName": served, "readOnly": True}
    assert {"name": "weights", "mountPath": "/weights", "readOnly": True} in c["volumeMounts"]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["HF_HUB_OFFLINE"] == "1" and env["TRANSFORMERS_OFFLINE"] == "1"
    data = _kv(_opt(args, "--data")[0])
    assert data == {"kind": "synthetic_text", "prompt_tokens": "512", "output_tokens": "256"}
    assert _kv(_opt(args, "--profile")[0]) == {"kind": "sweep", "sweep_size": "10", "max_concurrency": "128"}
    assert _kv(_opt(args, "--constraint")[0]) == {"kind": "max_duration", "seconds": "60"}
    # Results: JSON on the tier's results PVC, under the run id.
    outputs = [_kv(o) for o in _opt(args, "--output")]
    assert {"kind": "json", "path": "/results/2026-12-01a/chat-small-live.json"} in outputs
    results = next(v for v in pod["volumes"] if v["name"] == "results")["persistentVolumeClaim"]["claimName"]
    pvc = _get(objs, "PersistentVolumeClaim", results)
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert {"name": "results", "mountPath": "/results"} in c["volumeMounts"]


def test_the_job_is_hardened_bounded_and_not_awaited(rendered):
    job = _get(_objects(rendered("staging")), "Job", "chat-small-live-bench-2026-12-01a")
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert job["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    assert spec["backoffLimit"] == 0 and "ttlSecondsAfterFinished" not in spec
    # 10 strategies x (60 s + 60 s) + 600 s of start-up.
    assert spec["activeDeadlineSeconds"] == 10 * 120 + 600
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] >= 10000
    assert pod["automountServiceAccountToken"] is False and pod["restartPolicy"] == "Never"
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}}
    assert c["resources"] == sc.BENCHMARK.resources() and "limits" in c["resources"]
    assert pod["nodeSelector"] == {"llm-tiers.io/node-role": "system"}


def test_network_policies_admit_the_benchmark_and_nothing_else(rendered):
    objs = _objects(rendered("staging"))
    bench_labels = _get(objs, "Job", "chat-small-live-bench-2026-12-01a")["spec"]["template"]["metadata"]["labels"]
    tier = _get(objs, "NetworkPolicy", "chat-small")["spec"]
    admitted = [r for r in tier["ingress"] if any("podSelector" in p and "namespaceSelector" not in p
                                                  for p in r["from"])]
    assert len(admitted) == 1
    selector = admitted[0]["from"][0]["podSelector"]["matchLabels"]
    assert selector.items() <= bench_labels.items() and admitted[0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    # A tier that is not benchmarked admits no benchmark pods.
    other = _get(objs, "NetworkPolicy", "chat-large")["spec"]
    assert not any("podSelector" in p and "namespaceSelector" not in p for r in other["ingress"] for p in r["from"])
    # The benchmark's own policy: no ingress; egress to DNS and the tier's engine pods on their container port.
    own = _get(objs, "NetworkPolicy", "chat-small-benchmark")["spec"]
    assert own["podSelector"]["matchLabels"].items() <= bench_labels.items()
    assert own["policyTypes"] == ["Ingress", "Egress"] and own["ingress"] == []
    engine = next(e for e in own["egress"] if any("podSelector" in p for p in e["to"]))
    deploy = _get(objs, "Deployment", "chat-small-live")
    pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert engine["to"][0]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    http = next(p for p in deploy["spec"]["template"]["spec"]["containers"][0]["ports"] if p["name"] == "http")
    assert engine["ports"] == [{"port": http["containerPort"], "protocol": "TCP"}]
    assert len(own["egress"]) == 2


def test_a_candidate_runs_the_same_workload_through_its_own_service(candidate_render):
    objs = _objects(candidate_render)
    jobs = {j["metadata"]["labels"]["llm-tiers.io/release"]: j for j in _bench_jobs(objs)}
    assert set(jobs) == {"live", "candidate"}
    args = {r: j["spec"]["template"]["spec"]["containers"][0]["args"] for r, j in jobs.items()}
    target = _kv(_opt(args["candidate"], "--backend")[0])["target"]
    assert target == "http://chat-small-candidate.llm-tiers.svc.cluster.local/v1"
    svc = _get(objs, "Service", "chat-small-candidate")
    cand_pods = _get(objs, "Deployment", "chat-small-candidate")["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= cand_pods.items()
    assert svc["spec"]["selector"]["llm-tiers.io/release"] == "candidate"
    # Same workload: every option but the target, the results path and the labels is identical.
    for flag in ("--profile", "--constraint", "--data", "--tokenizer"):
        assert _opt(args["live"], flag) == _opt(args["candidate"], flag), flag
    assert "release=candidate" in _opt(args["candidate"], "--label")


def test_a_new_run_id_replaces_the_jobs_under_the_same_urn(tmp_path, rendered):
    values = stack_values("staging")
    values["benchmark"]["runId"] = "2026-12-02a"
    again = render_tool.render("staging", overrides=overrides(values))
    before = {r.urn: r for r in rendered("staging").recording.resources if r.type == "kubernetes:batch/v1:Job"}
    after = {r.urn: r for r in again.recording.resources if r.type == "kubernetes:batch/v1:Job"}
    bench = [u for u in before if "benchmark-chat-small" in u]
    assert bench and set(bench) <= set(after)
    for urn in bench:
        assert before[urn].inputs["metadata"]["name"].endswith("2026-12-01a")
        assert after[urn].inputs["metadata"]["name"].endswith("2026-12-02a")
        assert after[urn].delete_before_replace


def test_the_system_nodes_count_the_benchmark():
    with_bench = {w.name: w for w in sc.system_workloads(parse(stack_values("staging")))}
    # staging's chat-small has a (vLLM) candidate: a run per release.
    assert with_bench["benchmark"].replicas == 2 and with_bench["benchmark"].containers == (sc.BENCHMARK,)
    assert "benchmark" not in {w.name for w in sc.system_workloads(parse(stack_values("dev")))}
    cand = {w.name: w for w in sc.system_workloads(parse(_with_candidate()))}
    assert cand["benchmark"].replicas == 2


@pytest.mark.parametrize("change, path", [
    (lambda b: b.pop("runId"), "benchmark.runId"),
    (lambda b: b.update(tiers=["chat-typo"]), "benchmark.tiers[0]"),
    (lambda b: b.update(promptTokens=5000), "benchmark.promptTokens"),
    (lambda b: b.update(promptTokens=4000, outputTokens=5000), "benchmark.outputTokens"),
    (lambda b: b.update(runId="Not_A_Label"), "benchmark.runId"),
    (lambda b: b.update(tiers=["chat-small", "chat-small"]), "benchmark.tiers[1]"),
])
def test_bad_benchmark_config_names_its_key(change, path):
    values = stack_values("staging")
    change(values["benchmark"])
    with pytest.raises(ConfigError) as err:
        parse(values)
    assert path in {i.path for i in err.value.issues}, err.value


def test_a_job_name_over_63_characters_is_refused():
    values = stack_values("staging")
    values["tiers"][0]["name"] = "a" * 38
    values["tenants"] = []
    values["benchmark"] = {"tiers": ["a" * 38], "runId": "2026-12-01abcdef"}
    values["cost"] = {}
    with pytest.raises(ConfigError) as err:
        parse(values)
    assert any(i.path == "benchmark.runId" and "63" in i.message for i in err.value.issues)
