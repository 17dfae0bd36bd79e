"""A :class:`~cloudtwin.render.diagram.Diagram` as Graphviz DOT text, and DOT drawn by ``dot``.

Groups are nested ``cluster_`` subgraphs; synchronous edges solid, asynchronous ones dashed.
Every id is ``[A-Za-z0-9_]`` and every label a quoted, escaped string, so no component name
can break the syntax. :func:`render_with_dot` runs the ``dot`` program (Debian package
``graphviz``) for SVG or PNG; :class:`DotMissing` says when it is not installed.
"""

from __future__ import annotations

import shutil
import subprocess

from cloudtwin.render.diagram import Diagram, Group
from cloudtwin.render.diagram_style import GROUP_STYLES, node_colour

__all__ = ["DotFailed", "DotMissing", "quote", "render_with_dot", "to_dot"]

DOT_TIMEOUT = 60.0  # seconds


class DotMissing(RuntimeError):
    """The ``dot`` program is not on PATH."""


class DotFailed(RuntimeError):
    """``dot`` ran and failed (its first line of stderr)."""


def quote(text: str) -> str:
    """``text`` as a DOT quoted string (lines joined by ``\\n``)."""
    lines = [ln.replace("\\", "\\\\").replace('"', '\\"') for ln in text.split("\n")]
    return '"' + "\\n".join(lines) + '"'


def to_dot(d: Diagram) -> str:
    out = [f"digraph {quote(d.name)} {{",
           "  graph [rankdir=LR, compound=true, fontname=\"Helvetica\", fontsize=11, nodesep=0.35, ranksep=0.7];",
           "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#FFFFFF\", fontname=\"Helvetica\", fontsize=10];",
           "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#545B64\"];"]

    def node(nid: str, indent: str) -> None:
        n = d.nodes[nid]
        out.append(f"{indent}{nid} [label={quote(chr(10).join(n.lines()))}, color=\"{node_colour(n.group)}\""
                   + (", shape=oval" if n.kind == "workload" else "") + "];")

    def group(g: Group, indent: str) -> None:
        if g.empty():
            return
        colour, dashed = GROUP_STYLES.get(g.kind, ("#545B64", False))
        out.append(f"{indent}subgraph cluster_{g.id} {{")
        out.append(f"{indent}  label={quote(g.label)}; labeljust=l; color=\"{colour}\"; fontcolor=\"{colour}\"; "
                   f"style=\"{'dashed' if dashed else 'solid'}\";")
        for nid in g.nodes:
            node(nid, indent + "  ")
        for sub in g.groups:
            group(sub, indent + "  ")
        out.append(f"{indent}}}")

    for nid in d.root.nodes:
        node(nid, "  ")
    for g in d.root.groups:
        group(g, "  ")
    for e in d.edges:
        attrs = [f"label={quote(e.label)}"] if e.label else []
        if not e.sync:
            attrs.append("style=dashed")
        out.append(f"  {e.src} -> {e.dst}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"


def render_with_dot(dot_text: str, fmt: str) -> bytes:
    """``dot_text`` drawn as ``fmt`` (``svg`` or ``png``) by the ``dot`` program."""
    exe = shutil.which("dot")
    if exe is None:
        raise DotMissing(f"drawing {fmt.upper()} needs Graphviz's `dot` program, which is not on PATH: "
                         "install graphviz (e.g. apt-get install graphviz), or write .mmd or .dot")
    try:
        p = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True,
                           timeout=DOT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DotFailed(f"dot: {exc}") from None
    if p.returncode != 0:
        first = (p.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[0]
        raise DotFailed(f"dot exited {p.returncode}: {first}")
    return p.stdout
