"""Offline render: run the real program for a stack under Pulumi's mock runtime and write build/<stack>/.

    python -m llm_tiers.preview.render --stack prod            # what `make render STACK=prod` runs
    python -m llm_tiers.preview.render --all
    python -m llm_tiers.preview.render --stack dev --secret hfToken=hf_xxx
    python -m llm_tiers.preview.render --all --no-secret-placeholders   # secrets only as the stack files hold them

Writes: kubernetes.yaml, helm.yaml, aws.json, outputs.json (the stack outputs, secrets
redacted), plan.md (cost summary, tiers, inventory), rollout.md and rollout.json. No cloud, no CLI: the program
is exactly the one `pulumi up` runs; only the engine is mocked (components/llm_tiers/preview/mocks.py). Secret values
are replaced by ``[secret]`` wherever they appear, by the engine's secret marker, not by key names.

Secrets the stack file cannot carry here (``secure:`` values need the stack's secrets provider) are given
a placeholder value, as a configured stack would have one; pass ``--secret key=value`` to choose it. By
default the secrets a stack file does not hold get placeholders too (the render shows a configured stack);
``--no-secret-placeholders`` leaves them unset, as an unconfigured stack would run, so a gated model
without ``hfToken`` (or a receiver without its URL) is refused. CI renders every stack both ways.
A stack file that is not YAML, or whose ``config`` is not a mapping, is refused with its file and line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import logging
import os
import runpy
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi
import yaml
from pulumi.runtime.settings import get_root_resource
from pulumi.runtime.stack import wait_for_rpcs

from llm_tiers.preview import kubelet, rollout, rollout_markdown
from llm_tiers.preview.documents import aws_resources, helm_releases, kubernetes_objects, redact, state
from llm_tiers.preview.errors import RenderError
from llm_tiers.preview.stack_file import PROJECT_DIR, project_name, stack_config, stacks
from llm_tiers.preview.mocks import (SECRET_MARKER, PlatformMocks, Recording, RecordingLogHandler, RecordingMonitor)


@dataclass
class RenderResult:
    stack: str
    recording: Recording
    seconds: float
    unvalidated: list[str] = field(default_factory=list)
    """Custom resources not checked against their CRDs because no CRD schemas were at hand."""

    @property
    def custom_resources(self):
        return [r for r in self.recording.resources if r.custom]

    def of_type(self, type_token: str):
        return [r for r in self.custom_resources if r.type == type_token]

    def kubernetes_objects(self) -> list[dict[str, Any]]:
        return kubernetes_objects(self.recording)

    def objects_named(self, kind: str) -> dict[str, dict[str, Any]]:
        """The Kubernetes objects of one kind by name (an error if two share a name across namespaces)."""
        found: dict[str, dict[str, Any]] = {}
        for o in self.kubernetes_objects():
            if o["kind"] == kind:
                name = o["metadata"]["name"]
                if name in found:
                    raise KeyError(f"two {kind} objects are named {name}; look them up by namespace too")
                found[name] = o
        return found

    def helm_releases(self) -> list[dict[str, Any]]:
        return helm_releases(self.recording)

    def aws_resources(self) -> list[dict[str, Any]]:
        return aws_resources(self.recording)

    def outputs(self) -> dict[str, Any]:
        return redact(self.recording.stack_outputs)


# ---------------------------------------------------------------------------------------------- run


def run_program(stack: str, config: dict[str, str], secret_keys: list[str], *,
                project_dir: Path = PROJECT_DIR, program: Optional[Path] = None) -> RenderResult:
    """Run a Pulumi program in-process under the mocks, in a fresh context, and record what it registers."""
    project = project_name(project_dir)
    region = config.get("aws:region", "us-east-1")
    recording = Recording()
    program_path = program or project_dir / "__main__.py"

    def _run() -> None:
        # The pattern Pulumi documents for unit tests: an event loop, the mocks, the program, then wait for
        # every outstanding registration. A fresh contextvars.Context per run isolates runtime state.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        cwd = os.getcwd()
        try:
            pulumi.runtime.set_all_config(config, secret_keys)
            mocks = PlatformMocks(region)
            logger = logging.Logger("llm-tiers.render")  # not registered globally: one per run
            logger.addHandler(RecordingLogHandler(recording))
            pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, logger=logger,
                                     monitor=RecordingMonitor(mocks, recording))
            os.chdir(program_path.parent)
            try:
                runpy.run_path(str(program_path), run_name="__main__")
            finally:
                # As the Pulumi language host does: let every queued registration finish even when the
                # program raised, so no half-done RPC outlives this run.
                loop.run_until_complete(wait_for_rpcs())
            recording.stack_outputs.update(loop.run_until_complete(_resolve_exports()))
        finally:
            os.chdir(cwd)
            loop.close()
            asyncio.set_event_loop(None)

    start = time.perf_counter()
    try:
        contextvars.Context().run(_run)
    except pulumi.RunError as exc:
        raise RenderError(str(exc), recording) from None
    return RenderResult(stack, recording, time.perf_counter() - start)


async def _resolve_exports() -> dict[str, Any]:
    """The stack's exports as plain values; a secret export becomes ``[secret]`` as a whole."""
    root = get_root_resource()
    resolved: dict[str, Any] = {}
    for key, value in (getattr(root, "outputs", None) or {}).items():
        out = pulumi.Output.from_input(value)
        resolved[key] = SECRET_MARKER if await out.is_secret() else await out.future(with_unknowns=True)
    return resolved


def render(stack: str, *, overrides: Optional[dict[str, Any]] = None, secrets: Optional[dict[str, Any]] = None,
           omit_secrets: bool = False, stack_file: Optional[Path] = None,
           project_dir: Path = PROJECT_DIR) -> RenderResult:
    config, secret_keys = stack_config(stack, project_dir=project_dir, stack_file=stack_file,
                                       overrides=overrides, secrets=secrets, omit_secrets=omit_secrets)
    result = run_program(stack, config, secret_keys, project_dir=project_dir)
    check_api_server(result, config, project_dir)
    # What the kubelet would refuse on a real node (preview/kubelet.py): unreadable mounts, writes on a
    # read-only root, probes on ports the container does not serve.
    if found := kubelet.problems(result.kubernetes_objects(), kubelet.tier_names(config, project_name(project_dir))):
        raise RenderError(kubelet.message(found), result.recording)
    return result


def _parsed_config(config: dict[str, str], project_dir: Path):
    """The stack's validated config (None for a program that does not use llm-tiers' stack config)."""
    from llm_tiers.config.schema import SECRET_KEYS, StackConfig
    from llm_tiers.stack.parse import parse

    prefix = f"{project_name(project_dir)}:"
    string_keys = {f.alias for f in StackConfig.model_fields.values() if f.annotation is str}
    values: dict[str, Any] = {}
    for full, raw in config.items():
        key = full[len(prefix):] if full.startswith(prefix) else None
        if key is None or key in SECRET_KEYS:
            continue
        try:
            values[key] = raw if key in string_keys else json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    try:
        return parse(values)
    except Exception:  # noqa: BLE001 - an example program with its own config: no key paths to name
        return None


def check_api_server(result: RenderResult, config: dict[str, str], project_dir: Path = PROJECT_DIR) -> None:
    """Refuse the render (RenderError) when the API server would refuse a rendered object: core kinds with
    kubernetes-validate in strict mode, custom resources with their pinned CRD (every limit and format, every
    CEL rule) wherever the schemas are at hand (``validate.find_crd_dir``); each problem names the config key
    that produced the object (``llm_tiers.preview.preflight``). Custom resources go unchecked (``result.unvalidated``,
    which the CLI reports) only when no schemas are at hand."""
    from llm_tiers import versions
    from llm_tiers.preview import preflight
    from llm_tiers.preview import validate

    cfg = _parsed_config(config, project_dir)
    version = cfg.cluster.kubernetes_version if cfg else versions.DEFAULT_KUBERNETES_VERSION
    problems, result.unvalidated = preflight.rendered_problems(
        result.kubernetes_objects(), cfg, validate.find_crd_dir(project_dir), version)
    if problems:
        raise RenderError(f"the API server would refuse {len(problems)} problem(s) in the rendered objects; "
                          "nothing was created:\n" + "\n".join(f"  - {p}" for p in problems), result.recording)


def write_build(result: RenderResult, out_dir: Path) -> Path:
    from llm_tiers.preview.plan_markdown import plan_markdown, recorded_tier_rows
    from llm_tiers.preview import inventory

    target = out_dir / result.stack
    target.mkdir(parents=True, exist_ok=True)
    dump = dict(sort_keys=False, default_flow_style=False, width=120)
    (target / "kubernetes.yaml").write_text(yaml.safe_dump_all(result.kubernetes_objects(), **dump))  # type: ignore[call-overload]
    (target / "helm.yaml").write_text(yaml.safe_dump_all(result.helm_releases(), **dump))  # type: ignore[call-overload]
    (target / "aws.json").write_text(json.dumps(result.aws_resources(), indent=2, sort_keys=True) + "\n")
    (target / "state.json").write_text(json.dumps(state(result.recording), indent=1, sort_keys=True) + "\n")
    outputs = result.outputs()
    (target / "outputs.json").write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n")
    rollout_plan = rollout.plan(result.stack, result.recording)
    (target / "plan.md").write_text(plan_markdown(
        result.stack, outputs.get("tierPlan") or recorded_tier_rows(result.kubernetes_objects()),
        result.recording.warnings, outputs.get("systemCapacity"),
        rollout_plan.scale_from_zero, outputs.get("bill"),
        inventory.markdown(inventory.inventory(result.recording, result.stack)),
        token_cost=outputs.get("tokenCost"), promotion_gate=outputs.get("promotionGate"),
        first_deploy={"typicalSeconds": rollout_plan.critical_path_typical_seconds,
                      "upperSeconds": rollout_plan.critical_path_seconds},
        operator_access=outputs.get("operatorAccess")))
    (target / "rollout.md").write_text(rollout_markdown.to_markdown(rollout_plan))
    (target / "rollout.json").write_text(rollout.to_json(rollout_plan))
    return target


def examples(project_dir: Path = PROJECT_DIR) -> list[str]:
    """The Python example programs (a Pulumi YAML example runs through the component provider instead; its test
    constructs its resources that way)."""
    return sorted(p.parent.name for p in (project_dir / "examples").glob("*/Pulumi.yaml")
                  if (p.parent / "__main__.py").is_file())


def render_example(name: str, **kw: Any) -> RenderResult:
    """An example program (examples/<name>/) with its stack file Pulumi.example.yaml."""
    folder = PROJECT_DIR / "examples" / name
    return render("example", project_dir=folder, stack_file=folder / "Pulumi.example.yaml", **kw)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--stack", help="stack name (stacks/Pulumi.<stack>.yaml)")
    group.add_argument("--all", action="store_true", help="render every stack in stacks/")
    group.add_argument("--example", help="render examples/<name>/ into <out>/examples/<name>")
    parser.add_argument("--out", default=str(PROJECT_DIR / "build"), help="output directory (default: build/)")
    parser.add_argument("--secret", action="append", default=[], metavar="KEY=VALUE",
                        help="value of a secret config key (default: a placeholder)")
    parser.add_argument("--no-secret-placeholders", action="store_true",
                        help="render as the stack file is configured: a secret it does not hold (no `secure:` "
                             "value, no --secret) stays unset, so e.g. a gated model without hfToken is refused")
    args = parser.parse_args(argv)
    secrets = dict(s.split("=", 1) for s in args.secret)
    omit = args.no_secret_placeholders
    status = 0
    if args.example:
        try:
            result = render_example(args.example, secrets=secrets, omit_secrets=omit)
        except RenderError as exc:
            print(f"render example {args.example}: refused\n{exc}", file=sys.stderr)
            return 2
        result.stack = args.example
        target = write_build(result, Path(args.out) / "examples")
        print(f"rendered example {args.example} in {result.seconds:.2f}s: {len(result.kubernetes_objects())} "
              f"Kubernetes objects, {len(result.helm_releases())} Helm releases, {len(result.aws_resources())} AWS "
              f"resources -> {target}")
        return 0
    for stack in (stacks() if args.all else [args.stack]):
        try:
            result = render(stack, secrets=secrets, omit_secrets=omit)
            target = write_build(result, Path(args.out))
        except RenderError as exc:
            print(f"render {stack}: refused\n{exc}", file=sys.stderr)
            status = 2
            continue
        for warning in result.recording.warnings:
            print(f"render {stack}: warning: {warning}", file=sys.stderr)
        if result.unvalidated:
            print(f"render {stack}: note: {len(result.unvalidated)} custom resources NOT validated against their CRDs "
                  "(no schemas at hand): run `llm-tiers-crds fetch --dest .crds` or set LLM_TIERS_CRD_DIR",
                  file=sys.stderr)
        print(f"rendered {stack} in {result.seconds:.2f}s: {len(result.aws_resources())} AWS resources, "
              f"{len(result.kubernetes_objects())} Kubernetes objects, {len(result.helm_releases())} Helm "
              f"releases -> {target}" + (f" ({len(result.recording.warnings)} warning(s), see plan.md)"
                                         if result.recording.warnings else ""))
    return status


def cli() -> None:
    """The ``llm-tiers-render`` console script."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Pulumi's mock monitor leaves per-thread event loops behind that can print noise while the
    # interpreter tears down; everything is written and flushed, so leave directly.
    os._exit(code)


if __name__ == "__main__":
    cli()
