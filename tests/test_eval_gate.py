"""Quality evals per release and the promotion gate: the gate's decision on result files (missing and partial
results fail closed), the rendered eval and gate Jobs run with their exact args against a local
OpenAI-compatible stand-in (and, through tests/podrun.py, as their pods run them: uid, fsGroup, read-only root,
ConfigMap files, the shared results claim, no network but the pod's), the Service switch waiting for the gate,
and the config errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
import yaml

import podrun

from llm_tiers.benchmark import manifests as bm
from llm_tiers.stack import system_capacity as sc
from llm_tiers.config.schema import ConfigError
from llm_tiers.stack.parse import parse
from llm_tiers.evaluation import manifests as em
from llm_tiers.evaluation.scripts import eval_set, gate
from llm_tiers.preview import render as render_tool
from conftest import ROOT, overrides, stack_values

NS = "llm-tiers"
SCRIPTS = ROOT / "components" / "llm_tiers" / "evaluation" / "scripts"
EVAL_SET = [json.loads(line) for line in (ROOT / "stacks" / "evals" / "chat-small.jsonl").read_text().splitlines()]


# ------------------------------------------------------------------------------------------- result files


def summary(release: str, scores: dict[str, float], complete: bool = True, missing=()) -> dict[str, Any]:
    return {"schema": 1, "release": release, "scores": scores, "complete": complete, "missing": list(missing)}


def guidellm_report(rows: list[tuple[float, float]]) -> dict[str, Any]:
    """A GuideLLM v0.7.3 report (``GenerativeBenchmarksReport``) with one benchmark per (TTFT P95 ms, output tok/s)."""
    def dist(mean: float, p95: float) -> dict[str, Any]:
        return {"mean": mean, "median": mean, "count": 50, "percentiles": {"p50": mean, "p95": p95, "p99": p95}}
    benchmarks = []
    for i, (ttft_p95_ms, tps) in enumerate(rows):
        benchmarks.append({"config": {"strategy": {"type_": "synchronous" if i == 0 else "constant"}},
                           "metrics": {"request_totals": {"successful": 50, "incomplete": 0, "errored": 0, "total": 50},
                                       "time_to_first_token_ms": {"successful": dist(ttft_p95_ms / 2, ttft_p95_ms)},
                                       "output_tokens_per_second": {"successful": dist(tps, tps)}}})
    return {"metadata": {"version": 2}, "benchmarks": benchmarks}


GOOD_LIVE = summary("live", {"evalSet": 0.8, "lm-eval/gsm8k/exact_match,strict-match": 0.76})
GOOD_CAND = summary("candidate", {"evalSet": 0.8, "lm-eval/gsm8k/exact_match,strict-match": 0.75})
FAST = guidellm_report([(300, 40), (800, 180), (2400, 260)])


def test_the_gate_passes_a_candidate_as_good_as_live_within_the_slo():
    d = gate.decide(GOOD_CAND, GOOD_LIVE, FAST, tolerance=0.02, ttft_p95_seconds=1.5, min_output_tps=150)
    assert d.passed, d.checks
    assert any("180.0 at best" in c for c in d.checks)  # the 2.4 s strategy is outside the TTFT objective


@pytest.mark.parametrize("cand, live, report, floor, needle", [
    # quality below live - tolerance: names the score and both numbers
    (summary("candidate", {"evalSet": 0.7, "lm-eval/gsm8k/exact_match,strict-match": 0.76}), GOOD_LIVE, FAST, None,
     "quality evalSet: candidate 0.7000 vs live 0.8000 (must be >= 0.7800"),
    # a score the live release has and the candidate lacks
    (summary("candidate", {"evalSet": 0.9}), GOOD_LIVE, FAST, None, "candidate has no score"),
    # missing files: fail closed
    (None, GOOD_LIVE, FAST, None, "candidate eval summary missing"),
    (GOOD_CAND, None, FAST, None, "live eval summary missing"),
    (GOOD_CAND, GOOD_LIVE, None, None, "candidate benchmark report missing"),
    # partial results: fail closed
    (summary("candidate", {"evalSet": 0.8}, complete=False, missing=["lm-eval: no results_*.json under /x"]),
     GOOD_LIVE, FAST, None, "candidate eval is partial: lm-eval: no results"),
    (GOOD_CAND, GOOD_LIVE, {"benchmarks": []}, None, "no benchmarks (partial or failed run)"),
    (GOOD_CAND, GOOD_LIVE, {"benchmarks": [{"metrics": {}}]}, None, "lacks successful TTFT P95"),
    (GOOD_CAND, summary("live", {}), FAST, None, "live release has no scores"),
    # latency objective and throughput floor
    (GOOD_CAND, GOOD_LIVE, guidellm_report([(1700, 30), (2500, 200)]), None,
     "TTFT P95: 1.700 s at best (0:synchronous) vs slo.ttftP95Seconds 1.5"),
    (GOOD_CAND, GOOD_LIVE, FAST, 200, "output tokens/s within the TTFT objective: 180.0 at best (1:constant) vs "
                                      "gate.minOutputTokensPerSecond 200"),
])
def test_the_gate_fails_closed_with_the_failing_number(cand, live, report, floor, needle):
    d = gate.decide(cand, live, report, tolerance=0.02, ttft_p95_seconds=1.5, min_output_tps=floor)
    assert not d.passed
    assert any(needle in f for f in d.failures), d.failures


def test_the_gate_counts_only_strategies_with_successful_requests():
    report = guidellm_report([(300, 40)])
    report["benchmarks"][0]["metrics"]["request_totals"]["successful"] = 0
    d = gate.decide(GOOD_CAND, GOOD_LIVE, report, 0.02, 1.5, None)
    assert not d.passed and "no strategy has a successful request" in d.failures[0]


# ------------------------------------------------------------------------------------------- the scorer


@pytest.mark.parametrize("answer, reference, mode, ok", [
    ("  Paris ", "paris", "exact", True), ("Paris.", "paris", "exact", False),
    ('{"status": "ok"}', r'"status"\s*:\s*"ok"', "regex", True), ("status ok", r'"status"', "regex", False),
    ("The answer is 42.", "42", "contains", True), ("forty-two", "42", "contains", False),
])
def test_scoring_modes(answer, reference, mode, ok):
    assert eval_set.score(answer, reference, mode) is ok


@pytest.mark.parametrize("text, needle", [
    ('{"prompt": "a", "reference": "b"}\nnot json\n', "line 2: not JSON"),
    ('{"prompt": "a"}\n', 'line 1: needs string "prompt"'),
    ('{"prompt": "a", "reference": "("}\n', "line 1: reference is not a regular expression"),
    ("\n\n", "no items"),
])
def test_a_bad_eval_set_names_its_line(text, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        eval_set.read_eval_set(text, "regex")


# ------------------------------------------------------------------------------------------- the render


@pytest.fixture(scope="module")
def staging(rendered):
    return rendered("staging")


def _objects(r) -> list[dict[str, Any]]:
    return r.kubernetes_objects()


def _get(objs, kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _resource(r, kind: str, name: str):
    found = [x for x in r.recording.resources if x.type.endswith(f":{kind}") and
             (x.inputs.get("metadata") or {}).get("name") == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)}"
    return found[0]


def test_staging_switches_to_its_candidate_only_after_the_gate(staging):
    svc, gate_job = _resource(staging, "Service", "chat-small"), _resource(staging, "Job",
                                                                           "chat-small-gate-2026-12-01a")
    assert gate_job.urn in svc.dependencies
    # Pulumi awaits the gate (no skipAwait) for its own wait plus start-up; the evals and benchmarks are not awaited.
    assert "pulumi.com/skipAwait" not in gate_job.inputs["metadata"]["annotations"]
    assert gate_job.custom_timeouts.get("create") == "1h35m"
    for name in ("chat-small-live-eval-2026-12-01a", "chat-small-candidate-eval-2026-12-01a"):
        assert _resource(staging, "Job", name).inputs["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    # The benchmark Jobs (which the gate reads) do not wait for the Service that waits for the gate.
    for release in ("live", "candidate"):
        bench = _resource(staging, "Job", f"chat-small-{release}-bench-2026-12-01a")
        assert svc.urn not in bench.dependencies
    # rollout.json (as rollout.md): the gate's create wave comes before the Service's.
    from llm_tiers.preview import rollout

    waves = json.loads(rollout.to_json(rollout.plan("staging", staging.recording)))["createWaves"]
    wave = {label: i for i, labels in enumerate(waves) for label in labels}
    assert wave["Job llm-tiers/chat-small-gate-2026-12-01a"] < wave["Service llm-tiers/chat-small"]
    # Its estimate: typically the candidate benchmark's configured run (the gate's inputs), at most its own wait,
    # within the budget Pulumi gives it; the Service's switch finishes after it on the critical path.
    plan = rollout.plan("staging", staging.recording)
    step = next(s for s in plan.steps.values() if s.label == "Job llm-tiers/chat-small-gate-2026-12-01a")
    cfg = parse(stack_values("staging"))
    assert step.awaits.typical == bm.run_seconds(cfg.benchmark) == cfg.benchmark.sweep_size * \
        cfg.benchmark.seconds_per_strategy
    assert step.awaits.estimate_seconds == cfg.tiers[0].gate.wait_minutes * 60 <= step.awaits.budget_seconds
    service = next(s for s in plan.steps.values() if s.label == "Service llm-tiers/chat-small")
    assert service.finish_seconds >= step.finish_seconds


def test_a_tier_without_a_switch_to_its_candidate_has_no_gate(rendered):
    values = stack_values("staging")
    values["tiers"][0]["serve"] = "live"
    r = render_tool.render("staging", overrides=overrides(values))
    jobs = {o["metadata"]["name"] for o in _objects(r) if o["kind"] == "Job"}
    assert "chat-small-live-eval-2026-12-01a" in jobs and not any("gate" in j for j in jobs)
    assert not any("-gate-" in j for o in _objects(rendered("prod")) if o["kind"] == "Job"
                   for j in [o["metadata"]["name"]])


def test_eval_jobs_are_hardened_and_reach_only_their_release(staging):
    objs = _objects(staging)
    for name in ("chat-small-live-eval-2026-12-01a", "chat-small-candidate-eval-2026-12-01a",
                 "chat-small-gate-2026-12-01a"):
        pod = _get(objs, "Job", name)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == em.RUN_AS_USER
        assert pod["automountServiceAccountToken"] is False
        for c in [*pod.get("initContainers", []), *pod["containers"]]:
            assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
            assert c["image"] == "docker.io/library/python:3.13.7-slim-bookworm"
    live = _get(objs, "Job", "chat-small-live-eval-2026-12-01a")["spec"]["template"]
    args = live["spec"]["containers"][0]["args"]
    # Its own release's Service, which exists for both releases of a tier with `eval`:
    assert args[args.index("--base-url") + 1] == "http://chat-small-live.llm-tiers.svc.cluster.local/v1"
    assert _get(objs, "Service", "chat-small-live")["spec"]["selector"]["llm-tiers.io/release"] == "live"
    # The tier's NetworkPolicy admits pods with the benchmark's selector; the benchmark policy limits their egress.
    labels = live["metadata"]["labels"]
    tier_policy = _get(objs, "NetworkPolicy", "chat-small")
    peers = [p for rule in tier_policy["spec"]["ingress"] for p in rule.get("from", [])]
    assert any(set((p.get("podSelector") or {}).get("matchLabels", {}).items()) <= set(labels.items())
               and "namespaceSelector" not in p for p in peers)
    bench_policy = _get(objs, "NetworkPolicy", "chat-small-benchmark")
    assert set(bench_policy["spec"]["podSelector"]["matchLabels"].items()) <= set(labels.items())
    install = _get(objs, "NetworkPolicy", "chat-small-eval-install")
    assert install["spec"]["egress"] == [{"ports": [{"port": 443, "protocol": "TCP"}]}]
    gate_policy = _get(objs, "NetworkPolicy", "chat-small-eval-gate")
    assert gate_policy["spec"]["egress"] == [] and gate_policy["spec"]["ingress"] == []
    gate_labels = _get(objs, "Job", "chat-small-gate-2026-12-01a")["spec"]["template"]["metadata"]["labels"]
    assert set(gate_policy["spec"]["podSelector"]["matchLabels"].items()) <= set(gate_labels.items())


def test_lm_eval_runs_pinned_against_the_release_offline(staging):
    job = _get(_objects(staging), "Job", "chat-small-candidate-eval-2026-12-01a")
    init = {c["name"]: c for c in job["spec"]["template"]["spec"]["initContainers"]}
    assert init["install-lm-eval"]["args"][-1] == "lm_eval[api]==0.4.12"
    args = init["lm-eval"]["args"]
    assert args[:5] == ["-m", "lm_eval", "run", "--model", "local-chat-completions"]
    model_args = dict(kv.split("=", 1) for kv in args[args.index("--model_args") + 1].split(","))
    assert model_args["base_url"] == "http://chat-small-candidate.llm-tiers.svc.cluster.local/v1/chat/completions"
    assert model_args["model"] == "chat-small"
    assert "--apply_chat_template" in args and args[args.index("--tasks") + 1] == "gsm8k"
    assert args[args.index("--limit") + 1] == "250"
    assert args[args.index("--output_path") + 1] == "/results/2026-12-01a/lm-eval/chat-small-candidate"
    env = {e["name"]: e["value"] for e in init["lm-eval"]["env"]}
    assert env["HF_DATASETS_OFFLINE"] == "1" and env["HF_HOME"] == "/results/hf"


def test_the_system_nodes_count_the_evals_and_the_gate():
    w = {x.name: x for x in sc.system_workloads(parse(stack_values("staging")))}
    assert w["eval"].replicas == 2 and w["eval"].containers == (sc.EVAL,)
    assert w["eval-gate"].replicas == 1
    assert "eval" not in {x.name for x in sc.system_workloads(parse(stack_values("prod")))}


# ------------------------------------------------------------------------------------------- run as the pod runs


def _in_netns(pid: int, make: Callable[[], Any]) -> Any:
    """``make()`` on a thread that joined process ``pid``'s network namespace (setns(2) through libc: Python 3.11
    has no os.setns), so a socket it binds lives there; the test's other threads stay in their own."""
    import ctypes

    out: dict[str, Any] = {}

    def run() -> None:
        fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
                raise OSError(ctypes.get_errno(), "setns(CLONE_NEWNET)")
            out["value"] = make()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
            out["error"] = exc
        finally:
            os.close(fd)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


class StandIn:
    """A local OpenAI-compatible server: ``answer(prompt)`` gives the reply. With ``netns_pid`` it listens on port
    80 (the Service's port) inside that process's network namespace: a pod's, started by tests/podrun.py."""

    def __init__(self, answer: Callable[[str], str], netns_pid: Optional[int] = None):
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # noqa: D401
                pass

            def _send(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/v1/models":
                    self._send({"object": "list", "data": [{"id": "chat-small", "object": "model"}]})
                else:
                    self.send_error(404)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                if self.path != "/v1/chat/completions":
                    self.send_error(404)
                    return
                prompt = body["messages"][-1]["content"]
                self._send({"id": "x", "object": "chat.completion", "model": body.get("model"),
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": answer(prompt)}}],
                            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

        if netns_pid is None:
            self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        else:  # 0.0.0.0: the pod brings its loopback up only after its mounts
            self.server = _in_netns(netns_pid, lambda: ThreadingHTTPServer(("0.0.0.0", 80), Handler))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _right(prompt: str) -> str:
    item = next(i for i in EVAL_SET if i["prompt"] == prompt)
    return '{"status": "ok"}' if item["id"] == "json-1" else f"The answer: {item['reference']}"


def _wrong_half(prompt: str) -> str:
    idx = next(n for n, i in enumerate(EVAL_SET) if i["prompt"] == prompt)
    return _right(prompt) if idx % 2 == 0 else "I am not sure."


def run_container(container: dict[str, Any], mounts: dict[str, Path], hosts: dict[str, str],
                  timeout: int = 120) -> subprocess.CompletedProcess:
    """Run a rendered container's ``command`` + ``args`` as its pod would: the same argument list, with each
    volume's mount path mapped to a local directory and each in-cluster Service host to a local stand-in."""
    assert container["command"] == ["python"]
    args = [_map(arg, mounts, hosts) for arg in container["args"]]
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    env = {**env, "PATH": os.environ["PATH"], "HOME": str(mounts.get(em.SCRATCH_DIR, "/tmp"))}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout)


def _map(arg: str, mounts: dict[str, Path], hosts: dict[str, str]) -> str:
    """One pass over the argument, so a local directory is never mapped again."""
    pattern = "|".join(re.escape(m) for m in sorted(mounts, key=len, reverse=True))
    arg = re.sub(rf"(?<![\w/])({pattern})/", lambda m: f"{mounts[m.group(1)]}/", arg)
    for host, url in hosts.items():
        arg = arg.replace(f"http://{host}", url)
    return arg


def _pod_dirs(tmp: Path, objs, job: dict[str, Any]) -> dict[str, Path]:
    """Local stand-ins of the Job's volumes: ConfigMaps written out as their files, the results PVC shared."""
    dirs: dict[str, Path] = {}
    spec = job["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    for c in spec["containers"]:
        for m in c["volumeMounts"]:
            v = volumes[m["name"]]
            local = tmp / m["name"]
            if "configMap" in v:
                local = tmp / f"cm-{v['configMap']['name']}"
                local.mkdir(exist_ok=True)
                for key, text in _get(objs, "ConfigMap", v["configMap"]["name"])["data"].items():
                    (local / key).write_text(text)
            local.mkdir(exist_ok=True)
            dirs[m["mountPath"]] = local
    return dirs


def _hosts(stand_ins: dict[str, StandIn]) -> dict[str, str]:
    return {f"chat-small-{rel}.{NS}.svc.cluster.local": s.url for rel, s in stand_ins.items()}


@pytest.fixture
def eval_set_only(tmp_path):
    """Staging with the eval set only (lm-eval is run in its own test below): its rendered objects."""
    values = stack_values("staging")
    values["tiers"][0]["eval"].pop("lmEval")
    return _objects(render_tool.render("staging", overrides=overrides(values)))


def _run_cycle(tmp_path: Path, objs, live_answer, cand_answer, report) -> subprocess.CompletedProcess:
    stand_ins = {"live": StandIn(live_answer), "candidate": StandIn(cand_answer)}
    try:
        for rel in ("live", "candidate"):
            job = _get(objs, "Job", f"chat-small-{rel}-eval-2026-12-01a")
            dirs = _pod_dirs(tmp_path, objs, job)
            dirs[em.SCRIPTS_DIR] = SCRIPTS  # the ConfigMap holds these files (checked below)
            out = run_container(job["spec"]["template"]["spec"]["containers"][0], dirs, _hosts(stand_ins))
            assert out.returncode == 0, out.stderr + out.stdout
        assert all(len(s.requests) == len(EVAL_SET) for s in stand_ins.values())
        assert stand_ins["candidate"].requests[0]["temperature"] == 0
        assert stand_ins["candidate"].requests[0]["model"] == "chat-small"
    finally:
        for s in stand_ins.values():
            s.close()
    results = tmp_path / "results" / "2026-12-01a"
    (results / "chat-small-candidate.json").write_text(json.dumps(report))
    written = json.loads((results / "chat-small-candidate-eval.json").read_text())
    assert written["engine"] == "vllm" and written["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert written["revision"] and written["quantization"] == "none" and written["flags"] == []
    gate_job = _get(objs, "Job", "chat-small-gate-2026-12-01a")
    dirs = _pod_dirs(tmp_path, objs, gate_job)
    dirs[em.SCRIPTS_DIR] = SCRIPTS
    container = dict(gate_job["spec"]["template"]["spec"]["containers"][0])
    assert container["args"][container["args"].index("--wait-seconds") + 1] == "5400"
    container["args"] = [*container["args"], "--poll-seconds", "0.1"]
    return run_container(container, dirs, {})


def test_the_scripts_configmap_holds_the_shipped_scripts(staging):
    data = _get(_objects(staging), "ConfigMap", "chat-small-eval-scripts")["data"]
    assert data == {k: (SCRIPTS / k).read_text() for k in (em.EVAL_SCRIPT_KEY, em.GATE_SCRIPT_KEY)}
    es = _get(_objects(staging), "ConfigMap", "chat-small-eval-set")["data"]["evals.jsonl"]
    assert es == (ROOT / "stacks" / "evals" / "chat-small.jsonl").read_text()


def test_an_equal_candidate_passes_the_rendered_gate(tmp_path, eval_set_only):
    out = _run_cycle(tmp_path, eval_set_only, _right, _right, guidellm_report([(400, 60), (1100, 190)]))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "GATE PASS" in out.stdout and "quality evalSet: candidate 1.0000 vs live 1.0000" in out.stdout


def test_a_worse_candidate_stops_the_promotion(tmp_path, eval_set_only):
    out = _run_cycle(tmp_path, eval_set_only, _right, _wrong_half, guidellm_report([(400, 60), (1100, 190)]))
    assert out.returncode == 1
    assert "GATE FAIL: chat-small stays on its live release: quality evalSet: candidate 0.5000 vs live 1.0000 " \
           "(must be >= 0.9800, tolerance 0.02)" in out.stdout


def test_a_slow_candidate_stops_the_promotion(tmp_path, eval_set_only):
    out = _run_cycle(tmp_path, eval_set_only, _right, _right, guidellm_report([(400, 60), (1100, 120)]))
    assert out.returncode == 1 and "gate.minOutputTokensPerSecond 150" in out.stdout


def test_the_gate_fails_closed_when_results_never_come(tmp_path, eval_set_only):
    gate_job = _get(eval_set_only, "Job", "chat-small-gate-2026-12-01a")
    dirs = _pod_dirs(tmp_path, eval_set_only, gate_job)
    dirs[em.SCRIPTS_DIR] = SCRIPTS
    container = dict(gate_job["spec"]["template"]["spec"]["containers"][0])
    args = list(container["args"])
    args[args.index("--wait-seconds") + 1] = "0.3"  # the rendered 90 minutes, shortened
    container["args"] = [*args, "--poll-seconds", "0.1"]
    out = run_container(container, dirs, {})
    assert out.returncode == 1
    assert "still missing after 0 s" in out.stdout and "candidate eval summary missing" in out.stdout


def test_an_override_promotes_deliberately_and_says_so(tmp_path):
    values = stack_values("staging")
    values["tiers"][0]["eval"].pop("lmEval")
    values["tiers"][0]["gate"]["override"] = "INC-1234: live release is broken"
    objs = _objects(render_tool.render("staging", overrides=overrides(values)))
    out = _run_cycle(tmp_path, objs, _right, _wrong_half, guidellm_report([(400, 60), (1100, 190)]))
    assert out.returncode == 0
    assert "GATE OVERRIDDEN (INC-1234: live release is broken): would have failed: quality evalSet" in out.stdout


def test_partial_lm_eval_results_make_the_summary_incomplete(tmp_path, staging):
    """With lm-eval configured but no results written (its init container failed or wrote nothing), the summary
    says so and the scorer exits 1, so the gate fails closed."""
    objs = _objects(staging)
    job = _get(objs, "Job", "chat-small-live-eval-2026-12-01a")
    dirs = _pod_dirs(tmp_path, objs, job)
    dirs[em.SCRIPTS_DIR] = SCRIPTS
    s = StandIn(_right)
    try:
        out = run_container(job["spec"]["template"]["spec"]["containers"][0], dirs,
                            {f"chat-small-live.{NS}.svc.cluster.local": s.url})
    finally:
        s.close()
    assert out.returncode == 1
    written = json.loads((tmp_path / "results" / "2026-12-01a" / "chat-small-live-eval.json").read_text())
    assert written["complete"] is False and "lm-eval: no results_*.json" in written["missing"][0]
    d = gate.decide(written, GOOD_LIVE, FAST, 0.02, 1.5, None)
    assert not d.passed and "live eval is partial" not in " ".join(d.failures)  # it was passed as the candidate
    assert any("candidate eval is partial" in f for f in d.failures)


LM_EVAL_PYTHON = os.environ.get("LM_EVAL_PYTHON")


def test_lm_eval_runs_with_the_rendered_args_against_the_stand_in(tmp_path, staging):
    """The rendered ``lm-eval`` container's args, run by the pinned harness against the stand-in, on a small local
    task (the rendered gsm8k would need its dataset mirrored): only ``--tasks`` is swapped, and ``--include_path``
    added for the local task; then the scorer reads what the harness wrote. ``make test`` installs the pinned
    harness (requirements-lm-eval.txt) and sets LM_EVAL_PYTHON (so CI runs it)."""
    if not LM_EVAL_PYTHON:
        pytest.skip("LM_EVAL_PYTHON unset (make test sets it): the harness itself is NOT run; its rendered args are "
                    "still checked above")
    from llm_tiers import versions
    out = subprocess.run([LM_EVAL_PYTHON, "-c", "import importlib.metadata as m; print(m.version('lm_eval'))"],
                         capture_output=True, text=True)
    assert out.stdout.strip() == versions.LM_EVAL_VERSION, "LM_EVAL_PYTHON must run the pinned harness"
    objs = _objects(staging)
    job = _get(objs, "Job", "chat-small-live-eval-2026-12-01a")
    init = {c["name"]: c for c in job["spec"]["template"]["spec"]["initContainers"]}
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    rows = [{"question": i["prompt"], "answer": i["reference"]} for i in EVAL_SET if i["id"].startswith(("arith",
                                                                                                         "unit"))]
    (tasks / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tasks / "smoke.yaml").write_text(
        "task: llm_tiers_smoke\ndataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {tasks / 'data.jsonl'}\n"
        "test_split: test\noutput_type: generate_until\ndoc_to_text: '{{question}}'\ndoc_to_target: '{{answer}}'\n"
        "generation_kwargs:\n  until: []\n  max_gen_toks: 32\n"
        "filter_list:\n  - name: num\n    filter:\n      - function: regex\n        regex_pattern: '(\\d+)'\n"
        "      - function: take_first\n"
        "metric_list:\n  - metric: exact_match\n    aggregation: mean\n    higher_is_better: true\n")
    lm = dict(init["lm-eval"])
    args = list(lm["args"])
    args[args.index("--tasks") + 1] = "llm_tiers_smoke"
    lm["args"] = args
    dirs = _pod_dirs(tmp_path, objs, job)
    s = StandIn(_right)
    try:
        mapped = [*(_map(arg, dirs, {f"chat-small-live.{NS}.svc.cluster.local": s.url}) for arg in lm["args"]),
                  "--include_path", str(tasks)]
        env = {e["name"]: e["value"] for e in lm["env"] if e["name"] not in ("PYTHONPATH", "HF_HOME")}
        env.update(PATH=os.environ["PATH"], HF_HOME=str(tmp_path / "hf"), HOME=str(tmp_path))
        out = subprocess.run([LM_EVAL_PYTHON, *mapped], env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        assert len(s.requests) == len(rows)
        dirs[em.SCRIPTS_DIR] = SCRIPTS
        score = run_container(job["spec"]["template"]["spec"]["containers"][0], dirs,
                              {f"chat-small-live.{NS}.svc.cluster.local": s.url})
    finally:
        s.close()
    assert score.returncode == 0, score.stdout + score.stderr
    written = json.loads((tmp_path / "results" / "2026-12-01a" / "chat-small-live-eval.json").read_text())
    assert written["scores"]["lm-eval/llm_tiers_smoke/exact_match,num"] == 1.0


# ------------------------------------------------------------------------------------------- config errors


@pytest.mark.parametrize("change, path", [
    (lambda v: v["benchmark"].update(tiers=[]), "tiers[0].eval"),
    (lambda v: v["tiers"][0]["eval"].pop("lmEval") and v["tiers"][0]["eval"].pop("evalSet"), "tiers[0].eval"),
    (lambda v: v["tiers"][0]["eval"]["evalSet"].update(configMap="team-evals"), "tiers[0].eval.evalSet"),
    (lambda v: v["tiers"][0]["eval"]["evalSet"].update(file="stacks/evals/" + "missing.jsonl"),
     "tiers[0].eval.evalSet.file"),
    (lambda v: v["tiers"][0]["eval"]["evalSet"].update(file="README.md"), "tiers[0].eval.evalSet.file"),
    (lambda v: v["tiers"][0]["eval"]["lmEval"].update(maxGenTokens=5000), "tiers[0].eval.lmEval.maxGenTokens"),
    (lambda v: v["tiers"][0]["eval"]["lmEval"].update(tasks=["bad task"]), "tiers[0].eval.lmEval.tasks[0]"),
    (lambda v: v["tiers"][0]["gate"].update(tolerance=2), "tiers[0].gate.tolerance"),
    (lambda v: v["tiers"][0]["gate"].update(override="short"), "tiers[0].gate.override"),
    (lambda v: v["tiers"][1].update(gate={"override": "INC-1: a long enough reason"}), "tiers[1].gate.override"),
    (lambda v: v["tiers"][0]["eval"].update(scoring="fuzzy"), "tiers[0].eval.scoring"),
])
def test_bad_eval_config_names_its_key(change, path):
    values = stack_values("staging")
    change(values)
    with pytest.raises(ConfigError) as err:
        parse(values)
    assert path in {i.path for i in err.value.issues}, err.value


# ------------------------------------------------------------------------------------------- measured numbers in the
# plan


MEASURED = """\
runId: 2026-12-01a
date: 2026-12-02
tiers:
  chat-small:
    live: {engine: tgi, outputTokensPerSecond: 310, singleStreamTokensPerSecond: 17, ttftP95Seconds: 0.9,
           scores: {evalSet: 0.9}}
    candidate: {engine: vllm, outputTokensPerSecond: 140, ttftP95Seconds: 0.8, scores: {evalSet: 0.8}}
"""


def _with_measurements(tmp_path, text: str) -> dict[str, Any]:
    path = tmp_path / "measured.yaml"
    path.write_text(text)
    values = stack_values("staging")
    values["cost"]["measurementsFile"] = str(path)
    return values


def test_committed_measurements_replace_the_roofline_and_feed_the_gate_section(tmp_path, staging):
    r = render_tool.render("staging", overrides=overrides(_with_measurements(tmp_path, MEASURED)))
    rows = {(t["tier"], t["release"]): t for t in r.outputs()["tokenCost"]["tiers"]}
    roofline = {(t["tier"], t["release"]): t for t in staging.outputs()["tokenCost"]["tiers"]}
    live = rows[("chat-small", "live")]
    assert live["source"] == "measured (run 2026-12-01a, 2026-12-02)" and live["bestBatchTokensPerSecond"] == 310
    assert live["singleStreamTokensPerSecond"] == 17
    # The price follows from the measured figure with the same formula: R / (tok/s x 3600 x U) x 10^6.
    assert live["usdPerMillionTokens"] == pytest.approx(live["replicaUsdPerHour"] / (310 * 3600 * 0.4) * 1e6, rel=1e-3)
    assert rows[("chat-large", "live")] == roofline[("chat-large", "live")]  # no numbers for it: still the roofline
    (gate_row,) = r.outputs()["promotionGate"]
    assert gate_row["gated"] and gate_row["wouldPass"] is False
    assert gate_row["failing"] == ["quality evalSet: candidate 0.8000 < live 0.9000 - 0.02",
                                   "output tokens/s 140 < gate.minOutputTokensPerSecond 150"]
    plan = (render_tool.write_build(r, tmp_path / "build") / "plan.md").read_text()
    assert "| chat-small (live, not serving, **measured (run 2026-12-01a, 2026-12-02)**) |" in plan
    assert "  - candidate (run 2026-12-01a, 2026-12-02, measured): evalSet 0.800; TTFT P95 0.8 s; 140 output " \
           "tokens/s" in plan
    assert "On these numbers the gate would fail: quality evalSet: candidate 0.8000 < live 0.9000 - 0.02" in plan


def test_without_measurements_the_plan_says_what_the_gate_checks(staging, tmp_path):
    plan = (render_tool.write_build(staging, tmp_path) / "plan.md").read_text()
    assert "- chat-small (tgi live, vllm candidate): **gated now** (`serve: candidate`: the Service waits for Job " \
           "`chat-small-gate-2026-12-01a`). Checks: every live score within 0.02 (candidate >= live - 0.02); TTFT " \
           "P95 <= 1.5 s; output tokens/s >= 150." in plan
    assert "Last results: none committed" in plan
    assert all(t["source"] == "roofline" for t in staging.outputs()["tokenCost"]["tiers"])


@pytest.mark.parametrize("text, needle", [
    (MEASURED.replace("engine: vllm", "engine: tgi"), "tiers.chat-small.candidate.engine: measured tgi, but the "
                                                      "candidate release runs vllm"),
    (MEASURED.replace("chat-small:", "chat-typo:"), "tiers.chat-typo: no such tier"),
    (MEASURED.replace("outputTokensPerSecond: 310", "outputTokensPerSecond: -1"), "outputTokensPerSecond"),
    ("runId: x\n", "date: Field required"),
])
def test_a_bad_measurements_file_names_its_key(tmp_path, text, needle):
    with pytest.raises(render_tool.RenderError) as info:
        render_tool.render("staging", overrides=overrides(_with_measurements(tmp_path, text)))
    assert "measured.yaml" in str(info.value) and needle in str(info.value), str(info.value)


def test_the_measurements_file_is_written_from_the_run_s_result_files(tmp_path, monkeypatch):
    """llm_tiers.cli.measurements reads GuideLLM's and the eval's files as the gate does; its output is a valid
    measurements file for the stack, and plan.md then prices chat-small's releases by those numbers."""
    from llm_tiers.cli import measurements as cli

    results = tmp_path / "results-2026-12-01a"
    results.mkdir()
    (results / "chat-small-live.json").write_text(json.dumps(guidellm_report([(300, 31), (900, 250), (2100, 400)])))
    (results / "chat-small-candidate.json").write_text(json.dumps(guidellm_report([(250, 36), (800, 330)])))
    for rel, engine, score in (("live", "tgi", 0.9), ("candidate", "vllm", 0.9)):
        (results / f"chat-small-{rel}-eval.json").write_text(json.dumps(
            {**summary(rel, {"evalSet": score}), "engine": engine}))
    out = tmp_path / "staging.yaml"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli.main(["--stack", "staging", "--results", str(results), "--run-id", "2026-12-01a",
                         "--date", "2026-12-02"]) == 0
    out.write_text(buf.getvalue())
    doc = yaml.safe_load(out.read_text())
    # live: the 2.1 s strategy is outside slo.ttftP95Seconds 1.5, so its 400 tok/s does not count.
    assert doc["tiers"]["chat-small"]["live"] == {"engine": "tgi", "singleStreamTokensPerSecond": 31.0,
                                                  "outputTokensPerSecond": 250.0, "ttftP95Seconds": 0.9,
                                                  "scores": {"evalSet": 0.9}}
    assert doc["tiers"]["chat-small"]["candidate"]["outputTokensPerSecond"] == 330.0
    values = stack_values("staging")
    values["cost"]["measurementsFile"] = str(out)
    r = render_tool.render("staging", overrides=overrides(values))
    (row,) = r.outputs()["promotionGate"]
    assert row["wouldPass"] is True and row["failing"] == []
    cand = next(t for t in r.outputs()["tokenCost"]["tiers"] if t["tier"] == "chat-small"
                and t["release"] == "candidate")
    assert cand["bestBatchTokensPerSecond"] == 330 and cand["source"].startswith("measured")


# ------------------------------------------------------------------------------------------- run in the pod's shape

# The eval-set scorer and the gate are code this project ships: run them as their pods run them (tests/podrun.py):
# the rendered uid/gid/fsGroup, read-only root, the scripts and eval set as ConfigMap files written root-owned with
# their modes, the results claim as a fresh filesystem shared by the Jobs of one run, the rendered env, args and
# memory limit, and no network but the pod's own loopback. Stand-ins: the release's Service is an
# OpenAI-compatible server on port 80 inside the pod's network namespace, its name in the pod's /etc/hosts.


def _files(objs, job: dict[str, Any]) -> dict[str, dict[str, bytes]]:
    spec = job["spec"]["template"]["spec"]
    return {v["name"]: {k: t.encode() for k, t in _get(objs, "ConfigMap", v["configMap"]["name"])["data"].items()}
            for v in spec["volumes"] if "configMap" in v}


def _wait_for_netns(pid: int, seconds: float = 10) -> None:
    import time

    own = os.stat("/proc/self/ns/net").st_ino
    deadline = time.monotonic() + seconds
    while os.stat(f"/proc/{pid}/ns/net").st_ino == own:
        assert time.monotonic() < deadline, "the pod never got its own network namespace"
        time.sleep(0.01)


def _eval_pod(objs, release: str, answer: Callable[[str], str], results: Path) -> tuple[int, str, str, StandIn]:
    job = _get(objs, "Job", f"chat-small-{release}-eval-2026-12-01a")
    c = job["spec"]["template"]["spec"]["containers"][0]
    base = c["args"][c["args"].index("--base-url") + 1]
    host = re.match(r"http://([^/:]+)/v1$", base).group(1)
    assert host == f"chat-small-{release}.{NS}.svc.cluster.local"
    pod = podrun.start(job, "eval", files=_files(objs, job), claims={"results": results}, hosts={host: "127.0.0.1"})
    stand_in = None
    try:
        _wait_for_netns(pod.proc.pid)
        stand_in = StandIn(answer, netns_pid=pod.proc.pid)
        code, out, err = pod.wait(timeout=120)
    finally:
        if stand_in is not None:
            stand_in.close()
        pod.cleanup()
    return code, out, err, stand_in


def _pod_cycle(tmp_path: Path, objs, cand_answer, report) -> tuple[int, str, str]:
    results = tmp_path / "claim-results"
    results.mkdir()
    for rel, answer in (("live", _right), ("candidate", cand_answer)):
        code, out, err, stand_in = _eval_pod(objs, rel, answer, results)
        assert code == 0, out + err
        assert len(stand_in.requests) == len(EVAL_SET) and stand_in.requests[0]["model"] == "chat-small"
    run = results / "2026-12-01a"
    # written by the pod's uid into the claim; GuideLLM's report is written here as its own Job would
    summary_file = run / "chat-small-candidate-eval.json"
    assert summary_file.stat().st_uid == 10001
    written = json.loads(summary_file.read_text())
    assert written["engine"] == "vllm" and written["release"] == "candidate"
    (run / "chat-small-candidate.json").write_text(json.dumps(report))
    job = _get(objs, "Job", "chat-small-gate-2026-12-01a")
    pod = podrun.start(job, "gate", files=_files(objs, job), claims={"results": results})
    try:
        return pod.wait(timeout=60)
    finally:
        pod.cleanup()


def test_the_eval_and_gate_pods_pass_an_equal_candidate(tmp_path, eval_set_only):
    podrun.require()
    code, out, err = _pod_cycle(tmp_path, eval_set_only, _right, guidellm_report([(400, 60), (1100, 190)]))
    assert code == 0, out + err
    assert "GATE PASS" in out and "quality evalSet: candidate 1.0000 vs live 1.0000" in out


def test_the_gate_pod_stops_a_worse_candidate(tmp_path, eval_set_only):
    podrun.require()
    code, out, err = _pod_cycle(tmp_path, eval_set_only, _wrong_half, guidellm_report([(400, 60), (1100, 190)]))
    assert code == 1, out + err
    assert "GATE FAIL: chat-small stays on its live release: quality evalSet: candidate 0.5000 vs live 1.0000" in out


def test_the_eval_pod_cannot_write_its_results_without_fs_group(tmp_path, eval_set_only):
    """The fsGroup the render sets is what lets uid 10001 write the claim (a fresh filesystem is root's)."""
    podrun.require()
    import copy

    objs = copy.deepcopy(eval_set_only)
    job = _get(objs, "Job", "chat-small-live-eval-2026-12-01a")
    assert job["spec"]["template"]["spec"]["securityContext"].pop("fsGroup") == 10001
    results = tmp_path / "claim-results"
    results.mkdir()
    code, out, err, _ = _eval_pod(objs, "live", _right, results)
    assert code != 0 and "Permission denied" in out + err
