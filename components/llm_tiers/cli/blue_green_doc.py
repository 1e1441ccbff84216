"""The blue/green cycle of a tier (a new model, or the other engine), worked on the prod stack: each step a
one-line config change, rendered and diffed offline (docs/blue-green.md is generated from it, and a test keeps it
current).

    python -m llm_tiers.cli.blue_green_doc --write     # regenerate docs/blue-green.md
    python -m llm_tiers.cli.blue_green_doc --check     # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from llm_tiers.preview import render as render_tool
from llm_tiers.preview import stack_file
from llm_tiers.preview import render_diff

DOC = render_tool.PROJECT_DIR / "docs" / "blue-green.md"
STACK = "prod"
TIER = 0  # chat-small
NEW_MODEL = "Qwen/Qwen2.5-7B-Instruct"


def _tier(values: dict[str, Any]) -> dict[str, Any]:
    return values["tiers"][TIER]


def _add(v):
    _tier(v)["candidate"] = {"modelId": NEW_MODEL}


RUN_ID = "2026-12-07a"


def _measure(v):
    _tier(v)["eval"] = {"evalSet": {"file": "stacks/evals/chat-small.jsonl", "scoring": "contains", "maxTokens": 64}}
    v["benchmark"] = {"tiers": [_tier(v)["name"]], "runId": RUN_ID}


def _stop_measuring(v):
    del _tier(v)["eval"]
    del v["benchmark"]


def _serve_candidate(v):
    _tier(v)["serve"] = "candidate"


def _promote(v):
    _tier(v)["modelId"] = NEW_MODEL


def _serve_live(v):
    _tier(v)["serve"] = "live"


def _remove(v):
    del _tier(v)["candidate"]


# (title, the one line as it reads in the stack file, the change, what it does)
STEPS: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    ("1. Add a candidate", f"candidate: {{ modelId: {NEW_MODEL} }}", _add,
     "Creates the candidate's weights cache and sync Job (keyed by its revision), then its Deployment, PDB and "
     "ScaledObject. The live release keeps serving; nothing else changes."),
    ("2. Measure both releases", f"eval: {{ evalSet: {{ file: stacks/evals/chat-small.jsonl }} }}   "
     f"# and benchmark: {{ tiers: [chat-small], runId: {RUN_ID} }}", _measure,
     "Benchmarks (GuideLLM) and evaluates (the team's eval set; lm-evaluation-harness tasks with `lmEval`) both "
     "releases through their own Services, in Jobs named by the run; results land on the tier's results volume "
     "(docs/components/eval.md). Nothing waits for them and no traffic moves."),
    ("3. Serve the candidate", "serve: candidate", _serve_candidate,
     "Adds the promotion gate Job and moves the Service's selector only after it succeeds (and after the "
     "candidate's Deployment is available), then points the replica alerts at the candidate. The gate reads step "
     "2's results: the candidate's scores must be within `gate.tolerance` of the live release's and its benchmark "
     "within `slo.ttftP95Seconds` (and `gate.minOutputTokensPerSecond`); otherwise `pulumi up` fails and the "
     "Service stays on live (docs/runbook.md, \"Promotion gate failed\"). Roll back: `serve: live`."),
    ("4. Promote", f"modelId: {NEW_MODEL}", _promote,
     "The live release becomes the candidate's model: its pods roll onto the candidate's cache (already synced: "
     "no new sync Job, no download) while the candidate keeps serving, so no request reaches the old model. The "
     "old model's cache and Job are removed. Roll back: the previous `modelId` (a new sync of the old model)."),
    ("5. Serve live again", "serve: live", _serve_live,
     "The Service moves back to the live release, which now runs the new model; the gate Job goes (no switch "
     "to a candidate is pending)."),
    ("6. Remove the old candidate", "(delete the `candidate:` line)", _remove,
     "Deletes the candidate's Deployment, PDB and ScaledObject; the cache stays (the live release uses it)."),
    ("7. Stop measuring", "(delete the `eval:` line and the `benchmark:` section)", _stop_measuring,
     "Deletes the eval and benchmark Jobs, their Services and policies, and the results volume: copy the "
     "results out first."),
]


def stack_values(stack: str) -> dict[str, Any]:
    import yaml

    project = stack_file.project_name()
    raw = yaml.safe_load((render_tool.PROJECT_DIR / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k[len(project) + 1:]: v for k, v in raw.items() if k.startswith(f"{project}:")}


def states() -> list[dict[str, Any]]:
    """The stack's values before the cycle and after each step."""
    values = [stack_values(STACK)]
    for _, _, change, _ in STEPS:
        nxt = copy.deepcopy(values[-1])
        change(nxt)
        values.append(nxt)
    return values


def render_state(values: dict[str, Any]) -> render_tool.RenderResult:
    project = stack_file.project_name()
    return render_tool.render(STACK, overrides={f"{project}:{k}": v for k, v in values.items()})


def document() -> str:
    results = [render_state(v) for v in states()]
    lines = [
        "# Blue/green model swaps, worked on the prod stack",
        "",
        "Generated by `python -m llm_tiers.cli.blue_green_doc --write` (a test fails when it is stale): tier "
        "`chat-small` of",
        f"`stacks/Pulumi.{STACK}.yaml` moves to `{NEW_MODEL}` in seven small changes. Each step's diff is the",
        "offline render diff a pull request shows (`components/llm_tiers/preview/render_diff.py`); each step is "
        "safe on its own and rolls",
        "back by reverting its line.",
        "",
        "Rules that make the cycle safe: a weights cache and its sync Job are named by the revision they hold, so",
        "releases of the same revision share them and promotion downloads nothing; the Service depends on the",
        "serving release's Deployment, so it never switches to a release that is not available; the candidate is",
        "validated like the live release (models lock policy, capacity plan, guarded flags, at",
        "`tiers[i].candidate.*`); and the GPU class must hold both releases at `replicas.max` plus a surge",
        "replica each (`gpuClasses.<class>.maxGpus`).",
        "",
        "With `eval` on the tier, the switch is gated on measured quality and speed: step 2 benchmarks and evaluates",
        "both releases, and step 3's Service waits for a gate Job that reads those results and fails `pulumi up`",
        "(nothing moves) when the candidate scores below the live release minus `gate.tolerance` or misses",
        "`slo.ttftP95Seconds`; missing results fail it too. `gate.override` promotes deliberately",
        "(docs/runbook.md). Choosing between two releases: docs/components/eval.md.",
        "",
        "A release is a model, a revision, an image, extra args and an **engine** (`tgi` or `vllm`). Switching a",
        "tier's engine is the same cycle with `engine` in place of `modelId`: `candidate: { engine: vllm }` adds a",
        "vLLM Deployment beside the TGI one (same revision, so it shares the weights cache and no sync Job runs;",
        "its image is the pinned vLLM image unless `candidate.image` names one, and it is checked against vLLM:",
        "quantization, guarded flags, the other engine's flags in inherited `extraArgs`, vLLM's capacity math);",
        "`serve: candidate` moves the Service (same port name `http`, so routes, NetworkPolicies and the",
        "PodMonitor do not change); promoting is `engine: vllm` on the tier, which rolls the live pods onto vLLM",
        "while the candidate serves; then `serve: live` and remove the candidate. plan.md names each release's",
        "engine. The staging stack runs this as its benchmark setup (`chat-small` with a vLLM candidate).",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        builds = []
        for i, r in enumerate(results):
            r.stack = STACK
            builds.append(render_tool.write_build(r, Path(tmp) / str(i)))
        for (title, line, _, what), base, head in zip(STEPS, builds, builds[1:]):
            body = "\n".join(render_diff.stack_markdown(STACK, render_diff.diff_stack(base, head))[2:]).strip()
            lines += [f"## {title}", "", "```yaml", line, "```", "", what, "", body, ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = document()
    if args.write:
        DOC.write_text(text)
        print(f"wrote {DOC}")
        return 0
    if DOC.read_text() != text:
        print(f"{DOC} is stale; run python -m llm_tiers.cli.blue_green_doc --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
