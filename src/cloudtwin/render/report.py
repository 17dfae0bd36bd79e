"""Self-contained HTML report of a results dict: summary tables plus inline-SVG charts.

What is modelled
----------------
One HTML page with inline CSS and charts drawn as inline SVG by this module,
so it opens offline: no CDN, fonts or scripts, and a Content-Security-Policy
that forbids any network fetch. Tables come from the same builders as the
terminal summary (``render/summary.py``). Charts, from ``results["series"]``:
requests/min, errors/min and p99 latency (ms) per workload, and in-service
instances per component that reports ``in_service``. Fault windows from the
timeline (``kind == "fault"``, ``t``, optional ``duration_s``) are shaded on
every chart, or drawn as a dashed line when they have no duration.

What is left out
----------------
* No interactivity (no zoom or hover beyond SVG ``<title>`` tooltips).
* Each series value is plotted at the middle of its ``step_s`` bucket; p99
  points for buckets with no requests (or ``None``/non-finite values) are gaps.
* All user strings are escaped with :func:`html.escape`; nothing is trusted.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cloudtwin.render.cost_chart import cost_section
from cloudtwin.render.summary import (
    TableData,
    as_dict,
    component_table,
    fmt_duration,
    info_lines,
    num,
    timeline_table,
    title_line,
    workload_table,
)

__all__ = ["render_report", "write_report"]

W, H = 760, 250
ML, MR, MT, MB = 64, 16, 12, 34  # plot margins
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
FAULT_FILL = "#d62728"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#555;margin:0 0 12px}table{border-collapse:collapse;margin:6px 0 4px}
th,td{padding:3px 10px;border-bottom:1px solid #ddd}th{background:#f4f4f4;text-align:left}
td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}.note{color:#777;font-size:12px}
.chart{margin:8px 0 22px}.chart h3{font-size:14px;margin:0 0 2px}svg text{font-size:11px;fill:#444}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px}
.sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

Faults = list[tuple[float, float | None, str]]
Series = list[tuple[str, list[float | None]]]


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


# ----------------------------------------------------------------- scaling
def _nice_step(span: float, target: int = 5) -> float:
    raw = span / max(1, target)
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= m * mag:
            return m * mag
    return 10.0 * mag


def _fmt_num(v: float) -> str:
    a = abs(v)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}" if a < 1 and v != 0 else f"{v:g}"


def _time_ticks(t_end: float) -> tuple[list[float], float, str]:
    """Tick positions (seconds), unit divisor and suffix for a [0, t_end] axis."""
    unit, suffix = (3600.0, "h") if t_end >= 3 * 3600 else (
        (60.0, "m") if t_end >= 180 else (1.0, "s"))
    step = _nice_step(t_end / unit) * unit
    n = int(t_end / step + 1e-9)
    return [i * step for i in range(n + 1)], unit, suffix


def _clean(values: Any, n: int) -> list[float | None]:
    out: list[float | None] = []
    for v in list(values)[:n] if isinstance(values, list) else []:
        f = num(v)
        out.append(f if f is not None and math.isfinite(f) else None)
    return out + [None] * (n - len(out))


# ------------------------------------------------------------------- chart
def _chart(title: str, t: list[float], step: float, t_end: float, series: Series,
           faults: Faults, unit_label: str) -> str:
    pw, ph = W - ML - MR, H - MT - MB
    finite = [v for _, vals in series for v in vals if v is not None]
    y_max = max(finite, default=0.0)
    y_step = _nice_step(y_max if y_max > 0 else 1.0, 4)
    y_top = y_step * max(1, math.ceil(y_max * 1.05 / y_step))

    def sx(sec: float) -> float:
        return ML + pw * min(max(sec / t_end, 0.0), 1.0)

    def sy(v: float) -> float:
        return MT + ph * (1.0 - v / y_top)

    out = [f'<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
           f'aria-label="{_e(title)}">']
    for f_start, f_dur, detail in faults:
        tip = f"<title>fault at {_e(fmt_duration(f_start))}: {_e(detail)}</title>"
        if f_dur:
            x0, x1 = sx(f_start), sx(f_start + f_dur)
            out.append(f'<rect class="fault" x="{x0:.1f}" y="{MT}" width="{max(x1 - x0, 1):.1f}" '
                       f'height="{ph}" fill="{FAULT_FILL}" fill-opacity="0.13">{tip}</rect>')
        else:
            x0 = sx(f_start)
            out.append(f'<line class="fault" x1="{x0:.1f}" y1="{MT}" x2="{x0:.1f}" '
                       f'y2="{MT + ph}" stroke="{FAULT_FILL}" stroke-dasharray="4 3">{tip}</line>')
    for i in range(round(y_top / y_step) + 1):
        tv = i * y_step
        y = sy(tv)
        out.append(f'<line x1="{ML}" y1="{y:.1f}" x2="{ML + pw}" y2="{y:.1f}" stroke="#e6e6e6"/>'
                   f'<text x="{ML - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt_num(tv)}</text>')
    ticks, unit, suffix = _time_ticks(t_end)
    for tick in ticks:
        x = sx(tick)
        out.append(f'<line x1="{x:.1f}" y1="{MT + ph}" x2="{x:.1f}" y2="{MT + ph + 4}" '
                   f'stroke="#888"/><text x="{x:.1f}" y="{MT + ph + 17}" '
                   f'text-anchor="middle">{_fmt_num(tick / unit)}{suffix}</text>')
    out.append(f'<rect x="{ML}" y="{MT}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    out.append(f'<text x="{ML - 52}" y="{MT + ph / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 {ML - 52} {MT + ph / 2:.1f})">{_e(unit_label)}</text>')
    for k, (name, vals) in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        d: list[str] = []
        pen_up = True
        for ti, v in zip(t, vals, strict=False):
            if v is None:
                pen_up = True
                continue
            d.append(f"{'M' if pen_up else 'L'}{sx(ti + step / 2):.1f} {sy(v):.1f}")
            pen_up = False
        if d:
            out.append(f'<path d="{" ".join(d)}" fill="none" stroke="{color}" '
                       f'stroke-width="1.6"><title>{_e(name)}</title></path>')
    out.append("</svg>")
    legend = "".join(
        f'<span><span class="sw" style="background:{PALETTE[k % len(PALETTE)]}"></span>'
        f"{_e(name)}</span>" for k, (name, _) in enumerate(series))
    if faults:
        legend += (f'<span><span class="sw" style="background:{FAULT_FILL};opacity:.3"></span>'
                   "fault window</span>")
    return (f'<div class="chart"><h3>{_e(title)}</h3>{"".join(out)}'
            f'<div class="legend">{legend}</div></div>')


def _faults(results: dict[str, Any]) -> Faults:
    out: Faults = []
    for e in results.get("timeline") or []:
        e = as_dict(e)
        start = num(e.get("t"))
        if e.get("kind") == "fault" and start is not None:
            dur = num(e.get("duration_s"))
            out.append((start, dur if dur and dur > 0 else None, str(e.get("detail", ""))))
    return out


def _charts(results: dict[str, Any]) -> str:
    series = as_dict(results.get("series"))
    t = [v for v in _clean(series.get("t"), len(series.get("t") or [])) if v is not None]
    if not t:
        return '<p class="note">No time series in these results.</p>'
    n = len(t)
    step = num(series.get("step_s")) or (t[1] - t[0] if n > 1 else 60.0)
    t_end = max(num(results.get("simulated_s")) or 0.0, t[-1] + step, 1.0)
    faults = _faults(results)
    wls = {str(k): as_dict(v) for k, v in as_dict(series.get("workloads")).items()}
    reqs: Series = [(k, _clean(w.get("requests"), n)) for k, w in wls.items()]
    errs: Series = [(k, _clean(w.get("errors"), n)) for k, w in wls.items()]
    p99: Series = []
    for (k, w), (_, r) in zip(wls.items(), reqs, strict=True):
        vals = _clean(w.get("p99_ms"), n)
        p99.append((k, [None if r[i] == 0 else v for i, v in enumerate(vals)]))
    inst: Series = [(str(k), _clean(c["in_service"], n))
                    for k, c in as_dict(series.get("components")).items()
                    if isinstance(c, dict) and "in_service" in c]
    per = f"per {_fmt_num(step)} s" if step != 60.0 else "per minute"
    parts = [
        _chart(f"Requests {per}", t, step, t_end, reqs, faults, "requests"),
        _chart(f"Errors {per}", t, step, t_end, errs, faults, "errors"),
        _chart(f"p99 latency {per} (ms)", t, step, t_end, p99, faults, "ms"),
    ]
    if inst:
        parts.append(_chart("In-service instances", t, step, t_end, inst, faults, "instances"))
    return "".join(parts)


# ------------------------------------------------------------------ tables
def _table(data: TableData) -> str:
    if not data.rows:
        return f'<p class="note">No {_e(data.title.lower())}.</p>'
    cls = [' class="r"' if r else "" for r in data.right]
    head = "".join(f"<th{c}>{_e(col)}</th>" for col, c in zip(data.columns, cls, strict=True))
    body = "".join(
        "<tr>" + "".join(f"<td{c}>{_e(cell)}</td>" for cell, c in zip(row, cls, strict=True))
        + "</tr>" for row in data.rows)
    note = f'<p class="note">{_e(data.note)}</p>' if data.note else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def render_report(results: dict[str, Any]) -> str:
    """The whole HTML page for ``results`` as one string."""
    spec = str(results.get("spec", "?"))
    lines = "".join(f"<p>{_e(line)}</p>" for line in info_lines(results))
    sections: Sequence[tuple[str, str]] = (
        ("Workloads", _table(workload_table(results))),
        ("Components", _table(component_table(results))),
        ("Messages, sessions and cost", lines or '<p class="note">None reported.</p>'),
        ("Cost breakdown", cost_section(results.get("cost"))),
        ("Charts", _charts(results)),
        ("Timeline", _table(timeline_table(results))),
    )
    body = "".join(f"<h2>{_e(h)}</h2>{content}" for h, content in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>cloudtwin report: {_e(spec)}</title><style>{CSS}</style></head><body>"
        f"<h1>cloudtwin report: {_e(spec)}</h1><p class=\"meta\">{_e(title_line(results))}</p>"
        f"{body}</body></html>\n"
    )


def write_report(results: dict[str, Any], path: str | Path) -> Path:
    """Write :func:`render_report` to ``path`` (UTF-8) and return the path."""
    from cloudtwin.fileio import write_atomic

    p = Path(path)
    write_atomic(p, render_report(results))
    return p
