"""A :class:`~cloudtwin.render.diagram.Diagram` as Mermaid flowchart text.

Groups are nested ``subgraph`` blocks; synchronous edges ``-->``, asynchronous ones ``-.->``.
Ids are ``[A-Za-z0-9_]`` with a prefix (so never a keyword such as ``end``); labels are quoted
with Mermaid's entity codes for the characters that could end them.
"""

from __future__ import annotations

from cloudtwin.render.diagram import Diagram, Group
from cloudtwin.render.diagram_style import GROUP_STYLES, NODE_COLOURS

__all__ = ["label", "to_mermaid"]

_ENTITIES = (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("|", "#124;"), ("`", "#96;"))


def label(text: str) -> str:
    """``text`` as a quoted Mermaid label, lines joined by ``<br/>``."""
    lines = []
    for ln in text.split("\n"):
        for ch, ent in _ENTITIES:
            ln = ln.replace(ch, ent)
        lines.append(ln)
    return '"' + "<br/>".join(lines) + '"'


def to_mermaid(d: Diagram) -> str:
    out = ["flowchart LR"]

    def node(nid: str, indent: str) -> None:
        n = d.nodes[nid]
        text = label("\n".join(n.lines()))
        out.append(f"{indent}{nid}([{text}])" if n.kind == "workload" else f"{indent}{nid}[{text}]")

    def group(g: Group, indent: str) -> None:
        if g.empty():
            return
        out.append(f"{indent}subgraph {g.id}[{label(g.label)}]")
        for nid in g.nodes:
            node(nid, indent + "  ")
        for sub in g.groups:
            group(sub, indent + "  ")
        out.append(f"{indent}end")

    for nid in d.root.nodes:
        node(nid, "  ")
    for g in d.root.groups:
        group(g, "  ")
    for e in d.edges:
        arrow = "-->" if e.sync else "-.->"
        out.append(f"  {e.src} {arrow}|{label(e.label)}| {e.dst}" if e.label else f"  {e.src} {arrow} {e.dst}")
    used = sorted({n.group for n in d.nodes.values()})
    for grp in used:
        out.append(f"  classDef {grp} fill:#FFFFFF,stroke:{NODE_COLOURS.get(grp, '#545B64')},stroke-width:2px")
        out.append(f"  class {','.join(n.id for n in d.nodes.values() if n.group == grp)} {grp}")
    for g in d.root.walk()[1:]:
        if not g.empty() and g.kind in GROUP_STYLES:
            colour, dashed = GROUP_STYLES[g.kind]
            out.append(f"  style {g.id} fill:none,stroke:{colour}" + (",stroke-dasharray:5 5" if dashed else ""))
    return "\n".join(out) + "\n"
