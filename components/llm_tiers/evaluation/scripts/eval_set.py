"""Score one release of a tier on the team's eval set and collect lm-evaluation-harness results into one summary.

Runs in the eval Job's last container (components/llm_tiers/evaluation/manifests.py), standard library only, as
a non-root user on a read-only root filesystem: it writes only the summary (``--out``, on the results volume).

The eval set is JSONL, one object per line with ``prompt`` and ``reference`` (strings; ``id`` optional). Each
prompt is sent once to ``<base-url>/chat/completions`` as a user message, temperature 0, and the answer is
scored against the reference:

* ``exact``: equal after trimming surrounding whitespace, case-insensitive;
* ``regex``: the reference, a Python regular expression, is found in the answer (``re.search``);
* ``contains``: the reference appears in the answer, case-insensitive.

lm-evaluation-harness writes ``<output_path>/<model>/results_<timestamp>.json`` with ``{"results": {task:
{"<metric>,<filter>": value, "<metric>_stderr,<filter>": ...}}}`` (EleutherAI/lm-evaluation-harness v0.4.12,
lm_eval/loggers/evaluation_tracker.py ``save_results_aggregated``); the newest such file is read and every numeric
metric that is not a standard error becomes ``lm-eval/<task>/<metric>,<filter>``.

The summary (``scores`` on a 0-1 scale, ``complete`` false when a configured part produced nothing) is what the
promotion gate compares (gate.py). Exit status 1 when the summary is not complete.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

SCHEMA = 1


def score(answer: str, reference: str, mode: str) -> bool:
    if mode == "exact":
        return answer.strip().casefold() == reference.strip().casefold()
    if mode == "regex":
        return re.search(reference, answer) is not None
    if mode == "contains":
        return reference.strip().casefold() in answer.casefold()
    raise ValueError(f"unknown scoring {mode!r}: exact, regex or contains")


def read_eval_set(text: str, mode: str) -> list[dict[str, str]]:
    """The items of a JSONL eval set; raises ValueError naming the line of the first bad one."""
    items = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {n}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or not isinstance(item.get("prompt"), str) \
                or not isinstance(item.get("reference"), str) or not item["prompt"].strip():
            raise ValueError(f'line {n}: needs string "prompt" (not empty) and "reference"')
        if mode == "regex":
            try:
                re.compile(item["reference"])
            except re.error as exc:
                raise ValueError(f"line {n}: reference is not a regular expression ({exc})") from None
        items.append({"id": str(item.get("id", n)), "prompt": item["prompt"], "reference": item["reference"]})
    if not items:
        raise ValueError("no items")
    return items


def _post(url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def wait_ready(base_url: str, seconds: float, interval: float = 10.0) -> None:
    """Until ``GET <base-url>/models`` answers 200: the release's Deployment may still be starting."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=10) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{base_url}/models did not answer within {seconds:.0f} s")
        time.sleep(interval)


def run_eval_set(base_url: str, model: str, items: list[dict[str, str]], mode: str, max_tokens: int,
                 retries: int = 3) -> dict[str, Any]:
    correct, failures, errors = 0, [], 0
    for item in items:
        answer: Optional[str] = None
        for attempt in range(retries):
            try:
                out = _post(f"{base_url}/chat/completions",
                            {"model": model, "messages": [{"role": "user", "content": item["prompt"]}],
                             "temperature": 0, "max_tokens": max_tokens}, timeout=300)
                answer = out["choices"][0]["message"]["content"] or ""
                break
            except (urllib.error.URLError, OSError, KeyError, IndexError, ValueError):
                time.sleep(2 * (attempt + 1))
        if answer is None:
            errors += 1
            failures.append({"id": item["id"], "error": "no answer"})
        elif score(answer, item["reference"], mode):
            correct += 1
        elif len(failures) < 20:
            failures.append({"id": item["id"], "answer": answer[:300], "reference": item["reference"]})
    return {"scoring": mode, "items": len(items), "correct": correct, "errors": errors,
            "score": correct / len(items), "failures": failures}


def read_lm_eval(directory: Path) -> dict[str, float]:
    """Numeric metrics of the newest lm-eval results file under ``directory`` (empty when there is none)."""
    files = sorted(directory.rglob("results_*.json"), key=lambda p: p.stat().st_mtime) if directory.is_dir() else []
    if not files:
        return {}
    results = json.loads(files[-1].read_text()).get("results", {})
    out = {}
    for task, metrics in sorted(results.items()):
        for name, value in sorted(metrics.items()):
            if "_stderr" in name or name == "alias" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            out[f"lm-eval/{task}/{name}"] = float(value)
    return out


def write_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base-url", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True, type=Path)
    for key in ("tier", "release", "run-id", "model-id", "revision", "engine", "quantization"):
        p.add_argument(f"--{key}", required=True)
    p.add_argument("--flags", default="[]", help="the release's extra engine flags, as a JSON list")
    p.add_argument("--eval-set", type=Path)
    p.add_argument("--scoring", default="contains", choices=("exact", "regex", "contains"))
    p.add_argument("--max-tokens", type=int, default=256)
    p.add_argument("--lm-eval-dir", type=Path)
    p.add_argument("--ready-wait-seconds", type=float, default=3600)
    a = p.parse_args(argv)

    summary: dict[str, Any] = {
        "schema": SCHEMA, "tier": a.tier, "release": a.release, "runId": a.run_id, "model": a.model_id,
        "revision": a.revision, "engine": a.engine, "quantization": a.quantization, "flags": json.loads(a.flags),
        "scores": {}, "missing": [], "startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if a.eval_set is not None:
        try:
            items = read_eval_set(a.eval_set.read_text(), a.scoring)
            wait_ready(a.base_url, a.ready_wait_seconds)
            summary["evalSet"] = run_eval_set(a.base_url, a.model, items, a.scoring, a.max_tokens)
            if summary["evalSet"]["errors"]:
                summary["missing"].append(f"evalSet: {summary['evalSet']['errors']} request(s) got no answer")
            else:
                summary["scores"]["evalSet"] = summary["evalSet"]["score"]
        except (OSError, ValueError, TimeoutError) as exc:
            summary["missing"].append(f"evalSet: {exc}")
    if a.lm_eval_dir is not None:
        lm = read_lm_eval(a.lm_eval_dir)
        if not lm:
            summary["missing"].append(f"lm-eval: no results_*.json under {a.lm_eval_dir}")
        summary["scores"].update(lm)
    summary["complete"] = not summary["missing"]
    summary["finishedAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    write_atomic(a.out, summary)
    print(json.dumps({"release": a.release, "scores": summary["scores"], "missing": summary["missing"]}))
    return 0 if summary["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
