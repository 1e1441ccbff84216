"""Figures for the gateway's request guard (OPA-Envoy with policy/guard.rego), measured on this machine.

    PYTHONPATH=components python benchmarks/guard_bench.py [--stack prod] [--quick]

What runs: the policy and data the render ships for the stack (gateway/guard.py), under OPA's own Go
engine (the ``rego`` package of open-policy-agent/opa v1.20.2, in-process through opa-golib-python-bindings;
requirements-opa.txt). The OPA-Envoy image (OPA v1.19.1 with the ext_authz gRPC server) cannot run here: no
container runtime, no OPA binary in the package registries and no Go toolchain. So a decision's time here
is the policy evaluation plus the JSON hand-over of the input (Python -> Go, comparable to the plugin's
protobuf -> input conversion), without the gRPC hop; memory is the process's resident set (VmHWM) with the
engine loaded, as the pod's would be with OPA's server around it (OPA's own idle heap is not included).

Reports:
1. verdicts on the abusive/malformed corpus (llm_tiers.preview.guard_corpus.CORPUS), zero wrongly allowed;
2. p50/p99 decision latency at 1 KiB and 1 MiB bodies;
3. peak memory under 50 concurrent 1 MiB bodies (an ordinary prompt, and the worst: just under the
   JSON-value bound), against the container's memory limit;
4. idle connections: not applicable to the authorizer (printed with the reason).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def configmap_data(stack: str) -> dict[str, str]:
    from llm_tiers.stack.parse import parse
    from llm_tiers.gateway import guard
    from llm_tiers.gateway import manifests as gm
    from llm_tiers.preview import stack_file

    raw = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    prefix = f"{stack_file.project_name()}:"
    cfg = parse({k[len(prefix):]: v for k, v in raw.items() if k.startswith(prefix)})
    budgeted = [t.name for t in cfg.tenants if gm.limits_of(t, cfg.gateway).tokens_per_minute]
    return guard.manifests(cfg.tiers, cfg.tenants, "llm-gateway", "bench", {}, budgeted=budgeted)[0]["data"]


def body_of(size: int, kind: str, max_json_values: int) -> str:
    """A chat request of ``size`` bytes: ``prompt`` (one long message) or ``worst`` (as many empty objects as
    the JSON-value bound lets through, the rest one string)."""
    head = {"model": "chat-small", "max_tokens": 256, "messages": [{"role": "user", "content": ""}]}
    if kind == "prompt":
        pad = size - len(json.dumps(head))
        sentence = "The quick brown fox jumps over the lazy dog, again. "
        head["messages"][0]["content"] = (sentence * (pad // len(sentence) + 1))[:pad]
        return json.dumps(head)
    n = max_json_values // 2 - 20   # each "{}," counts a brace and a comma
    items = ",".join(["{}"] * n)
    base = '{"model":"chat-small","max_tokens":256,"x":[' + items + '],"messages":[{"role":"user","content":"'
    return base + "a" * (size - len(base) - 4) + '"}]}'


def check_input(tenant: str, body: str) -> dict[str, Any]:
    """As llm_tiers.preview.guard_corpus.check_input (kept import-free for the memory child)."""
    headers = {":method": "POST", ":path": "/v1/chat/completions", "x-tenant-id": tenant,
               "content-type": "application/json"}
    return {"attributes": {"request": {"http": {"method": "POST", "path": "/v1/chat/completions",
                                                "headers": headers, "body": body}}}}


def vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def corpus(engine: Any) -> dict[str, Any]:
    from llm_tiers.preview import guard_corpus as gc

    right = wrongly_allowed = 0
    wrong: list[str] = []
    for c in gc.CORPUS:
        status, code, _ = gc.decide(engine, c.tenant, c.body, path=c.path, content_type=c.content_type,
                                    headers=c.headers)
        if (status, code) == (c.status, c.code):
            right += 1
        else:
            wrong.append(f"{c.name}: got {status} {code}, want {c.status} {c.code}")
            wrongly_allowed += status is None and c.status is not None
    refused = sum(c.status is not None for c in gc.CORPUS)
    return {"cases": len(gc.CORPUS), "must_refuse": refused, "right": right, "wrongly_allowed": wrongly_allowed,
            "wrong": wrong}


def latency(engine: Any, size: int, runs: int) -> dict[str, float]:
    from llm_tiers.preview import guard_corpus as gc

    from llm_tiers.gateway import guard

    body = body_of(size, "prompt", guard.MAX_JSON_VALUES)
    inp = gc.check_input("search", body)
    for _ in range(5):
        engine.eval_document(gc.DECISION, inp)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = engine.eval_document(gc.DECISION, inp)
        times.append((time.perf_counter() - t) * 1000)
        assert result["allowed"] is True
    times.sort()
    return {"body_bytes": len(body), "runs": runs, "p50_ms": round(statistics.median(times), 3),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 3)}


def memory(kind: str, concurrency: int, data_file: str) -> dict[str, Any]:
    """In a fresh process that imports only the engine (not the project): VmRSS with the policy loaded and
    VmHWM after ``concurrency`` simultaneous 1 MiB decisions."""
    from opa_bindings import OpaEngine

    data = json.loads(Path(data_file).read_text())
    engine = OpaEngine()
    engine.add_policy("guard.rego", data["policy"])
    engine.add_data(json.loads(data["data"]))
    body = body_of(1 << 20, kind, data["maxJsonValues"])
    inp = check_input("search", body)
    decision = data["decision"]
    idle = vm_kib("VmRSS")
    barrier = threading.Barrier(concurrency)
    verdicts: list[bool] = []

    def one() -> None:
        barrier.wait()
        verdicts.append(engine.eval_document(decision, inp)["allowed"])

    threads = [threading.Thread(target=one) for _ in range(concurrency)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return {"kind": kind, "body_bytes": len(body), "concurrency": concurrency, "allowed": all(verdicts),
            "seconds": round(time.perf_counter() - t, 2), "rss_idle_mib": round(idle / 1024, 1),
            "peak_rss_mib": round(vm_kib("VmHWM") / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stack", default="prod")
    p.add_argument("--quick", action="store_true", help="fewer latency runs")
    p.add_argument("--memory-child", choices=["prompt", "worst"], help=argparse.SUPPRESS)
    p.add_argument("--data-file", help=argparse.SUPPRESS)
    p.add_argument("--concurrency", type=int, default=50)
    args = p.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory(args.memory_child, args.concurrency, args.data_file)))
        return 0

    from llm_tiers.cluster import system_capacity as sc
    from llm_tiers.gateway import guard
    from llm_tiers.preview import guard_corpus as gc

    cm = configmap_data(args.stack)
    engine = gc.load_engine(cm)
    out: dict[str, Any] = {"engine": "OPA Go rego v1.20.2 in-process (opa-golib-python-bindings 0.4.4)",
                           "stack": args.stack, "corpus": corpus(engine)}
    out["latency"] = [latency(engine, 1024, 300 if args.quick else 3000),
                      latency(engine, 1 << 20, 30 if args.quick else 300)]
    engine.close()
    limit = sc.REQUEST_GUARD.memory_limit_mi
    out["memory"] = []
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump({"policy": cm[guard.POLICY_KEY], "data": cm[guard.DATA_KEY], "decision": gc.DECISION,
                   "maxJsonValues": guard.MAX_JSON_VALUES}, f)
        f.flush()
        for kind in ("prompt", "worst"):
            child = subprocess.run([sys.executable, __file__, "--memory-child", kind, "--data-file", f.name,
                                    "--concurrency", str(args.concurrency)], capture_output=True, text=True,
                                   timeout=600, env={**os.environ}, check=True)
            m = json.loads(child.stdout.strip().splitlines()[-1])
            m["limit_mib"] = limit
            out["memory"].append(m)
    out["idle_connections"] = (
        "not applicable: clients connect to Envoy, never to the authorizer. Envoy calls OPA over a few long-lived "
        "HTTP/2 (gRPC) connections per proxy; a request reaches OPA only after Envoy's api_key_auth accepted its "
        "key and Envoy buffered its whole body (bodyToExtAuth.maxRequestBytes = the route's request buffer; larger "
        f"bodies get 413 before any check), at most {guard.MAX_PARALLEL_CHECKS} in flight per proxy (circuit "
        "breaker). 1,000 idle client connections cost Envoy, not the guard.")
    print(json.dumps(out, indent=1))
    return 0 if out["corpus"]["wrongly_allowed"] == 0 and not out["corpus"]["wrong"] else 1


if __name__ == "__main__":
    sys.exit(main())
