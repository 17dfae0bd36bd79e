"""A sweep's summary on the terminal: one row per configuration, each metric as its mean over
seeds ± the 95 % half-interval, then the best configuration per metric and those within noise."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_sweep_summary"]

_COLUMNS = (("availability", "availability"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"), ("failed", "failed"),
            ("messages_lost", "lost msgs"), ("monthly_usd", "$/month"))


def _cell(m: dict[str, Any] | None, key: str) -> str:
    if m is None:
        return "-"
    if key == "availability":
        mean, hw = f"{100 * m['mean']:.3f}%", None if m["ci95"] is None else f"{100 * m['ci95']:.3f}"
    else:
        mean, hw = f"{m['mean']:,.6g}", None if m["ci95"] is None else f"{m['ci95']:,.3g}"
    return mean if hw is None else f"{mean} ± {hw}"


def _label(conf: dict[str, Any], axes: list[str]) -> str:
    return ", ".join(f"{a.rsplit('.', 1)[-1]}={conf['set'][a]}" for a in axes) or "(the spec)"


def print_sweep_summary(summary: dict[str, Any], axes: list[str], console: Console | None = None) -> None:
    con = console or Console()
    confs = summary["configurations"]
    table = Table(title=f"sweep: {summary['runs']} runs in {summary['folder']}", title_justify="left")
    table.add_column("#", justify="right")
    for a in axes:
        table.add_column(a)
    table.add_column("runs", justify="right")
    for _, head in _COLUMNS:
        table.add_column(head, justify="right")
    for c in confs:
        runs = f"{c['runs']}" + (f" ({c['not_ok']} refused/failed)" if c["not_ok"] else "")
        table.add_row(str(c["config"]), *(str(c["set"][a]) for a in axes), runs,
                      *(_cell(c["metrics"].get(k), k) for k, _ in _COLUMNS))
    con.print(table)
    by_id = {c["config"]: c for c in confs}
    for key, head in _COLUMNS:
        b = summary["best"].get(key)
        if b is None or len(confs) < 2:
            continue
        top = by_id[b["config"]]
        if not b["decided"]:
            tail = "one seed: noise unknown (use --seeds 3 or more)"
        elif b["within_noise"]:
            tail = "within noise of it: " + "; ".join(f"#{i} ({_label(by_id[i], axes)})" for i in b["within_noise"])
        else:
            tail = "every other configuration differs beyond noise (Welch, 5 %)"
        con.print(f"best {head}: #{top['config']} ({_label(top, axes)}); {tail}")
