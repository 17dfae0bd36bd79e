"""Terminal summary of a results dict, plus the plain table data shared with the HTML report.

What is modelled
----------------
The results JSON produced by a run (``spec``, ``seed``, ``workloads``,
``components``, ``messages``, ``sessions``, ``cost``, ``timeline``, ...) is
turned into display-ready *string* tables (:class:`TableData`) by pure
functions; :func:`render_summary` lays those out with rich, and
``render/report.py`` reuses the same functions for HTML, so both views always
show the same numbers.

What is left out
----------------
* No per-minute series here (see the HTML report for charts).
* Only the first ``TIMELINE_LIMIT`` timeline entries are listed.
* Every key is optional; missing or malformed values show as ``-`` rather than
  raising. User-supplied strings are wrapped in :class:`rich.text.Text` so they
  are never interpreted as rich markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = [
    "TIMELINE_LIMIT",
    "TableData",
    "component_table",
    "fmt_duration",
    "fmt_int",
    "fmt_ms",
    "fmt_pct",
    "info_lines",
    "print_summary",
    "render_summary",
    "timeline_table",
    "title_line",
    "workload_table",
]

TIMELINE_LIMIT = 15
ERROR_KINDS_SHOWN = 3
DASH = "-"


@dataclass(frozen=True)
class TableData:
    """A display table of pre-formatted strings; ``right[i]`` right-aligns column ``i``."""

    title: str
    columns: list[str]
    right: list[bool]
    rows: list[list[str]]
    note: str = ""


# ----------------------------------------------------------------- helpers
def as_dict(x: Any) -> dict[str, Any]:
    """``x`` if it is a dict, else an empty dict."""
    return x if isinstance(x, dict) else {}


def num(x: Any) -> float | None:
    """``x`` as a float if it is a real number (bools excluded), else None."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x)


def fmt_int(x: Any) -> str:
    """Thousands-separated integer, or ``-``."""
    v = num(x)
    return DASH if v is None else f"{round(v):,}"


def fmt_pct(x: Any, digits: int = 1) -> str:
    """A fraction in [0, 1] as a percentage, e.g. ``0.99931 -> '99.931%'`` with digits=3."""
    v = num(x)
    return DASH if v is None else f"{v * 100.0:.{digits}f}%"


def fmt_ms(x: Any) -> str:
    """Milliseconds with precision that adapts to magnitude."""
    v = num(x)
    if v is None:
        return DASH
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def fmt_duration(x: Any) -> str:
    """Seconds as ``h:mm:ss`` (``-`` when missing)."""
    v = num(x)
    if v is None:
        return DASH
    sign = "-" if v < 0 else ""
    s = int(round(abs(v)))
    return f"{sign}{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def fmt_usd(x: Any) -> str:
    """Dollars with cents."""
    v = num(x)
    return DASH if v is None else f"${v:,.2f}"


# ------------------------------------------------------------ table builders
def title_line(results: dict[str, Any]) -> str:
    """One line: spec name, seed, simulated and wall time, events."""
    parts = [f"cloudtwin run: {results.get('spec', '?')}"]
    if num(results.get("seed")) is not None:
        parts.append(f"seed {fmt_int(results['seed'])}")
    if num(results.get("simulated_s")) is not None:
        parts.append(f"simulated {fmt_duration(results['simulated_s'])}")
    wall = num(results.get("wall_s"))
    if wall is not None:
        parts.append(f"wall {wall:.2f} s")
    events = num(results.get("events"))
    if events is not None:
        rate = f" ({events / wall:,.0f}/s)" if wall else ""
        parts.append(f"{fmt_int(events)} events{rate}")
    return " | ".join(parts)


def _top_errors(errors: Any) -> str:
    counts = [(k, v) for k, x in as_dict(errors).items() if (v := num(x)) and v > 0]
    counts.sort(key=lambda kv: (-kv[1], kv[0]))
    shown = [f"{k} {fmt_int(v)}" for k, v in counts[:ERROR_KINDS_SHOWN]]
    return ", ".join(shown) if shown else DASH


def workload_table(results: dict[str, Any]) -> TableData:
    """Per-workload requests, outcomes, availability and latency percentiles."""
    cols = ["workload", "requests", "succeeded", "failed", "availability",
            "p50 ms", "p99 ms", "p999 ms", "top errors"]
    right = [False] + [True] * 7 + [False]
    rows = []
    for name, w in as_dict(results.get("workloads")).items():
        w = as_dict(w)
        lat = as_dict(w.get("latency_ms"))
        rows.append([
            str(name), fmt_int(w.get("requests")), fmt_int(w.get("succeeded")),
            fmt_int(w.get("failed")), fmt_pct(w.get("availability"), 3),
            fmt_ms(lat.get("p50")), fmt_ms(lat.get("p99")), fmt_ms(lat.get("p999")),
            _top_errors(w.get("errors")),
        ])
    return TableData("Workloads", cols, right, rows)


def component_table(results: dict[str, Any]) -> TableData:
    """Per-component load, errors, utilisation, p99 and instance range (when scaled)."""
    comps = as_dict(results.get("components"))
    has_inst = any(as_dict(as_dict(c).get("instances")) for c in comps.values())
    cols = ["component", "type", "requests", "errors", "utilization", "p99 ms"]
    if has_inst:
        cols.append("instances min/max")
    right = [False, False] + [True] * (len(cols) - 2)
    rows = []
    for name, c in comps.items():
        c = as_dict(c)
        row = [
            str(name), str(c.get("type", DASH)), fmt_int(c.get("requests")),
            fmt_int(c.get("errors")), fmt_pct(c.get("utilization"), 1),
            fmt_ms(as_dict(c.get("latency_ms")).get("p99")),
        ]
        if has_inst:
            inst = as_dict(c.get("instances"))
            row.append(f"{fmt_int(inst.get('min'))} / {fmt_int(inst.get('max'))}" if inst else DASH)
        rows.append(row)
    return TableData("Components", cols, right, rows)


def timeline_table(results: dict[str, Any], limit: int = TIMELINE_LIMIT) -> TableData:
    """First ``limit`` timeline entries (time, kind, detail, duration)."""
    entries = [as_dict(e) for e in results.get("timeline") or [] if isinstance(e, dict)]
    rows = [
        [fmt_duration(e.get("t")), str(e.get("kind", DASH)), str(e.get("detail", "")),
         fmt_duration(e["duration_s"]) if num(e.get("duration_s")) is not None else ""]
        for e in entries[:limit]
    ]
    more = len(entries) - limit
    note = f"... {more:,} more timeline entries not shown" if more > 0 else ""
    return TableData("Timeline", ["t", "kind", "detail", "duration"],
                     [True, False, False, True], rows, note)


def info_lines(results: dict[str, Any]) -> list[str]:
    """Message, session and cost one-liners (only for sections that are present)."""
    lines = []
    msgs = as_dict(results.get("messages"))
    if msgs:
        causes = as_dict(msgs.get("lost_by_cause"))
        why = f" ({', '.join(f'{k} {fmt_int(v)}' for k, v in causes.items())})" if causes else ""
        lines.append("messages: " + ", ".join(f"{k} {fmt_int(v)}" for k, v in msgs.items()
                                              if not isinstance(v, dict)) + why)
    sess = as_dict(results.get("sessions"))
    if sess:
        lines.append("sessions: " + ", ".join(f"{k} {fmt_int(v)}" for k, v in sess.items()))
    cost = as_dict(results.get("cost"))
    if num(cost.get("monthly_usd")) is not None:
        line = (f"cost: window {fmt_usd(cost.get('window_usd'))}, "
                f"monthly {fmt_usd(cost['monthly_usd'])} "
                "(monthly = window x 730 h extrapolation)")
        unpriced = cost.get("unpriced")
        if isinstance(unpriced, list) and unpriced:
            names = [
                f"{u.get('component')} {u.get('usage_type')}" if isinstance(u, dict) else str(u) for u in unpriced
            ]
            line += f"; {len(names)} unpriced item(s): " + ", ".join(names[:6]) + (" ..." if len(names) > 6 else "")
        lines.append(line)
    return lines


# --------------------------------------------------------------- rich layout
def _rich_table(data: TableData) -> Table:
    table = Table(title=data.title, title_justify="left", caption=data.note or None,
                  caption_justify="left", expand=False)
    for col, right in zip(data.columns, data.right, strict=True):
        table.add_column(col, justify="right" if right else "left")
    for row in data.rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def render_summary(results: dict[str, Any]) -> RenderableType:
    """A rich renderable (Group of tables and lines) summarising ``results``."""
    parts: list[RenderableType] = [Text(title_line(results), style="bold")]
    wl = workload_table(results)
    parts.append(_rich_table(wl) if wl.rows else Text("no workloads", style="dim"))
    comps = component_table(results)
    if comps.rows:
        parts.append(_rich_table(comps))
    parts.extend(Text(line) for line in info_lines(results))
    tl = timeline_table(results)
    if tl.rows:
        parts.append(_rich_table(tl))
    return Group(*parts)


def print_summary(results: dict[str, Any], console: Console | None = None) -> None:
    """Print :func:`render_summary` to ``console`` (a default Console when None)."""
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=120)  # piped output: do not squeeze tables to 80 columns
    console.print(render_summary(results))
