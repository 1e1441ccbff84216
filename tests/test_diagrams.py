"""Every Mermaid diagram the project generates parses with Mermaid's own parser (the ``mermaid`` npm package,
run by node under jsdom: tests/mermaid/parse.mjs), so a PR comment, rollout.md or the README never shows a
broken diagram: rollout.md's first-deploy Gantt chart and component graph of every stack, the README's and
the docs' diagrams, and the render-diff goldens' "this update" Gantt charts.

The parser is installed from tests/mermaid/package-lock.json (``npm ci``) into tests/mermaid/node_modules the
first time. Without node and npm the test skips and says so; under CI (``CI`` set; .ci/run installs Debian's
nodejs and npm) it fails instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, STACKS
from llm_tiers.preview import diagrams, rollout, rollout_markdown

MERMAID_DIR = ROOT / "tests" / "mermaid"
BLOCK = re.compile(r"```mermaid\n(.*?)```", re.S)


@pytest.fixture(scope="session")
def mermaid_parse():
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        if os.environ.get("CI"):
            pytest.fail("node/npm missing in CI: .ci/run installs Debian's nodejs and npm")
        pytest.skip("node and npm are not installed: Mermaid diagrams are NOT checked (apt-get install nodejs npm)")
    if not (MERMAID_DIR / "node_modules" / "mermaid" / "package.json").exists():
        out = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=MERMAID_DIR,
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, f"npm ci in {MERMAID_DIR} failed:\n{out.stdout}\n{out.stderr}"

    def parse(named: dict[str, str]) -> dict[str, dict]:
        payload = json.dumps([{"name": k, "text": v} for k, v in named.items()])
        out = subprocess.run([node, "parse.mjs"], cwd=MERMAID_DIR, input=payload, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr
        return {r["name"]: r for r in json.loads(out.stdout)}

    return parse


def _gantt_is_a_chain(text: str) -> None:
    """The parser accepts any dates; our charts must be a chain: each task starts when the one before ends."""
    tasks = re.findall(r":s(\d+), (\d+), (\d+)$", text, re.M)
    assert tasks, text
    end = 0
    for i, (n, start, stop) in enumerate(tasks, 1):
        assert int(n) == i and int(start) == end and int(stop) > int(start), text
        end = int(stop)


def test_the_parser_can_fail(mermaid_parse):
    results = mermaid_parse({"good": "flowchart LR\n    a --> b\n", "broken": 'flowchart LR\n    a["x -->\n'})
    assert results["good"]["ok"] and not results["broken"]["ok"]


def test_every_generated_diagram_parses(mermaid_parse, rendered):
    named: dict[str, str] = {}
    for stack in STACKS:
        plan = rollout.plan(stack, rendered(stack).recording)
        named[f"{stack} first deploy"] = rollout_markdown.first_deploy_gantt(plan)
        named[f"{stack} components"] = rollout_markdown.component_graph(plan)
        assert len(plan.components) >= 8 and plan.component_edges, stack
        _gantt_is_a_chain(named[f"{stack} first deploy"])
        # rollout.md carries both, as written
        text = rollout_markdown.to_markdown(plan)
        assert named[f"{stack} first deploy"] in text and named[f"{stack} components"] in text
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),
                 *sorted((ROOT / "tests" / "golden").rglob("*.md"))]:
        for i, block in enumerate(BLOCK.findall(path.read_text())):
            named[f"{path.relative_to(ROOT)} #{i + 1}"] = block
            if block.startswith("gantt"):
                _gantt_is_a_chain(block)
    assert any(k.startswith("README.md") for k in named), "README's architecture diagram is missing"
    assert any(k.startswith("tests/golden") for k in named), "no render-diff golden has an update Gantt chart"
    results = mermaid_parse(named)
    broken = {k: r["error"] for k, r in results.items() if not r["ok"]}
    assert not broken, json.dumps(broken, indent=1)


def test_labels_cannot_break_a_diagram(mermaid_parse):
    nasty = 'Deployment ns/a:b; #c "d" [e] (f) {g} <h> `i` |j|'
    named = {"gantt": diagrams.gantt(nasty, [(nasty, 5), ("next", 1)]),
             "graph": diagrams.graph({"a": nasty, "b": "other"}, [("a", "b")])}
    results = mermaid_parse(named)
    assert all(r["ok"] for r in results.values()), results


def test_the_readme_diagram_is_current():
    from llm_tiers.cli import architecture_doc

    assert architecture_doc.main(["--check"]) == 0, "run `make architecture-doc`"
