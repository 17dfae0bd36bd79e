"""A sweep's HTML report: one chart per metric across the configurations, each point the mean
over seeds with its 95 % interval as an error bar. Self-contained (inline SVG, no script)."""

from __future__ import annotations

import html
from typing import Any

__all__ = ["render_sweep_report"]

_METRICS = (("availability", "availability", 100.0, "%"), ("p50_ms", "p50 latency", 1.0, " ms"),
            ("p99_ms", "p99 latency", 1.0, " ms"), ("failed", "failed requests", 1.0, ""),
            ("messages_lost", "messages lost", 1.0, ""), ("monthly_usd", "monthly bill", 1.0, " $"))
W, H, PAD = 640, 240, 48


def _chart(confs: list[dict[str, Any]], key: str, scale: float, unit: str) -> str:
    pts = [(i, c["metrics"].get(key)) for i, c in enumerate(confs)]
    pts = [(i, m) for i, m in pts if m is not None]
    if not pts:
        return "<p>no value</p>"
    lo = float(min(scale * (m["mean"] - (m["ci95"] or 0)) for _, m in pts))
    hi = float(max(scale * (m["mean"] + (m["ci95"] or 0)) for _, m in pts))
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    n = max(1, len(confs) - 1)

    def x(i: int) -> float:
        return PAD + (W - 2 * PAD) * (i / n if len(confs) > 1 else 0.5)

    def y(v: float) -> float:
        return H - PAD - (H - 2 * PAD) * (v - lo) / (hi - lo)

    out = [f'<svg width="{W}" height="{H}" role="img"><g font-size="11" font-family="sans-serif">',
           f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#888"/>',
           f'<text x="4" y="{y(hi) + 4:.1f}">{hi:,.4g}{html.escape(unit)}</text>',
           f'<text x="4" y="{y(lo) + 4:.1f}">{lo:,.4g}{html.escape(unit)}</text>']
    for i, m in pts:
        mean = scale * m["mean"]
        hw = scale * (m["ci95"] or 0)
        cx = x(i)
        out.append(f'<line x1="{cx:.1f}" y1="{y(mean - hw):.1f}" x2="{cx:.1f}" y2="{y(mean + hw):.1f}" '
                   'stroke="#1f77b4" stroke-width="2"/>')
        out.append(f'<circle cx="{cx:.1f}" cy="{y(mean):.1f}" r="4" fill="#1f77b4"><title>'
                   f'#{confs[i]["config"]}: {mean:,.6g}{html.escape(unit)} ± {hw:,.3g}</title></circle>')
        out.append(f'<text x="{cx:.1f}" y="{H - PAD + 16}" text-anchor="middle">#{confs[i]["config"]}</text>')
    out.append("</g></svg>")
    return "".join(out)


def render_sweep_report(summary: dict[str, Any], axes: list[str]) -> str:
    confs = summary["configurations"]
    rows = "".join(
        f"<tr><td>#{c['config']}</td>" + "".join(f"<td>{html.escape(str(c['set'][a]))}</td>" for a in axes)
        + f"<td>{c['runs']}</td></tr>" for c in confs)
    head = "".join(f"<th>{html.escape(a)}</th>" for a in axes)
    charts = "".join(f"<h2>{html.escape(title)}</h2>{_chart(confs, key, scale, unit)}"
                     for key, title, scale, unit in _METRICS)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>cloudtwin sweep</title></head><body>"
            f"<h1>Sweep: {summary['runs']} runs</h1><p>Each point is the mean over seeds; the bar is its 95 % "
            f"interval (Student's t).</p><table border='1' cellpadding='4'><tr><th>#</th>{head}<th>runs</th></tr>"
            f"{rows}</table>{charts}</body></html>\n")
