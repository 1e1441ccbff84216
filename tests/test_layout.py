"""The package's layout: no module of components/llm_tiers over MAX_LINES lines (a module that long holds more than
one responsibility; split it by what its parts do into sibling modules)."""

from __future__ import annotations

from conftest import ROOT

PKG = ROOT / "components" / "llm_tiers"
MAX_LINES = 400


def _lines() -> dict[str, int]:
    return {p.relative_to(PKG).as_posix(): len(p.read_text().splitlines()) for p in sorted(PKG.rglob("*.py"))}


def test_no_module_is_over_the_line_limit():
    offenders = {name: n for name, n in _lines().items() if n > MAX_LINES}
    assert not offenders, "modules over %d lines (split them by responsibility): %s" % (
        MAX_LINES, ", ".join(f"{name} ({n})" for name, n in sorted(offenders.items(), key=lambda kv: -kv[1])))
