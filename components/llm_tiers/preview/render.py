"""Offline render: run the real program for a stack under Pulumi's mock runtime and write build/<stack>/.

    python -m llm_tiers.preview.render --stack prod            # what `make render STACK=prod` runs
    python -m llm_tiers.preview.render --all
    python -m llm_tiers.preview.render --stack dev --secret hfToken=hf_xxx
    python -m llm_tiers.preview.render --all --no-secret-placeholders   # secrets only as the stack files hold them

Writes: kubernetes.yaml, helm.yaml, aws.json, outputs.json (the stack outputs, secrets
redacted), plan.md (cost summary, tiers, inventory), rollout.md and rollout.json. No cloud, no CLI: the program
is exactly the one `pulumi up` runs; only the engine is mocked (components/llm_tiers/preview/mocks.py). Secret values are replaced
by ``[secret]`` wherever they appear, by the engine's secret marker, not by key names.

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

from llm_tiers.project import root as project_root
from typing import Any, Optional

import yaml

PROJECT_DIR = project_root()  # the Pulumi project the command works on (llm_tiers.project)

import pulumi
from pulumi.runtime.settings import get_root_resource
from pulumi.runtime.stack import wait_for_rpcs

from llm_tiers.helm import oci_split
from llm_tiers.preview import kubelet, rollout
from llm_tiers.preview.mocks import (SECRET_MARKER, SECRET_SIG, PlatformMocks, Recording, RecordingLogHandler, RecordingMonitor)

UNKNOWN_MARKER = "[unknown]"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_CHART = "kubernetes:helm.sh/v4:Chart"


class RenderError(Exception):
    """The program refused the stack (invalid config) or failed; the message is the program's.

    ``recording`` holds what had been registered before the failure (nothing, for a config error).
    """

    def __init__(self, message: str, recording: Optional[Recording] = None):
        super().__init__(message)
        self.recording = recording


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


# ---------------------------------------------------------------------------------------------- config


def project_name(project_dir: Path = PROJECT_DIR) -> str:
    return yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]


def placeholder(key: str) -> str:
    return f"render-placeholder-{key}"


class _StackFileLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (PyYAML would keep the last one silently, and
    a stack would lose, say, half its tiers without a word)."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping (first at line {seen[key]}); keep one",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StackFileLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def read_stack_file(path: Path) -> dict[str, Any]:
    """A stack file's ``config`` mapping. Raises RenderError naming the file (and line) when the file is not
    YAML, is not a mapping, or its ``config`` is not a mapping of ``<namespace>:<key>`` to values."""
    shown = _shown(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise RenderError(f"{shown}: cannot read the stack file ({exc.strerror})") from None
    try:
        # Keys the stack file must not use, found on the node tree (before anything is constructed), by key path.
        found = _key_problems(yaml.compose(text, Loader=_StackFileLoader))
        if found:
            raise RenderError(f"{shown}: the stack file uses YAML the render refuses (config keys are plain "
                              "strings, written out); nothing was created:" + "".join(f"\n  - {where}: {what} (line {line})"
                                                               for line, where, what in found))
        doc = yaml.load(text, Loader=_StackFileLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise RenderError(f"{where}: not a valid YAML stack file: {what}; fix the YAML (nothing was created)") from None
    except yaml.YAMLError as exc:
        raise RenderError(f"{shown}: not a valid YAML stack file: {exc}; nothing was created") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise RenderError(f"{shown}:1: a stack file is a mapping with a `config:` key, not a {type(doc).__name__}; "
                          "nothing was created")
    raw = doc.get("config")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        line = _line_of(text, "config")
        raise RenderError(f"{shown}:{line}: `config` must be a mapping of `<namespace>:<key>` to values (e.g. "
                          f"`llm-tiers:environment: dev`), not a {type(raw).__name__}; nothing was created")
    bad = [k for k in raw if not isinstance(k, str)]
    if bad:
        raise RenderError(f"{shown}:{_line_of(text, str(bad[0]))}: config key {bad[0]!r} is not a string; config "
                          "keys are `<namespace>:<key>`; nothing was created")
    return raw


MERGE_TAG = "tag:yaml.org,2002:merge"


def _key_problems(root: Optional[yaml.Node]) -> list[tuple[int, str, str]]:
    """(line, key path, problem) of every YAML merge key (``<<: *anchor``) and every key that is not a scalar
    (``? [a, b]``), walking the composed nodes so the message names where it is (``llm-tiers:tiers[1]``)."""
    out: list[tuple[int, str, str]] = []
    seen: set[int] = set()

    def walk(node: yaml.Node, path: str) -> None:
        if id(node) in seen:  # an alias: its anchor was walked already
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                line = key.start_mark.line + 1
                if key.tag == MERGE_TAG:
                    out.append((line, path or "(top level)", (
                        "a YAML merge key (`<<: *anchor`): merge keys are a YAML 1.1 extension that YAML 1.2 dropped, "
                        "so this file could mean one thing to the render and another to Pulumi's reader; write the "
                        "keys out in full")))
                elif not isinstance(key, yaml.ScalarNode):
                    kind = "sequence" if isinstance(key, yaml.SequenceNode) else "mapping"
                    out.append((line, path or "(top level)", (
                        f"a key that is a {kind} (`? ...` complex key); config keys are strings, e.g. `name: value`")))
                else:
                    walk(value, f"{path}.{key.value}" if path else str(key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{path}[{i}]")

    if root is not None:
        walk(root, "")
    return [(line, where.removeprefix("config."), what) for line, where, what in out]


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def _line_of(text: str, key: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith(f"{key}:"):
            return n
    return 1


def stack_config(stack: str, *, project_dir: Path = PROJECT_DIR, stack_file: Optional[Path] = None,
                 overrides: Optional[dict[str, Any]] = None, secrets: Optional[dict[str, Any]] = None,
                 omit_secrets: bool = False) -> tuple[dict[str, str], list[str]]:
    """The config map the engine would hand the program: ``{"<ns>:<key>": string}`` plus secret keys.

    ``overrides`` replaces whole keys (``{"llm-tiers:tiers": [...]}``; a value of None deletes the key).
    ``secrets`` sets secret keys. Secrets the stack file holds (``secure:`` values, which need the stack's
    secrets provider) get a placeholder. The others get placeholders shaped by the stack
    (``components.config.secret_placeholders``), as if configured, unless ``omit_secrets``: then they stay
    unset, as in a stack where no one ran ``pulumi config set --secret`` (``--no-secret-placeholders``).
    """
    project = project_name(project_dir)
    path = stack_file or stack_dir(project_dir) / f"Pulumi.{stack}.yaml"
    raw = read_stack_file(path)
    values: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = placeholder(key.split(":", 1)[-1])
            secret_keys.append(key)
        else:
            values[key] = value
    for key, value in (overrides or {}).items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    if not omit_secrets:
        placeholders: dict[str, Any] = {}
        if project_dir == PROJECT_DIR:
            from llm_tiers.config.schema import secret_placeholders

            project_values = {k.split(":", 1)[1]: v for k, v in values.items() if k.startswith(f"{project}:")}
            placeholders = secret_placeholders(project_values)
        declared = (yaml.safe_load((project_dir / "Pulumi.yaml").read_text()).get("config") or {})
        for key, decl in declared.items():
            if isinstance(decl, dict) and decl.get("secret") and decl.get("type", "string") == "string":
                placeholders.setdefault(key, placeholder(key))
        for key, value in placeholders.items():
            full = f"{project}:{key}"
            if full not in values:
                values[full] = value
                secret_keys.append(full)
    for key, value in (secrets or {}).items():
        full = key if ":" in key else f"{project}:{key}"
        values[full] = value
        secret_keys.append(full)
    # As the CLI does: declared keys the stack leaves unset take the project file's default.
    declared_all = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()).get("config") or {}
    for key, decl in declared_all.items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(decl, dict) and "default" in decl and full not in values:
            values[full] = decl["default"]
    # default=str: YAML dates and times reach the program as the strings the CLI would pass.
    encoded = {k: v if isinstance(v, str) else json.dumps(v, default=str) for k, v in values.items()}
    return encoded, sorted(set(secret_keys))


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
    from llm_tiers.config.schema import SECRET_KEYS, StackConfig, parse

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
    that produced the object (``llm_tiers.preflight``). Custom resources go unchecked (``result.unvalidated``,
    which the CLI reports) only when no schemas are at hand."""
    from llm_tiers import preflight, versions
    from llm_tiers.preview import validate

    cfg = _parsed_config(config, project_dir)
    version = cfg.cluster.kubernetes_version if cfg else versions.DEFAULT_KUBERNETES_VERSION
    problems, result.unvalidated = preflight.rendered_problems(
        result.kubernetes_objects(), cfg, validate.find_crd_dir(project_dir), version)
    if problems:
        raise RenderError(f"the API server would refuse {len(problems)} problem(s) in the rendered objects; "
                          "nothing was created:\n" + "\n".join(f"  - {p}" for p in problems), result.recording)


# ---------------------------------------------------------------------------------------------- output


def redact(value: Any) -> Any:
    """Replace every secret-marked value with ``[secret]`` and unknowns with ``[unknown]``.

    Also normalizes what the engine's wire format changed: integral numbers come back as ints (protobuf
    carries every number as a double) and mapping keys are sorted, so renders are byte-for-byte stable.
    """
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return SECRET_MARKER
        return {k: redact(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if type(value).__name__ == "Unknown":
        return UNKNOWN_MARKER
    return value


def _k8s_order(obj: dict[str, Any]) -> dict[str, Any]:
    head = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
    return {**head, **{k: v for k, v in obj.items() if k not in head}}


_KIND_ORDER = {"Namespace": 0, "CustomResourceDefinition": 1, "StorageClass": 2, "ServiceAccount": 3}


def kubernetes_objects(recording: Recording) -> list[dict[str, Any]]:
    objects = []
    for r in recording.resources:
        if not r.custom or not r.type.startswith("kubernetes:") or r.type == HELM_RELEASE:
            continue
        obj = redact(r.inputs)
        if obj.get("kind") == "Secret":
            # Keep the keys a reviewer needs; never a value (the SDK marks the whole field secret).
            for field in ("data", "stringData"):
                raw = r.inputs.get(field)
                if isinstance(raw, dict) and raw.get(SECRET_SIG):
                    raw = raw.get("value")
                if isinstance(raw, dict):
                    obj[field] = {k: SECRET_MARKER for k in sorted(raw)}
                elif field in obj:
                    obj[field] = SECRET_MARKER
        if not (obj.get("metadata") or {}).get("name"):
            raise RenderError(f"Kubernetes object {r.type} '{r.name}' has no metadata.name: set one explicitly "
                              "so names are stable and reviewable")
        objects.append(_k8s_order(obj))
    return sorted(objects, key=lambda o: (_KIND_ORDER.get(o["kind"], 9), o["kind"],
                                          o["metadata"].get("namespace", ""), o["metadata"]["name"]))


def helm_releases(recording: Recording) -> list[dict[str, Any]]:
    """Helm releases, and the CRD charts Pulumi renders and applies object by object (helm.sh/v4 Chart)."""
    releases = []
    for r in recording.resources:
        if r.type not in (HELM_RELEASE, HELM_CHART):
            continue
        i = redact(r.inputs)
        chart, repository = oci_split(i.get("chart"), (i.get("repositoryOpts") or {}).get("repo"))
        releases.append({
            "name": i.get("name", r.name),
            "namespace": i.get("namespace", "default"),
            "chart": chart,
            "repository": repository,
            "version": i.get("version"),
            "values": i.get("values") or {},
        })
    return sorted(releases, key=lambda rel: (rel["namespace"], rel["name"]))


def aws_resources(recording: Recording) -> list[dict[str, Any]]:
    entries = [{"type": r.type, "name": r.name, "inputs": redact(r.inputs)}
               for r in recording.resources if r.custom and r.type.startswith("aws:")]
    return sorted(entries, key=lambda e: (e["type"], e["name"]))


def state(recording: Recording) -> list[dict[str, Any]]:
    """Every resource as the engine would hold it after ``pulumi up`` (a redacted state export): URN, type,
    ID, inputs and the options that decide replacement and deletion. The PR diff matches resources by URN, so
    it sees replacements (an identity input changed: a new ID), renames and random resources (key rotation)."""
    out = []
    for r in recording.resources:
        if not (r.custom or r.remote):
            continue
        entry: dict[str, Any] = {"urn": r.urn.replace("pulumi:pulumi:Stack$", ""), "type": r.type, "name": r.name,
                                 "id": r.id, "inputs": redact(r.inputs)}
        if r.type.startswith("random:"):
            entry.pop("id")  # the mock's placeholder ID; a random resource's identity is its keepers
        for key, value in (("protect", r.protect), ("retainOnDelete", r.retain_on_delete),
                           ("deleteBeforeReplace", r.delete_before_replace), ("replaceOnChanges", r.replace_on_changes),
                           ("ignoreChanges", r.ignore_changes)):
            if value:
                entry[key] = value
        out.append(entry)
    return sorted(out, key=lambda e: e["urn"])


def write_build(result: RenderResult, out_dir: Path) -> Path:
    from llm_tiers.plan import plan_markdown, recorded_tier_rows
    from llm_tiers.preview import inventory

    target = out_dir / result.stack
    target.mkdir(parents=True, exist_ok=True)
    dump = dict(sort_keys=False, default_flow_style=False, width=120)
    (target / "kubernetes.yaml").write_text(yaml.safe_dump_all(result.kubernetes_objects(), **dump))
    (target / "helm.yaml").write_text(yaml.safe_dump_all(result.helm_releases(), **dump))
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
    (target / "rollout.md").write_text(rollout.to_markdown(rollout_plan))
    (target / "rollout.json").write_text(rollout.to_json(rollout_plan))
    return target


def examples(project_dir: Path = PROJECT_DIR) -> list[str]:
    return sorted(p.parent.name for p in (project_dir / "examples").glob("*/Pulumi.yaml"))


def render_example(name: str, **kw: Any) -> RenderResult:
    """An example program (examples/<name>/) with its stack file Pulumi.example.yaml."""
    folder = PROJECT_DIR / "examples" / name
    return render("example", project_dir=folder, stack_file=folder / "Pulumi.example.yaml", **kw)


def stack_dir(project_dir: Path = PROJECT_DIR) -> Path:
    """Where the project's stack files are: Pulumi.yaml's ``stackConfigDir``, else the project directory."""
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}
    return project_dir / project.get("stackConfigDir", ".")


def stacks(project_dir: Path = PROJECT_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in stack_dir(project_dir).glob("Pulumi.*.yaml"))


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
