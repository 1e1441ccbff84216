"""Semantic diff of two offline renders (base and head of a pull request), for a PR comment.

    python -m llm_tiers.preview.render_diff --base base/build --head build [--out diff.md]

What a reviewer must see before approving, in this order: every **replacement** (a resource deleted and
created anew, and what that loses), key **rotations**, then per stack the resources added and removed (in
full) and changed (field by field; lists matched by the identity llm_tiers.preview.list_identity declares for
each of them — a container by ``name``, an engine flag by its ``--flag``, a rate-limit rule by tenant, model
and unit — never by position), plan.md rows, stack outputs and preview warnings. Long values are collapsed in
``<details>``, never cut. Resources are matched by URN (``state.json``), so a renamed Kubernetes object or a changed
identity input shows as the replacement it is. Needs no cloud credentials, so it runs on forks.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from llm_tiers.preview import list_identity
from llm_tiers.preview import inventory, merge_effects, merge_effects_markdown, replacements
from llm_tiers.preview.field_diff import field_changes

INLINE = 100  # values longer than this are shown complete inside <details>
RANDOM = "random:index/randomPassword:RandomPassword"


# ---------------------------------------------------------------------------------------------- loading


def _yaml_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d] if path.exists() else []


def label(entry: dict[str, Any]) -> str:
    inputs = entry.get("inputs") or {}
    if entry["type"].startswith("kubernetes:") and "kind" in inputs:
        meta = inputs.get("metadata") or {}
        ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
        return f"{inputs['kind']} {ns}{meta.get('name')}"
    if entry["type"] == "kubernetes:helm.sh/v3:Release":
        return f"Helm release {inputs.get('namespace', 'default')}/{inputs.get('name', entry['name'])}"
    return f"{entry['type'].split(':')[-1]} {entry['name']}"


def load_state(build: Path) -> dict[str, dict[str, Any]]:
    """Resources by URN from state.json; a build without it (made before state.json existed) falls back to
    aws.json and kubernetes.yaml, keyed by type and name."""
    path = build / "state.json"
    if path.exists():
        return {e["urn"]: e for e in json.loads(path.read_text())}
    out: dict[str, dict[str, Any]] = {}
    for e in json.loads((build / "aws.json").read_text()) if (build / "aws.json").exists() else []:
        out[f"{e['type']}::{e['name']}"] = {"type": e["type"], "name": e["name"], "inputs": e["inputs"]}
    for o in _yaml_docs(build / "kubernetes.yaml"):
        meta = o.get("metadata") or {}
        key = f"k8s::{o.get('apiVersion')}::{o.get('kind')}::{meta.get('namespace', '')}::{meta.get('name')}"
        out[key] = {"type": "kubernetes:", "name": meta.get("name"), "inputs": o}
    return out


def plan_tables(path: Path) -> dict[str, dict[str, Any]]:
    """Every table of plan.md, row by row, keyed by its section and first cell."""
    rows: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return rows
    section, header = "", []  # type: ignore[var-annotated]
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            section = line.lstrip("# ").strip()
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not header:
            header = cells
        elif not set(line) <= set("|-: "):
            row = dict(zip(header, cells))
            rows[f"{section}: {header[0]} {cells[0]}"] = row
    return rows


def warnings(path: Path) -> list[str]:
    if not path.exists():
        return []
    text = path.read_text()
    if "## Warnings" not in text:
        return []
    body = text.split("## Warnings", 1)[1].split("\n## ", 1)[0]
    return [line[2:] for line in body.splitlines() if line.startswith("- ")]


def outputs(build: Path) -> dict[str, Any]:
    path = build / "outputs.json"
    return json.loads(path.read_text()) if path.exists() else {}


# ---------------------------------------------------------------------------------------------- diff


@dataclass
class Change:
    label: str
    type: str
    changes: list[tuple[str, Any, Any]]
    replaced_by: list[str] = field(default_factory=list)
    loses: str = ""
    new_id: Optional[tuple[Any, Any]] = None


@dataclass
class StackDiff:
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    plan: dict[str, list[tuple[str, Any, Any]]] = field(default_factory=dict)
    plan_added: list[str] = field(default_factory=list)
    plan_removed: list[str] = field(default_factory=list)
    outputs: list[tuple[str, Any, Any]] = field(default_factory=list)
    warnings_added: list[str] = field(default_factory=list)
    warnings_removed: list[str] = field(default_factory=list)
    existing: set[str] = field(default_factory=set)
    """Labels of the resources in both renders."""
    bills: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    """The ``bill`` stack output of base and head (the cost summary's figures)."""
    effects: Optional[merge_effects.Effects] = None
    """What merging does to the running stack (rollouts, replacements' gaps, Jobs, awaits, manual steps)."""

    def cost_lines(self) -> list[str]:
        """$/month at replicas.min and .max, for the stack and each tier release, before → after."""
        old, new = self.bills
        if not (old or new) or old == new:
            return []

        def money(b: dict[str, Any], key: str) -> str:
            v = (b.get("total") or {}).get(key)
            return f"${v:,.2f}" if isinstance(v, (int, float)) else "—"

        lines = [f"**Cost** ($/month, {new.get('region') or old.get('region', '')}): at min "
                 f"{money(old, 'usdPerMonthMin')} → "
                 f"{money(new, 'usdPerMonthMin')}, at max {money(old, 'usdPerMonthMax')} → "
                 f"{money(new, 'usdPerMonthMax')}"]
        tiers_old = {(t["tier"], t.get("release")): t for t in old.get("tiers") or []}
        tiers_new = {(t["tier"], t.get("release")): t for t in new.get("tiers") or []}
        for key in sorted(set(tiers_old) | set(tiers_new), key=str):
            a, b = tiers_old.get(key, {}), tiers_new.get(key, {})
            pair = lambda k: (f"${a[k]:,.2f}" if k in a else "—", f"${b[k]:,.2f}" if k in b else "—")  # noqa: E731
            if (a.get("usdPerMonthMin"), a.get("usdPerMonthMax")) != (b.get("usdPerMonthMin"), b.get("usdPerMonthMax")):
                (mn_a, mn_b), (mx_a, mx_b) = pair("usdPerMonthMin"), pair("usdPerMonthMax")
                lines.append(f"- {key[0]} ({key[1] or 'live'}): min {mn_a} → {mn_b}, max {mx_a} → {mx_b}")
        return lines + [""]

    @property
    def replacements(self) -> list[Change]:
        return [c for c in self.changed if c.replaced_by]

    @property
    def deleted_state(self) -> list[tuple[str, str, bool]]:
        """Removed resources that hold data (preview/inventory.py STATEFUL), as (label, what is lost, protected):
        a protected one stops the update instead. Generated keys are told as rotations."""
        return [(label(e), inventory.STATEFUL[e["type"]], bool(e.get("protect"))) for e in self.removed
                if e["type"] in inventory.STATEFUL and e["type"] != RANDOM]

    @property
    def rotations(self) -> list[str]:
        """A tenant's key generator regenerated, or its second generator added for an existing tenant (each
        tenant's two generators, ``<tenant>`` and ``<tenant>-b``, take turns; the old key stays valid as
        ``<tenant>-previous`` until ``dropPreviousKey``)."""
        out = []
        regenerated = [c.label for c in self.replacements if c.type == RANDOM]
        added = [label(e) for e in self.added if e["type"] == RANDOM]
        removed = {label(e) for e in self.removed if e["type"] == RANDOM}
        for name in regenerated + added:
            m = re.match(r"RandomPassword (.*?-tenant-)(.+?)(-b)?$", name)
            if not m:
                out.append(f"regenerates {name}")
            elif name in regenerated or f"RandomPassword {m.group(1)}{m.group(2)}" in self.existing:
                text = f"rotates the key of tenant {m.group(2)}"
                if text not in out:
                    out.append(text)
        for name in sorted(removed):
            m = re.match(r"RandomPassword .*?-tenant-(.+?)-b$", name)
            if m:
                out.append(f"drops the previous key of tenant {m.group(1)}")
        return out

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.plan or self.plan_added or self.plan_removed
                    or self.outputs or self.warnings_added or self.warnings_removed)


def diff_stack(base: Path, head: Path) -> StackDiff:
    old, new = load_state(base), load_state(head)
    d = StackDiff(added=[new[k] for k in sorted(set(new) - set(old))],
                  removed=[old[k] for k in sorted(set(old) - set(new))])
    d.existing = {label(old[k]) for k in set(old) & set(new)}
    for key in sorted(set(old) & set(new)):
        a, b = old[key], new[key]
        changes = field_changes(a.get("inputs"), b.get("inputs"), kind=list_identity.kind_of(b))
        id_changed = a.get("id") != b.get("id") and "id" in a and "id" in b
        if not changes and not id_changed:
            continue
        paths = [p for p, _, _ in changes]
        forced = replacements.replaced_by(b["type"], b.get("inputs") or {}, paths, b.get("replaceOnChanges"))
        if id_changed and not forced and b["type"].startswith("aws:"):
            forced = ["(identity)"]
        d.changed.append(Change(label(b), b["type"], changes, forced,
                                replacements.loses(b["type"], b.get("inputs") or {}) if forced else "",
                                (a.get("id"), b.get("id")) if id_changed else None))
    pa, pb = plan_tables(base / "plan.md"), plan_tables(head / "plan.md")
    d.plan_added, d.plan_removed = sorted(set(pb) - set(pa)), sorted(set(pa) - set(pb))
    for key in sorted(set(pa) & set(pb)):
        changes = field_changes(pa[key], pb[key])
        if changes:
            d.plan[key] = changes
    d.outputs = field_changes(outputs(base), outputs(head), kind="outputs")
    d.bills = (outputs(base).get("bill") or {}, outputs(head).get("bill") or {})
    wa, wb = warnings(base / "plan.md"), warnings(head / "plan.md")
    d.warnings_added, d.warnings_removed = [w for w in wb if w not in wa], [w for w in wa if w not in wb]
    d.effects = merge_effects.effects(d, base, head)
    return d


# ---------------------------------------------------------------------------------------------- markdown


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _value_line(path: str, a: Any, b: Any) -> list[str]:
    ta, tb = ("(none)" if a is None else _text(a)), ("(none)" if b is None else _text(b))
    if len(ta) <= INLINE and len(tb) <= INLINE and "\n" not in ta + tb:
        if a is None or b is None:
            return [f"  - `{path}` {'added' if a is None else 'removed'}: `{tb if a is None else ta}`"]
        return [f"  - `{path}`: `{ta}` → `{tb}`"]
    if a is None or b is None:  # an element (or key) added or removed: shown complete, never "changed"
        verb, text, sign = ("added", tb, "+") if a is None else ("removed", ta, "-")
        return [f"  - `{path}` {verb}:", f"    <details><summary>{verb} (complete)</summary>", "",
                "    ```", *[f"    {sign} {line}" for line in text.splitlines()], "    ```", "    </details>"]
    return [f"  - `{path}` changed:", "    <details><summary>old → new (complete)</summary>", "",
            "    ```", *[f"    - {line}" for line in ta.splitlines()], *[f"    + {line}" for line in tb.splitlines()],
            "    ```", "    </details>"]


def _full(entry: dict[str, Any], verb: str) -> list[str]:
    body = yaml.safe_dump(entry.get("inputs") or {}, sort_keys=False, width=120).rstrip()
    return [f"<details><summary>{verb} <code>{label(entry)}</code></summary>", "", "```yaml", body, "```", "",
            "</details>"]


def stack_markdown(stack: str, d: StackDiff) -> list[str]:
    if d.empty:
        return [f"### {stack}: no change", ""]
    lines = [f"### {stack}", "", *d.cost_lines()]
    replaced = [c for c in d.replacements if c.type != "random:index/randomPassword:RandomPassword"]
    if replaced:
        lines += ["**⚠ Replaced** (deleted and created anew):", ""]
        for c in replaced:
            why = ", ".join(f"`{p}`" for p in dict.fromkeys(re.sub(r"\[[^\]]*\]$", "", p) for p in c.replaced_by))
            lines.append(f"- `{c.label}` — by {why}; loses {c.loses}")
        lines.append("")
    if d.deleted_state:
        lines += ["**⚠ Deleted, with its data**:", ""]
        for name, lost, protected in d.deleted_state:
            lines.append(f"- `{name}` — loses {lost}" + ("; protected: the update stops until it is unprotected "
                                                         "(`pulumi state unprotect`)" if protected else ""))
        lines.append("")
    if d.rotations:
        lines += ["**Rotations**: " + "; ".join(d.rotations), ""]
    if d.added:
        lines += [f"**Added** ({len(d.added)}):", ""]
        for e in d.added:
            lines += _full(e, "added")
        lines.append("")
    if d.removed:
        lines += [f"**Removed** ({len(d.removed)}):", ""]
        for e in d.removed:
            lines += _full(e, "removed")
        lines.append("")
    updated = [c for c in d.changed if c.type != "random:index/randomPassword:RandomPassword"]
    if updated:
        lines += [f"**Changed** ({len(updated)}):", ""]
        for c in updated:
            lines.append(f"- `{c.label}`" + (" (replaced)" if c.replaced_by else ""))
            if c.new_id:
                lines.append(f"  - ID: `{c.new_id[0]}` → `{c.new_id[1]}`")
            for p, a, b in c.changes:
                lines += _value_line(p, a, b)
        lines.append("")
    if d.plan or d.plan_added or d.plan_removed:
        lines += ["**plan.md**:", ""]
        lines += [f"- added row `{k}`" for k in d.plan_added] + [f"- removed row `{k}`" for k in d.plan_removed]
        for key, changes in d.plan.items():
            lines.append(f"- `{key}`")
            for p, a, b in changes:
                lines += _value_line(p, a, b)
        lines.append("")
    if d.outputs:
        lines += ["**Stack outputs**:", ""]
        for p, a, b in d.outputs:
            lines += _value_line(p, a, b)
        lines.append("")
    if d.warnings_added or d.warnings_removed:
        lines += ["**Preview warnings**:", ""]
        lines += [f"- new: {w}" for w in d.warnings_added] + [f"- gone: {w}" for w in d.warnings_removed]
        lines.append("")
    return lines


RELATION = ("Computed offline from both commits' renders (no credentials, so forks get it too). The **Pulumi "
            "preview** comment of each stack (PRs from this repository's branches) is the engine's own diff "
            "against the stack's recorded state and its policy results: it decides. This comment explains it: "
            "what each change does to running traffic, why, for how long, and at what cost.")


def markdown(diffs: dict[str, StackDiff]) -> str:
    lines = ["## Render diff (offline, no cloud credentials)", "", RELATION, ""]
    if all(d.empty for d in diffs.values()):
        return "\n".join(lines + ["No change in any stack's render.", ""])
    replaced = [(s, c) for s, d in sorted(diffs.items()) for c in d.replacements
                if c.type != "random:index/randomPassword:RandomPassword"]
    rotations = [(s, r) for s, d in sorted(diffs.items()) for r in d.rotations]
    if replaced:
        lines += [f"> **⚠ {len(replaced)} replacement(s)**: " + "; ".join(f"{s}: `{c.label}`" for s, c in replaced), ""]
    deleted = [(s, name) for s, d in sorted(diffs.items()) for name, _, _ in d.deleted_state]
    if deleted:
        lines += [f"> **⚠ {len(deleted)} deletion(s) with data**: " + "; ".join(f"{s}: `{n}`" for s, n in deleted),
                  ""]
    if rotations:
        lines += ["> **Key rotation**: " + "; ".join(f"{s}: {r}" for s, r in rotations), ""]
    costs = [(s, d.cost_lines()[0]) for s, d in sorted(diffs.items()) if d.cost_lines()]
    if costs:
        lines += ["> " + "  \n> ".join(f"{s}: {line.replace('**Cost** ', 'cost ')}" for s, line in costs), ""]
    lines += ["### What happens when you merge", ""]
    for stack, d in sorted(diffs.items()):
        if not d.empty and d.effects is not None:
            lines += merge_effects_markdown.markdown(stack, d.effects)
    lines += ["### Changes", ""]
    for stack, d in sorted(diffs.items()):
        lines += stack_markdown(stack, d)
    return "\n".join(lines).rstrip() + "\n"


BUILD_FILES = ("state.json", "aws.json", "plan.md")


def stack_builds(build: Path) -> set[str]:
    """The stacks rendered into ``build``: folders holding a render's files. Anything else there (a wheel
    build's ``lib`` and ``bdist.*``, ``examples``) is not a stack."""
    if not build.is_dir():
        return set()
    return {p.name for p in build.iterdir() if p.is_dir() and any((p / f).exists() for f in BUILD_FILES)}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="build/ folder of the base commit")
    parser.add_argument("--head", type=Path, required=True, help="build/ folder of the head commit")
    parser.add_argument("--out", type=Path, help="write the Markdown here (default: stdout)")
    args = parser.parse_args(argv)
    stacks = sorted(stack_builds(args.base) | stack_builds(args.head))
    text = markdown({s: diff_stack(args.base / s, args.head / s) for s in stacks})
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
