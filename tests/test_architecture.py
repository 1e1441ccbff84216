"""The package's layers, read from its imports (static, every ``import`` in every module, lazy ones included):
no cycle between its packages, and ``llm_tiers.config`` (the stack file's data) imports no domain package, so the
rules live beside the domains they protect and the stack layer is the only one that knows a whole stack."""

from __future__ import annotations

import ast
from pathlib import Path


PACKAGE = Path(__file__).resolve().parents[1] / "components" / "llm_tiers"


def unit(module: str) -> str:
    """``llm_tiers.gateway.aigw`` -> ``gateway``; ``llm_tiers.naming`` -> ``naming``; ``llm_tiers`` -> ``(root)``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(root)"


def import_graph(package: Path = PACKAGE) -> dict[str, dict[str, set[str]]]:
    """unit -> unit it imports -> the files that do."""
    units = {p.stem if p.is_file() else p.name for p in package.iterdir()
             if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem != "__init__")}
    edges: dict[str, dict[str, set[str]]] = {}
    for f in package.rglob("*.py"):
        rel = f.relative_to(package.parent).with_suffix("")
        src = unit(".".join(p for p in rel.parts if p != "__init__"))
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for target in targets:
                if not target.startswith("llm_tiers."):
                    continue
                dest = unit(target)
                if dest != src and dest in units:
                    edges.setdefault(src, {}).setdefault(dest, set()).add(str(f.relative_to(package)))
    return edges


def cycles(edges: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted({*edges, *(d for ds in edges.values() for d in ds)}):
        if v not in index:
            visit(v)
    return found


def describe(edges: dict[str, dict[str, set[str]]], comp: list[str]) -> str:
    return "\n".join(f"  {a} -> {b}: {', '.join(sorted(edges[a][b]))}" for a in comp for b in comp
                     if b in edges.get(a, {}))




def test_no_package_cycle():
    edges = import_graph()
    found = cycles(edges)
    assert not found, "package cycles:\n" + "\n\n".join(describe(edges, c) for c in found)


def test_config_is_data_only():
    """config imports only the pins (versions) besides itself: no domain, no stack, no Pulumi."""
    edges = import_graph()
    assert set(edges.get("config", {})) <= {"versions"}, edges.get("config")
    for f in (PACKAGE / "config").rglob("*.py"):
        names = {a.name.split(".")[0] for n in ast.walk(ast.parse(f.read_text())) if isinstance(n, ast.Import)
                 for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(ast.parse(f.read_text()))
                  if isinstance(n, ast.ImportFrom) and n.module}
        assert not names & {"pulumi", "pulumi_aws", "pulumi_kubernetes", "pulumi_random"}, f


def test_the_cycle_check_can_fail():
    edges = {"a": {"b": {"a.py"}}, "b": {"c": {"b.py"}}, "c": {"a": {"c.py"}}, "d": {"a": {"d.py"}}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b": {"a.py"}}}) == []
