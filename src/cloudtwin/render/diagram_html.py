"""The diagram as an HTML fragment for the report: inline SVG drawn by Graphviz's ``dot`` when it
is installed, else the Mermaid text in a ``<pre>`` (paste it into any Mermaid viewer). Nothing is
fetched: the page stays self-contained."""

from __future__ import annotations

import html
import re
from typing import Any

from cloudtwin.render.diagram import build
from cloudtwin.render.diagram_dot import DotFailed, DotMissing, render_with_dot, to_dot
from cloudtwin.render.diagram_mermaid import to_mermaid

__all__ = ["diagram_html"]

NOTE = ('<p class="note">Solid arrows: calls that wait for an answer; dashed: messages and events delivered '
        "later. A zonal component is drawn once per Availability Zone it is in.</p>")


def diagram_html(arch: Any, results: dict[str, Any] | None = None) -> str:
    d = build(arch, results)
    try:
        svg = render_with_dot(to_dot(d), "svg").decode("utf-8")
    except (DotMissing, DotFailed):
        return (NOTE + '<p class="note">Graphviz\'s <code>dot</code> is not installed, so the diagram is given as '
                f"Mermaid text:</p><pre>{html.escape(to_mermaid(d))}</pre>")
    start = svg.find("<svg")
    svg = re.sub(r"<!--.*?-->", "", svg[start:], flags=re.S) if start >= 0 else ""
    return NOTE + f'<div style="overflow:auto">{svg}</div>'
