"""Self-contained HTML report of a results dict: tables, interactive time series, the
latency distribution, the cost breakdown, the review findings and the whole timeline.

What is modelled
----------------
One HTML file that fetches nothing when viewed: inline CSS, the chart data as a JSON
block, and one small inline script (``report.js``, a few kB, written for this report)
that draws the time series as SVG. A Content-Security-Policy meta forbids every fetch
and runs only that script (by its hash). Tables come from the same builders as the
terminal summary (``render/summary.py``), so both show the same numbers.

Charts, from ``results["series"]`` (docs/report.md):

* per workload: requests and errors per minute, latency percentiles (p50, p90, p99)
  per minute; and its latency distribution over the run (``latency_histograms``);
* per component, one chart per unit: instances in service and desired, utilisation,
  queue depth and in flight (a DLQ's depth is its growth), concurrency, throttles,
  hit ratio, iterator age, consumed capacity...

Every time series is drawn as steps that say how it was sampled
(``series["sampling"]``): an aggregate over a minute covers that minute, a level read at
the end of a minute holds from that instant to the next reading, so a fault at 0:10:00
shows at 0:10:00 on every chart. Fault windows (timeline ``fault``) and load spikes and
ramps (timeline ``load``) are shaded on every time series. Hover shows the values under
the cursor; dragging across a chart zooms every chart to that span.

What is left out
----------------
* Without JavaScript the time series are not drawn (everything else is plain HTML/SVG).
* The architecture diagram (no ``cloudtwin diagram`` yet).
* All user strings are escaped with :func:`html.escape`, and ``<``, ``>`` and ``&`` in the
  JSON block as ``\\u003c``...; the script builds no markup from user strings.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from cloudtwin.render.cost_chart import cost_section
from cloudtwin.render.formats import as_dict, num
from cloudtwin.render.summary import (
    TableData,
    component_table,
    fmt_duration,
    fmt_int,
    info_lines,
    timeline_table,
    title_line,
    workload_table,
)

__all__ = ["SCRIPT", "render_report", "write_report"]

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
SCRIPT = resources.files("cloudtwin.render").joinpath("report.js").read_text(encoding="utf-8")
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
CSP = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{_SCRIPT_HASH}'"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:30px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:14px;margin:0 0 2px}nav a{margin-right:12px}
.meta{color:#555;margin:0 0 8px}table{border-collapse:collapse;margin:6px 0 4px}
th,td{padding:3px 10px;border-bottom:1px solid #ddd;vertical-align:top}th{background:#f4f4f4;text-align:left}
td.r,th.r{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.note{color:#666;font-size:12px}
.chart{margin:8px 0 20px}svg text{font-size:11px;fill:#444}.ts svg{cursor:crosshair;user-select:none}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px}
.sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px}
.ts path{fill:none;stroke-width:1.6}.grid{stroke:#e6e6e6}.frame{fill:none;stroke:#888}
rect.fault{fill:#d62728;fill-opacity:.13}line.fault{stroke:#d62728;stroke-dasharray:4 3}
rect.load{fill:#f2a134;fill-opacity:.2}line.load{stroke:#f2a134;stroke-dasharray:4 3}
.cursor{stroke:#555;stroke-dasharray:2 2}.sel{fill:#4e79a7;fill-opacity:.18}
#tip{position:absolute;display:none;background:#fff;border:1px solid #bbb;padding:4px 8px;font-size:12px;
pointer-events:none;box-shadow:0 2px 6px #0002;white-space:nowrap}
.sev-high{color:#b00020;font-weight:600}.sev-medium{color:#b36b00}.tools{margin:4px 0 8px}
"""

# component metric -> (unit of its chart, scale to that unit, suffix of a value)
UNITS: dict[str, tuple[str, float, str]] = {
    "in_service": ("instances", 1, ""), "desired": ("instances", 1, ""), "running": ("tasks", 1, ""),
    "utilization": ("utilisation (%)", 100, "%"), "hit_ratio": ("hit ratio (%)", 100, "%"),
    "visible": ("messages", 1, ""), "in_flight": ("messages", 1, ""),
    "backlog_per_task": ("messages per task", 1, ""), "concurrency": ("concurrent executions", 1, ""),
    "throttles": ("throttled per minute", 1, ""), "throttled": ("throttled per minute", 1, ""),
    "records_in": ("records per minute", 1, ""), "objects": ("objects per minute", 1, ""),
    "iterator_age_s": ("iterator age (s)", 1, " s"), "healthy_targets": ("healthy targets", 1, ""),
    "consumed_rcu_per_s": ("consumed capacity units/s", 1, ""),
    "consumed_wcu_per_s": ("consumed capacity units/s", 1, ""),
}


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _clean(values: Any, n: int) -> list[float | None]:
    out: list[float | None] = []
    for v in list(values)[:n] if isinstance(values, list) else []:
        f = num(v)
        out.append(f if f is not None and math.isfinite(f) else None)
    return out + [None] * (n - len(out))


def _legend(names: Sequence[str], shades: list[dict[str, Any]]) -> str:
    out = "".join(f'<span><span class="sw" style="background:{PALETTE[k % len(PALETTE)]}"></span>{_e(n)}</span>'
                  for k, n in enumerate(names))
    kinds = {s["kind"] for s in shades}
    if "fault" in kinds:
        out += '<span><span class="sw" style="background:#d62728;opacity:.3"></span>fault window</span>'
    if "load" in kinds:
        out += '<span><span class="sw" style="background:#f2a134;opacity:.4"></span>load spike or ramp</span>'
    return f'<div class="legend">{out}</div>'


# ------------------------------------------------------------------ series
def _series_data(results: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]] | None:
    """The JSON the script draws, and ``[(section heading, chart containers HTML)]``."""
    series = as_dict(results.get("series"))
    t = [v for v in _clean(series.get("t"), len(series.get("t") or [])) if v is not None]
    if not t:
        return None
    n = len(t)
    step = num(series.get("step_s")) or (t[1] - t[0] if n > 1 else 60.0)
    end = max(num(results.get("simulated_s")) or 0.0, t[-1] + step, 1.0)
    sampling = {str(k): str(v) for k, v in as_dict(series.get("sampling")).items()}
    shades = []
    for e in results.get("timeline") or []:
        e = as_dict(e)
        start = num(e.get("t"))
        if e.get("kind") in ("fault", "load") and start is not None:
            dur = num(e.get("duration_s"))
            shades.append({"a": start, "b": start + dur if dur and dur > 0 else None,
                           "kind": e["kind"], "label": f"{fmt_duration(start)} {e.get('detail', '')}"})
    charts: list[dict[str, Any]] = []
    per = "per minute" if step == 60.0 else f"per {step:g} s"

    def chart(title: str, names: Sequence[str], metrics: Sequence[str], values: Sequence[list[float | None]],
              scale: float = 1.0, suffix: str = "") -> str:
        kept = [(nm, m, v) for nm, m, v in zip(names, metrics, values, strict=True)
                if any(x is not None for x in v)]
        if not kept:
            return ""
        charts.append({"title": title, "scale": scale, "suffix": suffix, "series": [
            {"name": nm, "kind": sampling.get(m, "mean"), "v": v} for nm, m, v in kept]})
        i = len(charts) - 1
        return (f'<div class="chart ts" data-i="{i}"><h3>{_e(title)}</h3><div class="plot"></div>'
                f"{_legend([nm for nm, _, _ in kept], shades)}</div>")

    wls = {str(k): as_dict(v) for k, v in as_dict(series.get("workloads")).items()}
    reqs = {k: _clean(w.get("requests"), n) for k, w in wls.items()}
    names = list(wls)
    parts = [chart(f"Requests completed {per}", names, ["requests"] * len(names), list(reqs.values())),
             chart(f"Errors {per}", names, ["errors"] * len(names), [_clean(w.get("errors"), n) for w in wls.values()])]
    for k, w in wls.items():
        qs = [q for q in ("p50_ms", "p90_ms", "p99_ms") if q in w]
        vals = [[None if reqs[k][i] == 0 else v for i, v in enumerate(_clean(w[q], n))] for q in qs]
        parts.append(chart(f"{k}: latency percentiles {per} (ms)", [q[:-3] for q in qs], qs, vals, 1.0, " ms"))
    sections = [("Workloads over time", "".join(parts))]

    comps = as_dict(results.get("components"))
    parts = []
    for name, metrics in as_dict(series.get("components")).items():
        metrics = as_dict(metrics)
        c = as_dict(comps.get(name))
        kind = str(c.get("type", "?"))
        if kind == "sqs" and (num(c.get("dead_letters_in")) or 0) > 0:
            kind = "sqs, dead-letter queue"
        groups: dict[str, list[str]] = {}
        for m in metrics:
            groups.setdefault(UNITS.get(m, (m.replace("_", " "), 1, ""))[0], []).append(m)
        for unit, ms in groups.items():
            scale, suffix = UNITS.get(ms[0], ("", 1.0, ""))[1:]
            labels = [f"{m.replace('_', ' ')} ({sampling.get(m, 'mean')})" for m in ms]
            parts.append(chart(f"{name} ({kind}): {unit}", labels, ms, [_clean(metrics[m], n) for m in ms],
                               scale, suffix))
    if any(parts):
        sections.append(("Components over time", "".join(parts)))
    data = {"t": t, "step": step, "end": end, "shades": shades, "charts": charts}
    return data, sections


def _json_block(data: dict[str, Any]) -> str:
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    for a, b in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(a, b)
    return f'<script type="application/json" id="cloudtwin-data">{text}</script>'


# ------------------------------------------------------- latency distribution
def _histogram(name: str, hist: dict[str, Any], lat: dict[str, Any]) -> str:
    le = [num(x) for x in hist.get("le_ms") or []]
    counts = [num(x) for x in hist.get("counts") or []]
    if not le or len(le) != len(counts) or any(v is None for v in le + counts):
        return ""
    total = sum(c or 0.0 for c in counts) or 1.0
    w, h, ml, mb, mt = 760, 170, 58, 30, 8
    pw, ph = w - ml - 12, h - mb - mt
    bw = pw / len(le)
    top = max(c or 0.0 for c in counts) or 1.0
    out = [f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
           f'aria-label="latency distribution of {_e(name)}">']
    for i, (edge, c) in enumerate(zip(le, counts, strict=True)):
        bh = ph * (c or 0.0) / top
        lo = le[i - 1] if i else None
        rng = f"{lo:g}-{edge:g} ms" if lo is not None else f"up to {edge:g} ms"
        out.append(f'<rect class="bar" x="{ml + i * bw:.1f}" y="{mt + ph - bh:.1f}" width="{max(bw - 1, 1):.1f}" '
                   f'height="{bh:.1f}" fill="{PALETTE[0]}"><title>{_e(rng)}: {fmt_int(c)} requests '
                   f"({100 * (c or 0) / total:.2f}%)</title></rect>")
    every = max(1, len(le) // 8)
    for i in range(0, len(le), every):
        out.append(f'<text x="{ml + (i + 1) * bw:.1f}" y="{h - 12}" text-anchor="middle">{le[i]:g}</text>')
    out.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>'
               f'<text x="{ml + pw}" y="{h}" text-anchor="end">ms (log scale; upper edge of each bar)</text></svg>')
    pcts = ", ".join(f"{k} {_e(lat[k])} ms" for k in ("p50", "p90", "p99", "p999") if k in lat)
    return (f'<div class="chart"><h3>{_e(name)}: latency distribution ({fmt_int(total)} requests)</h3>'
            f'{"".join(out)}<p class="note">{pcts}</p></div>')


def _distributions(results: dict[str, Any]) -> str:
    hists = as_dict(results.get("latency_histograms"))
    wls = as_dict(results.get("workloads"))
    parts = [_histogram(str(k), as_dict(v), as_dict(as_dict(wls.get(k)).get("latency_ms")))
             for k, v in hists.items()]
    return "".join(parts) or '<p class="note">No latency distribution in these results.</p>'


# ------------------------------------------------------------------ tables
def _table(data: TableData, attrs: str = "", row_attrs: Sequence[str] = ()) -> str:
    if not data.rows:
        return f'<p class="note">No {_e(data.title.lower())}.</p>'
    cls = [' class="r"' if r else "" for r in data.right]
    head = "".join(f"<th{c}>{_e(col)}</th>" for col, c in zip(data.columns, cls, strict=True))
    body = "".join(
        f"<tr{row_attrs[i] if i < len(row_attrs) else ''}>"
        + "".join(f"<td{c}>{_e(cell)}</td>" for cell, c in zip(row, cls, strict=True)) + "</tr>"
        for i, row in enumerate(data.rows))
    note = f'<p class="note">{_e(data.note)}</p>' if data.note else ""
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def _timeline(results: dict[str, Any]) -> str:
    data = timeline_table(results, limit=None)
    if not data.rows:
        return '<p class="note">No timeline entries.</p>'
    kinds = [row[1] for row in data.rows]
    options = "".join(f'<option value="{_e(k)}">{_e(k)}</option>' for k in sorted(set(kinds)))
    tools = (f'<div class="tools"><input id="tl-q" type="search" placeholder="filter text" aria-label="filter text"> '
             f'<select id="tl-kind" aria-label="kind"><option value="">every kind</option>{options}</select> '
             f'<span id="tl-n" class="note">{len(kinds):,} entries</span></div>')
    return tools + _table(data, ' id="timeline"', [f' data-kind="{_e(k)}"' for k in kinds])


def _review(review: dict[str, Any] | None) -> str:
    if review is None:
        return '<p class="note">No review attached (cloudtwin run --report attaches the static review).</p>'
    findings = [as_dict(f) for f in review.get("findings") or []]
    counts = as_dict(review.get("counts"))
    head = (f"<p>{len(findings)} finding(s): " + ", ".join(f"{fmt_int(counts.get(s, 0))} {s}"
                                                            for s in ("high", "medium", "low")) + "</p>")
    if not findings:
        return head
    rows = "".join(
        f'<tr><td class="sev-{_e(f.get("severity"))}">{_e(f.get("severity"))}</td><td>{_e(f.get("rule"))}</td>'
        f'<td>{_e(f.get("pillar"))}</td><td>{_e(f.get("component") or "")}</td>'
        f'<td><b>{_e(f.get("title"))}</b><br>{_e(f.get("message"))}'
        f'<br><span class="note">fix: {_e(f.get("fix"))}</span></td>'
        f'<td>{_e(as_dict(f.get("location")).get("path", ""))}</td></tr>' for f in findings)
    return (head + "<table><thead><tr><th>severity</th><th>rule</th><th>pillar</th><th>component</th>"
            f"<th>finding</th><th>where</th></tr></thead><tbody>{rows}</tbody></table>")


def _cost(results: dict[str, Any]) -> str:
    cost = results.get("cost")
    unpriced = [u for u in as_dict(cost).get("unpriced") or [] if isinstance(u, dict)]
    window = num(as_dict(cost).get("window_usd"))
    head = ""
    if window is not None:
        head = (f'<p><b>Window ${window:,.2f}</b> ' + (
            f"(at least: {len(unpriced)} item(s) unpriced, listed below)" if unpriced
            else "(every metered item priced)") + "</p>")
    return head + cost_section(cost)


def render_report(results: dict[str, Any], review: dict[str, Any] | None = None, diagram: str | None = None) -> str:
    """The whole HTML page for ``results`` as one string; ``review`` is a review report's
    ``to_dict()`` (its findings are listed) or None; ``diagram`` an HTML fragment drawing the
    architecture (:func:`cloudtwin.render.diagram_html.diagram_html`), shown first, or None."""
    spec = str(results.get("spec", "?"))
    lines = "".join(f"<p>{_e(line)}</p>" for line in info_lines(results))
    drawn = _series_data(results)
    series_sections: list[tuple[str, str]] = []
    script = ""
    if drawn is None:
        series_sections = [("Time series", '<p class="note">No time series in these results.</p>')]
    else:
        data, series_sections = drawn
        script = f"{_json_block(data)}<script>{SCRIPT}</script>"
        series_sections[0] = (series_sections[0][0], (
            '<p class="note">Each time series is drawn as steps. An <b>aggregate</b> (sum, mean, max, min or a '
            "percentile) covers its minute; a <b>level</b> (instances in service, queue depth...) is read at the "
            "end of its minute and holds until the next reading. Hover for values; drag across a chart to zoom "
            'every chart, double-click to see the whole run. <button id="reset">reset zoom</button> '
            '<span id="span" class="note"></span></p>') + series_sections[0][1])
    sections: list[tuple[str, str]] = [
        ("Workloads", _table(workload_table(results))),
        ("Components", _table(component_table(results))),
        ("Messages, sessions and cost", lines or '<p class="note">None reported.</p>'),
        *series_sections,
        ("Latency distribution", _distributions(results)),
        ("Cost breakdown", _cost(results)),
        ("Review findings", _review(review)),
        ("Timeline", _timeline(results)),
    ]
    from cloudtwin.render.flows_summary import flow_table

    if (flows := flow_table(results)).rows:  # network flows: after the components
        sections.insert(2, ("Network flows", _table(flows)))
    from cloudtwin.render.cache_summary import cache_table

    if (caches := cache_table(results)).rows:  # per-layer cache accounting: after the components
        sections.insert(2, ("Cache layers", _table(caches)))
    if diagram is not None:
        sections.insert(0, ("Architecture", diagram))
    nav = "".join(f'<a href="#s{i}">{_e(h)}</a>' for i, (h, _) in enumerate(sections))
    body = "".join(f'<section id="s{i}"><h2>{_e(h)}</h2>{content}</section>' for i, (h, content) in enumerate(sections))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>cloudtwin report: {_e(spec)}</title><style>{CSS}</style></head><body>"
        f"<h1>cloudtwin report: {_e(spec)}</h1><p class=\"meta\">{_e(title_line(results))}</p>"
        f"<nav>{nav}</nav>{body}<div id=\"tip\"></div>{script}</body></html>\n"
    )


def write_report(results: dict[str, Any], path: str | Path, review: dict[str, Any] | None = None,
                 diagram: str | None = None) -> Path:
    """Write :func:`render_report` to ``path`` (UTF-8) and return the path."""
    from cloudtwin.fileio import write_atomic

    p = Path(path)
    write_atomic(p, render_report(results, review, diagram))
    return p
