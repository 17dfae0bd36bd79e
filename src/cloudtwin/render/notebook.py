"""The rich display of a :class:`~cloudtwin.results.Results` in Jupyter: the title line,
the workload table and the message, session and cost lines of the terminal summary, as a
small HTML fragment (every value escaped). Charts stay in the HTML report."""

from __future__ import annotations

from html import escape
from typing import Any

from cloudtwin.render.summary import TableData, info_lines, title_line, workload_table

__all__ = ["results_html"]


def _table(t: TableData) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in t.columns)
    align = ["right" if r else "left" for r in t.right]
    body = "".join(
        "<tr>" + "".join(f'<td style="text-align:{a}">{escape(v)}</td>' for v, a in zip(row, align, strict=True))
        + "</tr>"
        for row in t.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def results_html(results: dict[str, Any]) -> str:
    lines = "".join(f"<div>{escape(line)}</div>" for line in info_lines(results))
    return (f"<div><strong>{escape(title_line(results))}</strong>"
            f"{_table(workload_table(results))}{lines}</div>")
