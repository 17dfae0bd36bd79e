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
* Only the first ``TIMELINE_LIMIT`` timeline entries are listed (the HTML report
  lists them all).

Fitting the terminal
--------------------
A number is never cut. Each column has a priority (0: always shown) and only
text columns (names, details, key figures) may wrap. When the table does not fit
the console width even with those wrapped to their minimum, the columns of
lowest priority are left out, and the table's caption says which
(:func:`fit_table`).

Per-type rows
-------------
The component table's ``handled`` column counts what the type handles
(records for Firehose, messages in for a queue or a DLQ, invocations for
Lambda...), and ``key figures`` shows what matters for the type: depth and
end-to-end age for queues, peak concurrency and throttles for Lambda, hit ratio
for caches, records delivered for Firehose... (:func:`key_figures`).
* Every key is optional; missing or malformed values show as ``-`` rather than
  raising. User-supplied strings are wrapped in :class:`rich.text.Text` so they
  are never interpreted as rich markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from cloudtwin.render.formats import (
    DASH,
    as_dict,
    fmt_duration,
    fmt_int,
    fmt_ms,
    fmt_pct,
    fmt_usd,
    num,
)
from cloudtwin.render.key_figures import handled, key_figures

__all__ = [
    "TIMELINE_LIMIT",
    "TableData",
    "component_table",
    "fit_table",
    "handled",
    "key_figures",
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

T = TypeVar("T")
TIMELINE_LIMIT = 15
ERROR_KINDS_SHOWN = 3


@dataclass(frozen=True)
class TableData:
    """A display table of pre-formatted strings; ``right[i]`` right-aligns column ``i``.

    ``priority[i]``: 0 for a column always shown, higher for columns dropped first when
    the table does not fit; ``wrap[i]``: the column's cells may wrap (text, never numbers).
    Both default to "keep every column" and "wrap the left-aligned columns".
    """

    title: str
    columns: list[str]
    right: list[bool]
    rows: list[list[str]]
    note: str = ""
    priority: list[int] | None = None
    wrap: list[bool] | None = None

    def priorities(self) -> list[int]:
        return self.priority if self.priority is not None else [0] * len(self.columns)

    def wraps(self) -> list[bool]:
        return self.wrap if self.wrap is not None else [not r for r in self.right]


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
    return TableData("Workloads", cols, right, rows,
                     priority=[0, 0, 4, 1, 0, 2, 0, 3, 1],
                     wrap=[True] + [False] * 7 + [True])


def component_table(results: dict[str, Any]) -> TableData:
    """Per-component count handled, errors, p99 and the figures that matter for its type."""
    comps = as_dict(results.get("components"))
    cols = ["component", "type", "handled", "errors", "p99 ms", "key figures"]
    rows = []
    for name, c in comps.items():
        c = as_dict(c)
        rows.append([
            str(name), str(c.get("type", DASH)), fmt_int(handled(c)), fmt_int(c.get("errors")),
            fmt_ms(as_dict(c.get("latency_ms")).get("p99")), key_figures(c) or DASH,
        ])
    return TableData("Components", cols, [False, False, True, True, True, False], rows,
                     priority=[0, 2, 0, 1, 3, 0], wrap=[True, True, False, False, False, True])


def timeline_table(results: dict[str, Any], limit: int | None = TIMELINE_LIMIT) -> TableData:
    """First ``limit`` timeline entries (time, kind, detail, duration); all with ``None``."""
    entries = [as_dict(e) for e in results.get("timeline") or [] if isinstance(e, dict)]
    if limit is None:
        limit = len(entries)
    rows = [
        [fmt_duration(e.get("t")), str(e.get("kind", DASH)), str(e.get("detail", "")),
         fmt_duration(e["duration_s"]) if num(e.get("duration_s")) is not None else ""]
        for e in entries[:limit]
    ]
    more = len(entries) - limit
    note = f"... {more:,} more timeline entries not shown" if more > 0 else ""
    return TableData("Timeline", ["t", "kind", "detail", "duration"],
                     [True, False, False, True], rows, note,
                     priority=[0, 1, 0, 2], wrap=[False, True, True, False])


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
        unpriced = cost.get("unpriced")
        n_unpriced = len(unpriced) if isinstance(unpriced, list) else 0
        hours = num(cost.get("window_hours"))
        span = f" ({fmt_duration(hours * 3600)} simulated)" if hours else ""
        line = (f"cost: window {_at_least(n_unpriced)}{fmt_usd(cost.get('window_usd'))}{span}; "
                f"if that window repeated all month: {_at_least(n_unpriced)}{fmt_usd(cost['monthly_usd'])}")
        if isinstance(unpriced, list) and unpriced:
            names = [
                f"{u.get('component')} {u.get('usage_type')}" if isinstance(u, dict) else str(u) for u in unpriced
            ]
            line += (f" — {len(names)} item(s) unpriced: " + ", ".join(names[:6])
                     + (" ..." if len(names) > 6 else ""))
        lines.append(line)
    return lines


def _at_least(unpriced: int) -> str:
    """A total with unpriced items is a lower bound."""
    return "≥ " if unpriced else ""


# --------------------------------------------------------------- rich layout
WRAP_MIN = 18  # narrowest a wrapping text column is squeezed to


def _words(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)


def _min_width(data: TableData, i: int) -> int:
    """The narrowest column ``i`` can be without cutting: every cell and the header whole
    unless the column wraps (then ``WRAP_MIN``, or less when every cell is shorter, but
    never less than its longest word)."""
    if data.wraps()[i]:
        longest = max([_words(data.columns[i])] + [_words(r[i]) for r in data.rows])
        full = max([len(data.columns[i])] + [len(r[i]) for r in data.rows])
        return max(longest, min(full, WRAP_MIN))
    return max([len(data.columns[i])] + [len(r[i]) for r in data.rows])


def _table_width(widths: list[int]) -> int:
    return sum(widths) + 3 * len(widths) + 1  # rich's box: padding 1 each side, a rule between


def fit_table(data: TableData, width: int) -> tuple[TableData, list[str]]:
    """``data`` without the least important columns it must drop to fit ``width`` columns,
    and the names of those dropped (in the order they were dropped)."""
    keep = list(range(len(data.columns)))
    dropped: list[str] = []
    prio = data.priorities()
    widths = {i: _min_width(data, i) for i in keep}
    while _table_width([widths[i] for i in keep]) > width:
        droppable = [i for i in keep if prio[i] > 0]
        if not droppable:
            break  # nothing left to drop: rich wraps what it can
        worst = max(droppable, key=lambda i: (prio[i], i))
        keep.remove(worst)
        dropped.append(data.columns[worst])
    if not dropped:
        return data, []
    return TableData(data.title, _pick(data.columns, keep), _pick(data.right, keep),
                     [_pick(r, keep) for r in data.rows], data.note, _pick(prio, keep),
                     _pick(data.wraps(), keep)), dropped


def _pick(xs: list[T], keep: list[int]) -> list[T]:
    return [xs[i] for i in keep]


def _rich_table(data: TableData, width: int | None = None) -> Table:
    dropped: list[str] = []
    if width is not None:
        data, dropped = fit_table(data, width)
    notes = [data.note] if data.note else []
    if dropped:
        notes.append(f"not shown to fit {width} columns: {', '.join(dropped)} "
                     "(a wider terminal, the HTML report or --json show them)")
    table = Table(title=data.title, title_justify="left", caption="\n".join(notes) or None,
                  caption_justify="left", expand=False)
    for i, (col, right) in enumerate(zip(data.columns, data.right, strict=True)):
        wraps = data.wraps()[i]
        table.add_column(col, justify="right" if right else "left", no_wrap=not wraps,
                         min_width=None if wraps else _min_width(data, i),
                         overflow="fold")
    for row in data.rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def render_summary(results: dict[str, Any], width: int | None = None) -> RenderableType:
    """A rich renderable (Group of tables and lines) summarising ``results``; with ``width``,
    tables leave out their least important columns to fit it rather than cut a number."""
    parts: list[RenderableType] = [Text(title_line(results), style="bold")]
    wl = workload_table(results)
    parts.append(_rich_table(wl, width) if wl.rows else Text("no workloads", style="dim"))
    comps = component_table(results)
    if comps.rows:
        parts.append(_rich_table(comps, width))
    from cloudtwin.render.flows_summary import flow_table

    if (flows := flow_table(results)).rows:
        parts.append(_rich_table(flows, width))
    from cloudtwin.render.cache_summary import cache_table

    if (caches := cache_table(results)).rows:
        parts.append(_rich_table(caches, width))
    parts.extend(Text(line) for line in info_lines(results))
    tl = timeline_table(results)
    if tl.rows:
        parts.append(_rich_table(tl, width))
    from cloudtwin.render.hypothesis import hypothesis_lines

    parts.extend(hypothesis_lines(results))
    return Group(*parts)


def print_summary(results: dict[str, Any], console: Console | None = None) -> None:
    """Print :func:`render_summary` to ``console`` (a default Console when None)."""
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=120)  # piped output: do not squeeze tables to 80 columns
    console.print(render_summary(results, console.width))
