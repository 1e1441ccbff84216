"""A tier's ``eval`` and ``gate`` keys: quality measured per release (components/llm_tiers/evaluation/) and the
promotion gate that a switch of ``serve`` to the candidate waits for."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, PositiveInt, StringConstraints

from llm_tiers.config.base import DNS_LABEL, _Model

# lm-evaluation-harness task names: letters, digits, `_`, `-`, `.` (e.g. gsm8k, ifeval, mmlu_flan_cot_zeroshot).
TASK = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
CONFIG_MAP_KEY = r"^[-._a-zA-Z0-9]{1,253}$"


class LmEvalConfig(_Model):
    tasks: list[Annotated[str, StringConstraints(pattern=TASK)]] = Field(
        ..., min_length=1,
        description="lm-evaluation-harness tasks to run (`--tasks`). Generative tasks only (e.g. `gsm8k`, "
        "`ifeval`): the harness reaches the release through `/v1/chat/completions`, which returns no log-"
        "probabilities, so multiple-choice (loglikelihood) tasks cannot run. Their datasets must already be in "
        "the results volume's dataset cache (docs/components/eval.md, \"Offline\").")
    limit: PositiveInt = Field(
        200, le=100000, description="Samples per task (`--limit`): the same ones on every release, so two "
        "releases compare on the same questions.")
    num_fewshot: Optional[int] = Field(
        None, ge=0, le=25, description="Few-shot examples per prompt (`--num_fewshot`); default: each task's own.")
    max_gen_tokens: PositiveInt = Field(
        512, description="Most tokens generated per answer (`max_gen_toks` of the chat client). Must fit the "
        "tier's output budget (maxTotalTokens - maxInputTokens).")


class EvalSetConfig(_Model):
    file: Optional[Annotated[str, StringConstraints(min_length=1)]] = Field(
        None, description="The team's eval set in the repository (JSONL, one `{\"prompt\": ..., \"reference\": "
        "...}` per line; path relative to the project directory). The program puts it in a ConfigMap beside the "
        "tier. Exactly one of `file` and `configMap`.")
    config_map: Optional[Annotated[str, StringConstraints(pattern=DNS_LABEL, max_length=253)]] = Field(
        None, description="An existing ConfigMap in the tiers' namespace that holds the eval set (for sets "
        "managed outside this repository). Exactly one of `file` and `configMap`.")
    key: Annotated[str, StringConstraints(pattern=CONFIG_MAP_KEY)] = Field(
        "evals.jsonl", description="The ConfigMap key that holds the JSONL.")
    scoring: Literal["exact", "regex", "contains"] = Field(
        "contains", description="How an answer matches its reference: `exact` (equal after trimming whitespace "
        "and case), `regex` (the reference is a Python regular expression searched in the answer) or `contains` "
        "(the reference appears in the answer, case-insensitive).")
    max_tokens: PositiveInt = Field(
        256, description="`max_tokens` of each eval-set request (temperature 0).")


class EvalConfig(_Model):
    harness: Literal["lm-eval"] = Field(
        "lm-eval", description="The maintained harness the `lmEval` key configures: EleutherAI's "
        "lm-evaluation-harness, pinned in components/llm_tiers/versions.py (`LM_EVAL_VERSION`).")
    lm_eval: Optional[LmEvalConfig] = Field(
        None, description="Run lm-evaluation-harness tasks against each release's own Service.")
    eval_set: Optional[EvalSetConfig] = Field(
        None, description="Score the team's own eval set (prompt and reference) against each release.")
    pip_index_url: Optional[Annotated[str, StringConstraints(pattern=r"^https://[^\s]+$")]] = Field(
        None, description="Python package index the eval Job installs the pinned lm-evaluation-harness from "
        "(a mirror inside your network). Default: PyPI (the Job then needs HTTPS egress to it).")


class GateConfig(_Model):
    tolerance: float = Field(
        0.02, ge=0, le=1, description="How far below the live release's score a candidate's may be, on every "
        "score both releases have (0-1 scale, e.g. 0.02 = two points of accuracy).")
    min_output_tokens_per_second: Optional[float] = Field(
        None, gt=0, description="Output tokens/s floor: the candidate's best benchmark strategy whose TTFT P95 is "
        "within `slo.ttftP95Seconds` must reach it. Unset: only the TTFT objective is checked.")
    wait_minutes: int = Field(
        90, ge=5, le=300, description="How long the gate Job waits for the candidate's and the live release's "
        "results to appear on the results volume before it fails (closed).")
    override: Optional[Annotated[str, StringConstraints(min_length=10, max_length=300)]] = Field(
        None, description="Promote whatever the results say, deliberately: the reason (at least 10 characters, "
        "e.g. the incident number). The gate Job still runs and logs every check, then succeeds; remove the key "
        "after the switch (docs/runbook.md, \"Overriding the promotion gate\").")
