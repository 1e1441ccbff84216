"""Semantic diff of two offline renders (base and head of a pull request), for a PR comment.

    python -m tools.render_diff --base base/build --head build [--out diff.md]

Object level, not text: Kubernetes objects are matched by apiVersion/kind/namespace/name, Helm releases
by namespace/name, AWS resources by type/name, plan.md rows by tier, stack outputs (the bill among them) by
name; each change lists the changed field
paths with old and new values. Needs no cloud credentials, so it works on forks.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

MAX_VALUE = 120


@dataclass
class FileDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def field_changes(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, old, new) for every leaf that differs; lists of different length compare as a whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append((sub, None, new[key]))
            elif key not in new:
                out.append((sub, old[key], None))
            else:
                out += field_changes(old[key], new[key], sub)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out += field_changes(a, b, f"{path}[{i}]")
        return out
    return [] if old == new else [(path or "(value)", old, new)]


def diff_keyed(base: dict[str, Any], head: dict[str, Any]) -> FileDiff:
    d = FileDiff(added=sorted(set(head) - set(base)), removed=sorted(set(base) - set(head)))
    for key in sorted(set(base) & set(head)):
        changes = field_changes(base[key], head[key])
        if changes:
            d.changed[key] = changes
    return d


def _load_yaml_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d] if path.exists() else []


def kubernetes_objects(path: Path) -> dict[str, Any]:
    out = {}
    for o in _load_yaml_docs(path):
        meta = o.get("metadata") or {}
        ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
        out[f"{o.get('kind')} {ns}{meta.get('name')} ({o.get('apiVersion')})"] = o
    return out


def helm_releases(path: Path) -> dict[str, Any]:
    return {f"{r['namespace']}/{r['name']}": r for r in _load_yaml_docs(path)}


def aws_resources(path: Path) -> dict[str, Any]:
    entries = json.loads(path.read_text()) if path.exists() else []
    out = {}
    for e in entries:
        inputs = dict(e["inputs"])
        for k, v in inputs.items():  # policy documents are JSON strings: compare them as objects
            if isinstance(v, str) and v.startswith("{") and '"Statement"' in v:
                inputs[k] = json.loads(v)
        out[f"{e['type']} {e['name']}"] = inputs
    return out


def plan_rows(path: Path) -> dict[str, Any]:
    """The rows of plan.md's tier table (the table whose header starts ``| tier | model |``), by tier. The cost
    summary's figures are compared through outputs.json (the ``bill`` output)."""
    if not path.exists():
        return {}
    table: list[str] = []
    for line in path.read_text().splitlines():
        if table and not line.startswith("|"):
            break
        if table or line.startswith("| tier | model |"):
            table.append(line)
    if len(table) < 2:
        return {}
    header = [c.strip() for c in table[0].strip("|").split("|")]
    rows = {}
    for line in table[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        row = dict(zip(header, cells))
        rows[f"tier {row.get('tier')}"] = row
    return rows


def stack_outputs(path: Path) -> dict[str, Any]:
    """outputs.json by output name (the ``bill`` output carries the cost summary's figures)."""
    return json.loads(path.read_text()) if path.exists() else {}


LOADERS = {"kubernetes.yaml": kubernetes_objects, "helm.yaml": helm_releases, "aws.json": aws_resources,
           "plan.md": plan_rows, "outputs.json": stack_outputs}


def diff_stack(base: Path, head: Path) -> dict[str, FileDiff]:
    return {name: diff_keyed(load(base / name), load(head / name)) for name, load in LOADERS.items()}


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def markdown(diffs: dict[str, dict[str, FileDiff]]) -> str:
    lines = ["## Render diff (offline, no cloud credentials)", ""]
    if all(d.empty for files in diffs.values() for d in files.values()):
        return "\n".join(lines + ["No change in any stack's render.", ""])
    for stack, files in sorted(diffs.items()):
        if all(d.empty for d in files.values()):
            lines += [f"### {stack}: no change", ""]
            continue
        lines += [f"### {stack}", ""]
        for name, d in files.items():
            if d.empty:
                continue
            lines.append(f"**{name}**: {len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed")
            lines += [f"- added `{k}`" for k in d.added] + [f"- removed `{k}`" for k in d.removed]
            for key, changes in d.changed.items():
                lines.append(f"- changed `{key}`")
                lines += [f"  - `{p}`: `{_short(a)}` → `{_short(b)}`" for p, a, b in changes]
            lines.append("")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="build/ folder of the base commit")
    parser.add_argument("--head", type=Path, required=True, help="build/ folder of the head commit")
    parser.add_argument("--out", type=Path, help="write the Markdown here (default: stdout)")
    args = parser.parse_args(argv)
    stacks = sorted({p.name for p in args.base.iterdir() if p.is_dir()} | {p.name for p in args.head.iterdir() if p.is_dir()})
    text = markdown({s: diff_stack(args.base / s, args.head / s) for s in stacks})
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
