"""A stack's config as the Pulumi CLI would pass it to the program, read offline from ``stacks/Pulumi.<stack>.yaml``
and the project's declared keys (``Pulumi.yaml``): duplicate and YAML-merge keys refused with their file and line,
secure values given placeholders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import yaml

from llm_tiers.preview.errors import RenderError
from llm_tiers.project import root as project_root

PROJECT_DIR = project_root()  # the Pulumi project the command works on (llm_tiers.project)

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
                              "strings, written out); nothing was created:"
                              + "".join(f"\n  - {where}: {what} (line {line})"
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

def stack_dir(project_dir: Path = PROJECT_DIR) -> Path:
    """Where the project's stack files are: Pulumi.yaml's ``stackConfigDir``, else the project directory."""
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}
    return project_dir / project.get("stackConfigDir", ".")


def stacks(project_dir: Path = PROJECT_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in stack_dir(project_dir).glob("Pulumi.*.yaml"))
