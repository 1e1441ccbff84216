"""Docstrings, comments and docs name only modules, files and console scripts that exist.

A renamed module leaves docstrings pointing at the old name, and a reader follows them into nothing. This test
reads every tracked Python file, Markdown file, workflow and the Makefile, and checks each reference it finds:

- a dotted module path under the package (``llm_tiers.preview.render``, ``python -m llm_tiers.cli.crds``) must
  import as a module, or name an attribute of one (``llm_tiers.stack.plan.replica_prices``);
- a repository path (``components/llm_tiers/cost/bill.py``, ``docs/runbook.md``, ``tests/test_bill.py``) must
  exist, as a file or a folder;
- an ``llm-tiers-*`` console script must be declared in pyproject.toml;
- nothing may name ``DESIGN.md`` (not in the repository) or the machine's shared folder.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import tomllib

from conftest import ROOT

MODULE = re.compile(r"(?<![\w./-])(llm_tiers(?:\.[A-Za-z_]\w*)+|tools\.[a-z_]+(?:\.[a-z_]+)*)")
# Paths of this repository: the package, the tests, the stacks and examples, and docs/<page>.md or
# docs/components/<page>.md (other docs/... paths in citations are upstream repositories').
PATH = re.compile(r"(?<![\w./:-])((?:components/llm_tiers|tests|stacks|examples)/[\w./<>*{}-]*[\w/>*}]"
                  r"|docs/(?:components/)?[\w.<>*{}-]+\.md)")
BARE = re.compile(r"`([a-z_]+\.py)`")
SCRIPT = re.compile(r"(?<![\w-])(llm-tiers-[a-z][a-z-]*[a-z])(?![\w-])")
FORBIDDEN = ("DESIGN.md", "../" + "shared", "/work/" + "shared")
# Placeholders and globs that stand for a family of paths, not one path.
PLACEHOLDER = re.compile(r"[<>*{}]|\.\.\.|…")
# Upstream test files cited by path (tests/e2e/..., tests/data-plane/...): another repository's.
UPSTREAM_TESTS = re.compile(r"^tests/(e2e|data-plane|integration)/")
SELF = "tests/test_references.py"


def _script_context(line: str, name: str, in_scripts_paragraph: bool) -> bool:
    """A name is used as a console script: run with arguments, from a bin/ folder, or listed as one."""
    return (in_scripts_paragraph or f"bin/{name}" in line or re.search(re.escape(name) + r" +-", line) is not None
            or "console script" in line.lower())


def _ignored(path: str) -> bool:
    """A path .gitignore names (tests/mermaid/node_modules, .crds): made by a command, so absent on a fresh clone."""
    return any(subprocess.run(["git", "check-ignore", "-q", "--no-index", candidate], cwd=ROOT).returncode == 0
               for candidate in (path, path.rstrip("/") + "/"))  # a folder pattern matches a missing path only with /


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    keep = (".py", ".md", ".yml", ".yaml", ".toml", ".mjs", ".txt", ".json")
    return [f for f in out if (f.endswith(keep) or f in ("Makefile", ".ci/run")) and "golden" not in f
            and not f.endswith("package-lock.json") and f != "models.lock.json" and f != SELF]


def _module_exists(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        if i == len(parts):
            return True
        obj = importlib.import_module(name)
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def problems_in(rel: str, text: str) -> list[str]:
    """The references in one file (``rel``, its text) that name nothing."""
    scripts = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"])
    package_files = {p.name for p in (ROOT / "components" / "llm_tiers").rglob("*.py")}
    problems: list[str] = []
    if True:
        in_scripts = False
        for n, line in enumerate(text.splitlines(), 1):
            where = f"{rel}:{n}"
            in_scripts = ("Console scripts" in line) or (in_scripts and line.strip() != "")
            for bad in FORBIDDEN:
                # .ci/run is the one file that may name the shared folder: it passes its paths to the tests
                if bad in line and not (rel == ".ci/run" and bad != "DESIGN.md"):
                    problems.append(f"{where}: names {bad}")
            for m in MODULE.findall(line):
                m = m.rstrip(".")
                if m.endswith((".py", ".md", ".json", ".yaml")) or any(len(x) == 1 for x in m.split(".")):
                    continue  # a file name, or a placeholder (llm_tiers.x.y)
                if not _module_exists(m):
                    problems.append(f"{where}: no module or attribute {m}")
            for found in PATH.finditer(line):
                p = found.group(1).rstrip(".")
                if line[:found.start()].rstrip().endswith(">"):
                    continue  # a shell redirect's target: a file the command writes
                if PLACEHOLDER.search(p) or UPSTREAM_TESTS.match(p):
                    continue
                if not ((ROOT / p).exists() or (ROOT / rel).parent.joinpath(p).exists() or _ignored(p)):
                    problems.append(f"{where}: no file {p}")
            if rel.startswith("docs/"):
                for b in BARE.findall(line):
                    if b not in package_files and not (ROOT / b).is_file():  # or a file at the top (__main__.py)
                        problems.append(f"{where}: no module file {b} in the package")
            for s in SCRIPT.findall(line):
                if _script_context(line, s, in_scripts) and s not in scripts:
                    problems.append(f"{where}: no console script {s}")
    return problems


def test_every_named_module_file_and_script_exists():
    problems = [p for rel in _tracked() for p in problems_in(rel, (ROOT / rel).read_text(errors="replace"))]
    assert not problems, "\n".join(problems)


def test_the_check_finds_what_it_should():
    text = "\n".join(["from ``tools.render`` (DESIGN.md section 3)", "see components/llm_tiers/gone.py",
                      "run `llm-tiers-nothing --write`", "llm_tiers.preview.renderer builds it",
                      "the pure `network.py` and `gpu_catalog.py`"])
    found = problems_in("docs/x.md", text)
    assert [f.split(": ", 1)[1] for f in found] == [
        "names DESIGN.md", "no module or attribute tools.render", "no file components/llm_tiers/gone.py",
        "no console script llm-tiers-nothing", "no module or attribute llm_tiers.preview.renderer",
        "no module file gpu_catalog.py in the package"]


def test_the_benchmark_of_the_render_runs():
    """llm-tiers-bench-render starts the render the way `make render` does (it ran a module that had moved)."""
    from llm_tiers.cli import bench_render

    result = bench_render.bench("dev", 1)
    assert 0 < result["program_median"] <= result["min"]
