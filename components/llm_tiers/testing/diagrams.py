"""Mermaid diagrams (GitHub renders ```` ```mermaid ```` blocks natively): critical paths as Gantt charts and a
stack's components and their edges as a graph, both from the render's captured graph.

Every diagram the project writes goes through these functions; tests/test_diagrams.py parses each one with
Mermaid's own parser (the ``mermaid`` npm package), so a comment or document never shows a broken diagram.
"""

from __future__ import annotations

import re
from typing import Iterable


def text(label: str) -> str:
    """A label Mermaid reads as plain text: no characters that end or structure a statement."""
    return re.sub(r"[:;#\"`<>{}\[\]()|]", " ", label).replace("  ", " ").strip() or "-"


def gantt(title: str, steps: Iterable[tuple[str, int]]) -> str:
    """Each step starts when the one before it ends (a critical path). Times are seconds from the start
    (``dateFormat X``), shown as hours:minutes."""
    lines = ["gantt", f"    title {text(title)}", "    dateFormat X", "    axisFormat %H:%M",
             "    section critical path"]
    start = 0
    for i, (label, seconds) in enumerate(steps, 1):
        end = start + max(int(seconds), 1)
        lines.append(f"    {text(label)} :s{i}, {start}, {end}")
        start = end
    return "\n".join(lines) + "\n"
