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


def quoted(label: str) -> str:
    """A label inside Mermaid's ``["..."]``: anything but a double quote (and Markdown's backtick)."""
    return label.replace('"', "'").replace("`", "'").strip() or "-"


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


def graph(nodes: dict[str, str], edges: Iterable[tuple[str, str]], direction: str = "LR") -> str:
    """A flowchart: ``nodes`` id -> label, ``edges`` (before, after): ``after`` waits for ``before``."""
    ids = {key: f"n{i}" for i, key in enumerate(sorted(nodes))}
    lines = [f"flowchart {direction}"]
    lines += [f'    {ids[k]}["{quoted(nodes[k])}"]' for k in sorted(nodes)]
    lines += [f"    {ids[a]} --> {ids[b]}" for a, b in sorted(set(edges)) if a in ids and b in ids and a != b]
    return "\n".join(lines) + "\n"


def reduce(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The transitive reduction of an acyclic edge set: an edge a → c goes when a path a → … → c exists
    without it (the picture keeps what orders what, without every implied arrow)."""
    succ: dict[str, set[str]] = {}
    for a, b in edges:
        succ.setdefault(a, set()).add(b)

    def reachable(start: str, skip: tuple[str, str]) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            u = todo.pop()
            for v in succ.get(u, ()):
                if (u, v) != skip and v not in seen:
                    seen.add(v)
                    todo.append(v)
        return seen

    return {(a, b) for a, b in edges if b not in reachable(a, (a, b))}
