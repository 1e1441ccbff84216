"""Importing the library costs only what is used: ``import llm_tiers`` and a pure module import no cloud SDK (the
components load on first use, PEP 562), while ``from llm_tiers import ModelTier, ModelTierArgs`` still works and
type checkers still see every public name."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from conftest import ROOT

PKG = ROOT / "components" / "llm_tiers"
CLOUD_SDKS = ("pulumi_aws", "pulumi_kubernetes", "pulumi_random")


def _imported_by(statement: str) -> list[str]:
    """The top-level packages (of CLOUD_SDKS) a fresh interpreter has loaded after ``statement``."""
    code = (f"import json, sys\n{statement}\n"
            f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(CLOUD_SDKS)!r}))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT / "components"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.parametrize("statement", ["import llm_tiers", "import llm_tiers.tiers.capacity",
                                       "import llm_tiers.cost.prices", "import llm_tiers.versions"])
def test_a_pure_import_loads_no_cloud_sdk(statement):
    loaded = _imported_by(statement)
    assert not loaded, f"`{statement}` imported {loaded}"


def test_importing_the_config_loads_no_cloud_sdk():
    loaded = _imported_by("import llm_tiers.config")
    assert not loaded, f"`import llm_tiers.config` imported {loaded}"


def test_the_components_still_import_from_the_package():
    out = subprocess.run([sys.executable, "-c", "from llm_tiers import ModelTier, ModelTierArgs\n"
                          "import llm_tiers\nprint(ModelTier.__module__, ModelTierArgs.__module__, "
                          "all(hasattr(llm_tiers, n) for n in llm_tiers.__all__))"],
                         capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT / "components"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["llm_tiers.tiers.component", "llm_tiers.tiers.component", "True"]


def test_type_checkers_see_every_public_name_from_where_it_loads():
    """The ``if TYPE_CHECKING:`` imports name exactly ``__all__``, each from the module ``__getattr__`` loads it
    from."""
    import llm_tiers

    tree = ast.parse((PKG / "__init__.py").read_text())
    (block,) = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    declared = {a.name: n.module for n in block.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert sorted(declared) == sorted(llm_tiers.__all__)
    assert declared == {name: llm_tiers._HOMES[name] for name in llm_tiers.__all__}
    import importlib

    wrong = [name for name, home in declared.items() if getattr(importlib.import_module(home), name) is not
             getattr(llm_tiers, name)]
    assert not wrong, wrong
    with pytest.raises(AttributeError):
        getattr(llm_tiers, "Absent" + "Component")


def test_no_subpackage_init_imports_a_component_or_a_cloud_sdk():
    offenders = []
    for init in sorted(PKG.glob("*/__init__.py")):
        for node in ast.walk(ast.parse(init.read_text())):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.endswith(".component") or name.split(".")[0] in (*CLOUD_SDKS, "pulumi"):
                    offenders.append(f"{init.relative_to(ROOT)} imports {name}")
    assert not offenders, offenders
