"""A stack's committed measurements (pure): the summary of a benchmark and eval run that a team commits as
``stacks/measurements/<stack>.yaml`` (``cost.measurementsFile``), so plan.md and the PR comment price a tier by
its measured output tokens/s instead of the roofline, and show the promotion gate's last results.

The file (docs/components/cost.md, "Measured numbers")::

    runId: 2026-12-01a          # benchmark.runId of the run the numbers come from
    date: 2026-12-02            # when it ran
    tiers:
      chat-small:
        live:                   # or candidate
          engine: tgi           # what ran (checked against the stack: a stale file is refused)
          outputTokensPerSecond: 410      # per replica: GuideLLM's best strategy within slo.ttftP95Seconds
          singleStreamTokensPerSecond: 31 # optional: the synchronous strategy
          ttftP95Seconds: 0.92            # optional: TTFT P95 at that strategy
          scores: { evalSet: 0.9, "lm-eval/gsm8k/exact_match,strict-match": 0.76 }   # the eval summary's scores

Every number comes from the run's result files on the tier's results volume (``<tier>-<release>.json`` and
``<tier>-<release>-eval.json``, docs/components/eval.md); nothing here measures anything.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import Field, ValidationError

from llm_tiers.config.base import _Model
from llm_tiers.config.schema import ConfigError, ConfigIssue, StackConfig, release_engine

DEFAULT_DIR = Path("stacks") / "measurements"


class ReleaseMeasurement(_Model):
    engine: Literal["tgi", "vllm"] = Field(..., description="The engine the release ran.")
    output_tokens_per_second: Optional[float] = Field(None, gt=0)
    single_stream_tokens_per_second: Optional[float] = Field(None, gt=0)
    ttft_p95_seconds: Optional[float] = Field(None, gt=0)
    scores: dict[str, float] = Field(default_factory=dict)


class Measurements(_Model):
    run_id: str = Field(..., min_length=1)
    date: datetime.date
    tiers: dict[str, dict[Literal["live", "candidate"], ReleaseMeasurement]] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"run {self.run_id}, {self.date.isoformat()}"


def path_for(cfg: StackConfig, stack: str) -> Path:
    """``cost.measurementsFile``, else ``stacks/measurements/<stack>.yaml`` (relative to the project directory)."""
    return Path(cfg.cost.measurements_file) if cfg.cost.measurements_file else DEFAULT_DIR / f"{stack}.yaml"


def load(cfg: StackConfig, stack: str) -> Optional[Measurements]:
    """The stack's measurements, None when it has no file; ConfigError naming the file and key otherwise."""
    path = path_for(cfg, stack)
    if not path.exists():
        if cfg.cost.measurements_file:
            raise ConfigError([ConfigIssue("cost.measurementsFile", f"{path} does not exist; commit the run's "
                                           "summary there or remove the key")])
        return None
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        m = Measurements.model_validate(raw)
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(where, f"not YAML ({exc})")]) from None
    except ValidationError as exc:
        raise ConfigError([ConfigIssue(f"{where}: {'.'.join(str(p) for p in e['loc'])}", e["msg"])
                           for e in exc.errors()]) from None
    issues = []
    tiers = {t.name: t for t in cfg.tiers}
    for name, releases in m.tiers.items():
        t = tiers.get(name)
        if t is None:
            issues.append(ConfigIssue(f"{where}: tiers.{name}", f"no such tier in the stack; tiers are: "
                                      f"{', '.join(tiers) or 'none'}"))
            continue
        for rel, rm in releases.items():
            if rel == "candidate" and t.candidate is None:
                issues.append(ConfigIssue(f"{where}: tiers.{name}.candidate", "the tier has no candidate; remove it"))
            elif rm.engine != release_engine(t, rel):
                issues.append(ConfigIssue(f"{where}: tiers.{name}.{rel}.engine", f"measured {rm.engine}, but the "
                                          f"{rel} release runs {release_engine(t, rel)}: the numbers are stale; "
                                          "commit a new run's summary"))
    if issues:
        raise ConfigError(issues)
    return m


def load_or_refuse(cfg: StackConfig, stack: str) -> Optional[Measurements]:
    """``load`` for the program: a problem stops the preview with its message (no traceback), as the stack
    loader does."""
    import pulumi

    try:
        return load(cfg, stack)
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None


def release(m: Optional[Measurements], tier: str, rel: str) -> Optional[ReleaseMeasurement]:
    return (m.tiers.get(tier) or {}).get(rel) if m is not None else None  # type: ignore[call-overload]


def to_output(m: Optional[Measurements]) -> Optional[dict[str, Any]]:
    return None if m is None else {"runId": m.run_id, "date": m.date.isoformat()}
