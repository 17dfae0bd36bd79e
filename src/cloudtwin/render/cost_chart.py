"""The HTML report's cost breakdown: an inline-SVG bar chart plus the items not billed.

What is modelled
----------------
One horizontal bar per component (``(network)`` for data transfer), its length
the component's monthly cost: its share of the window cost times the run's
monthly extrapolation (window x 730 h). Each bar is split into its usage types
(instance-hours, LCU-hours, ...) so the biggest line item is visible, with the
exact figures in SVG ``<title>`` tooltips and a table of line items below.
Unpriced items (no price in the table) and unmeasured ones (no byte size in the
spec) are listed under the chart, never drawn as zero-cost bars.

What is left out
----------------
No interactivity or scripts: plain SVG and HTML, self-contained, every user
string escaped with :func:`html.escape`.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["cost_section"]

W = 760
ROW_H, BAR_H, LABEL_W, VALUE_W, TOP = 26, 16, 150, 90, 8
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _usd(x: float) -> str:
    return f"${x:,.2f}" if abs(x) >= 1 or x == 0 or round(x * 100) == x * 100 else f"${x:,.4f}"


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return 0.0
    return v if v == v and abs(v) != float("inf") else 0.0


def breakdown(cost: dict[str, Any]) -> list[tuple[str, float, list[tuple[str, float]]]]:
    """``[(component, monthly USD, [(usage type, monthly USD), ...]), ...]``, largest first."""
    window = _num(cost.get("window_usd"))
    factor = _num(cost.get("monthly_usd")) / window if window > 0 else 0.0
    parts: dict[str, dict[str, float]] = {}
    for it in cost.get("items") or []:
        if isinstance(it, dict):
            comp = parts.setdefault(str(it.get("component", "?")), {})
            t = str(it.get("usage_type", "?"))
            comp[t] = comp.get(t, 0.0) + _num(it.get("usd")) * factor
    rows = [(c, sum(p.values()), sorted(p.items(), key=lambda kv: -kv[1])) for c, p in parts.items()]
    return sorted((r for r in rows if r[1] > 0), key=lambda r: -r[1])


def _svg(rows: list[tuple[str, float, list[tuple[str, float]]]], types: list[str]) -> str:
    top = max(r[1] for r in rows)
    pw = W - LABEL_W - VALUE_W
    h = TOP * 2 + ROW_H * len(rows)
    out = [f'<svg viewBox="0 0 {W} {h}" width="{W}" height="{h}" role="img" '
           'aria-label="Monthly cost by component">']
    for i, (comp, total, segs) in enumerate(rows):
        y = TOP + i * ROW_H
        out.append(f'<text x="{LABEL_W - 8}" y="{y + BAR_H - 3}" text-anchor="end">{_e(comp)}</text>')
        x = float(LABEL_W)
        for t, usd in segs:
            w = pw * usd / top
            color = PALETTE[types.index(t) % len(PALETTE)]
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{BAR_H}" fill="{color}">'
                       f"<title>{_e(comp)} {_e(t)}: {_e(_usd(usd))}/month</title></rect>")
            x += w
        out.append(f'<text x="{x + 6:.1f}" y="{y + BAR_H - 3}">{_e(_usd(total))}</text>')
    out.append("</svg>")
    return "".join(out)


def _list(title: str, entries: list[str]) -> str:
    if not entries:
        return ""
    lis = "".join(f"<li>{_e(x)}</li>" for x in entries)
    return f'<p class="note">{_e(title)}</p><ul class="note">{lis}</ul>'


def cost_section(cost: Any) -> str:
    """HTML for the report's cost section (a note when the results have no cost)."""
    if not isinstance(cost, dict) or "monthly_usd" not in cost:
        return '<p class="note">No cost in these results.</p>'
    rows = breakdown(cost)
    head = (f"<p>Monthly {_e(_usd(_num(cost.get('monthly_usd'))))}, window {_e(_usd(_num(cost.get('window_usd'))))}"
            f' <span class="note">({_e(cost.get("extrapolation", "monthly = window x 730 h"))})</span></p>')
    if rows:
        types = sorted({t for _, _, segs in rows for t, _ in segs})
        legend = "".join(f'<span><span class="sw" style="background:{PALETTE[k % len(PALETTE)]}"></span>'
                         f"{_e(t)}</span>" for k, t in enumerate(types))
        chart = (f'<div class="chart"><h3>Monthly cost by component</h3>{_svg(rows, types)}'
                 f'<div class="legend">{legend}</div></div>')
    else:
        chart = '<p class="note">Nothing priced.</p>'
    lines = "".join(
        f"<tr><td>{_e(it.get('component'))}</td><td>{_e(it.get('usage_type'))}</td>"
        f'<td class="r">{_num(it.get("quantity")):,.6g}</td><td>{_e(it.get("unit", ""))}</td>'
        f'<td class="r">{_e(_usd(_num(it.get("usd"))))}</td><td>{_e(it.get("confidence", ""))}</td>'
        f"<td>{_e(it.get('source', ''))}</td></tr>"
        for it in cost.get("items") or [] if isinstance(it, dict))
    table = ("<table><thead><tr><th>component</th><th>usage type</th><th class=\"r\">quantity</th><th>unit</th>"
             "<th class=\"r\">USD (window)</th><th>confidence</th><th>source</th></tr></thead>"
             f"<tbody>{lines}</tbody></table>") if lines else ""
    unpriced = [f"{u.get('component')} {u.get('usage_type')} x {_num(u.get('quantity')):,.6g} (no price in the table)"
                for u in cost.get("unpriced") or [] if isinstance(u, dict)]
    unmeasured = [f"{u.get('component')} {u.get('usage_type')}: {u.get('reason', '')}"
                  for u in cost.get("unmeasured") or [] if isinstance(u, dict)]
    return (head + chart + table + _list("Unpriced (not in the bill):", unpriced)
            + _list("Not measured:", unmeasured))
