"""The runtime requirements (requirements.txt: what `pulumi up` installs into the program's virtualenv, Pulumi.yaml
runtime.options.virtualenv) hold every third-party distribution the package imports and no development tool;
requirements-dev.txt adds the tools on top of them."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys

from conftest import ROOT

PKG = ROOT / "components" / "llm_tiers"
DEV_ONLY = {"pytest", "pulumi-policy", "check-jsonschema", "ruff", "setuptools", "wheel"}
# Imported only by the request guard's test corpus (llm_tiers.preview.guard_corpus, lazily): OPA's engine for the
# policy tests and the benchmark, installed from requirements-opa.txt by `make test`.
TEST_ENGINES = {"opa_bindings"}
# Imported only by the offline render (llm_tiers.preview.validate.validate_core, lazily): in the dev set.
RENDER_ONLY = {"kubernetes_validate": "kubernetes-validate"}


def _pins(path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def _third_party_imports() -> set[str]:
    found = set()
    for path in PKG.rglob("*.py"):
        if "scripts" in path.relative_to(PKG).parts:
            continue  # the scripts run in the pods' images (engine, eval), not in the program
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "llm_tiers" and m not in TEST_ENGINES
            and m not in RENDER_ONLY}


def test_the_runtime_set_has_every_distribution_the_package_imports_and_no_dev_tool():
    runtime = _pins(ROOT / "requirements.txt")
    assert not DEV_ONLY & set(runtime), f"development tools in the runtime set: {sorted(DEV_ONLY & set(runtime))}"
    dists = importlib.metadata.packages_distributions()
    # A distribution a pinned one requires (pydantic-core, pinned exactly by pydantic) is installed with it.
    required_by_pins = {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower().replace("_", "-")
                        for d in runtime for r in (importlib.metadata.requires(d) or []) if "extra ==" not in r}
    missing = {}
    for module in sorted(_third_party_imports()):
        names = {d.lower().replace("_", "-") for d in dists.get(module, [])}
        assert names, f"{module}: imported by the package but installed by no distribution"
        if not names & (set(runtime) | required_by_pins):
            missing[module] = sorted(names)
    assert not missing, f"imported by the package, not pinned in requirements.txt: {missing}"


def test_the_dev_set_is_the_runtime_set_plus_the_tools():
    text = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in text.splitlines()
    dev = _pins(ROOT / "requirements-dev.txt")
    assert DEV_ONLY <= set(dev), sorted(DEV_ONLY - set(dev))
    assert not set(dev) & set(_pins(ROOT / "requirements.txt")), "pinned twice"
    assert set(RENDER_ONLY.values()) <= set(dev)


PREFLIGHT_WITHOUT_RENDER_DEPS = r"""
import sys
sys.modules["kubernetes_validate"] = None  # as in the deploy virtualenv: importing it raises ImportError
from pathlib import Path
from llm_tiers.preview import preflight
from llm_tiers.stack.parse import parse
import json
cfg = parse(json.loads(sys.argv[1]))
print(preflight.check(cfg, Path(sys.argv[2])))
"""


def test_the_programs_preflight_runs_with_the_runtime_set_only():
    """What `pulumi preview` runs before registering anything (llm_tiers.preview.preflight.check against the pinned
    CRDs)
    needs nothing of the dev set: it validates prod's gateway objects with kubernetes-validate unimportable."""
    import json
    import os
    import subprocess

    from llm_tiers.preview import validate

    from conftest import stack_values, upstream_input

    crds = upstream_input(validate.CRD_ENV)
    out = subprocess.run([sys.executable, "-c", PREFLIGHT_WITHOUT_RENDER_DEPS, json.dumps(stack_values("prod")),
                          str(crds)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "components")})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True", out.stdout
