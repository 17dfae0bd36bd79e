"""``cloudtwin cost`` and ``cloudtwin compare``: the cost commands of the CLI.

- ``cost SPEC``: the fixed monthly cost of the configured capacity (730 h), with
  no simulation; unpriced and traffic-based items are listed, not guessed.
- ``compare A B``: runs both specs with the same seed and duration (each with
  its own workloads) and prints availability, p99, lost sessions and messages,
  and the monthly cost (window x 730 h) side by side with the differences.

:func:`load_prices` is shared with ``cloudtwin run --prices``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cloudtwin.cli_output import Format, FormatOpt, OutputOpt, emit
from cloudtwin.errors import SpecError
from cloudtwin.limits import MAX_SEED

PricesOpt = Annotated[Path | None, typer.Option("--prices", help="A price CSV that overrides or adds to the "
                                                "built-in prices (columns region,service,usage_type,unit,usd,"
                                                "source,date).")]


def _fail(msg: str) -> None:
    typer.echo(msg, err=True)
    raise typer.Exit(2)


def load_prices(path: Path | None) -> Any:
    """The built-in price table, overridden by ``path`` when given (SpecError on a bad file)."""
    from cloudtwin.pricing import builtin

    return builtin() if path is None else builtin().overridden(path)


FailOnUnpricedOpt = Annotated[bool, typer.Option("--fail-on-unpriced",
                                                 help="Exit 1 when any cost item has no price (for CI).")]


def _unpriced_exit(fail: bool, unpriced: int) -> None:
    if fail and unpriced:
        typer.echo(f"{unpriced} cost item(s) unpriced (--fail-on-unpriced)", err=True)
        raise typer.Exit(1)


def _money(x: float) -> str:
    return f"${x:,.2f}" if abs(x) >= 1 or round(x * 100) == x * 100 else f"${x:,.4f}"


def _console(output: Path | None = None) -> Any:
    from rich.console import Console

    if output is not None:  # recorded, then written to the file whole
        return Console(width=120, record=True, file=io.StringIO())
    con = Console()
    return con if con.is_terminal else Console(width=120)  # a pipe gets whole rows, not ellipses


def _flush(con: Any, output: Path | None) -> None:
    if output is not None:
        emit(con.export_text(), output)


# ------------------------------------------------------------------ cost
def cost(
    spec: Annotated[str, typer.Argument(help="A spec file, or a built-in blueprint name.")],
    prices: PricesOpt = None,
    fmt: FormatOpt = Format.text,
    output: OutputOpt = None,
    fail_on_unpriced: FailOnUnpricedOpt = False,
) -> None:
    """The fixed monthly cost of SPEC's configured capacity (730 h), without simulating it."""
    from cloudtwin.pricing import fixed_cost
    from cloudtwin.spec import load_spec

    try:
        arch = load_spec(spec)
        out = fixed_cost(arch, load_prices(prices))
    except SpecError as exc:
        _fail(str(exc))
    out = {"spec": arch.name, **out}
    if fmt == Format.json:
        emit(json.dumps(out, indent=2), output)
        _unpriced_exit(fail_on_unpriced, len(out["unpriced"]))
        return
    from rich.table import Table
    from rich.text import Text

    t = Table(title=f"{arch.name}: fixed monthly cost, {out['basis']}", title_justify="left")
    for col, right in (("component", False), ("usage type", False), ("quantity", True), ("unit", False),
                       ("USD/unit", True), ("USD/month", True), ("confidence", False)):
        t.add_column(col, justify="right" if right else "left")
    for i in out["items"]:
        t.add_row(Text(i["component"]), Text(i["usage_type"]), f"{i['quantity']:,.4g}", Text(i["unit"]),
                  f"{i['unit_usd']:g}", _money(i["usd"]), Text(i["confidence"]))
    t.add_row("total", "", "", "", "", ("≥ " if out["unpriced"] else "") + _money(out["monthly_usd"]), "",
              style="bold")
    con = _console(output)
    con.print(t)
    for u in out["unpriced"]:
        con.print(Text(f"unpriced: {u['component']} {u['usage_type']} x {u['quantity']:,.4g} "
                       "(no price in the table; add one with --prices)"))
    for u in out["usage_based"]:
        con.print(Text(f"usage-based, not included: {u['component']} {u['usage_type']}"))
    from cloudtwin.pricing import total_text

    con.print(Text(f"total a month: {total_text(out['monthly_usd'], len(out['unpriced']))}"))
    con.print(Text(f"monthly = configured capacity x {out['hours']:g} h; " + "; ".join(out["assumptions"])))
    _flush(con, output)
    _unpriced_exit(fail_on_unpriced, len(out["unpriced"]))


# ------------------------------------------------------------------ compare
def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """The figures ``compare`` shows for one run's results.

    Availability is over all workloads' finished requests; p99 is the worst
    workload's; lost messages are lost + dead-lettered + expired.
    """
    wls = results["workloads"]
    done = sum(w["succeeded"] + w["failed"] for w in wls.values())
    ok = sum(w["succeeded"] for w in wls.values())
    c = results["cost"]
    m = results["messages"]
    return {
        "spec": results["spec"],
        "requests": sum(w["requests"] for w in wls.values()),
        "availability": ok / done if done else 1.0,
        "p99_ms": max((w["latency_ms"].get("p99", 0.0) for w in wls.values()), default=0.0),
        "sessions_lost": results["sessions"]["lost"],
        "messages_lost": m["lost"] + m["dead_lettered"] + m["expired"],
        "monthly_usd": c["monthly_usd"],
        "window_usd": c["window_usd"],
        "unpriced": len(c["unpriced"]),
        "unmeasured": len(c.get("unmeasured", [])),
    }


ROWS = (  # key, label, format
    ("availability", "availability", lambda x: f"{100 * x:.3f}%"),
    ("p99_ms", "p99 latency (worst workload)", lambda x: f"{x:,.1f} ms"),
    ("requests", "requests", lambda x: f"{x:,.0f}"),
    ("sessions_lost", "lost sessions", lambda x: f"{x:,.0f}"),
    ("messages_lost", "lost messages", lambda x: f"{x:,.0f}"),
    ("window_usd", "cost of the window", _money),
    ("monthly_usd", "monthly, if the window repeated all month", _money),
    ("unpriced", "unpriced items", lambda x: f"{x:,.0f}"),
)


def comparison(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Side-by-side figures of two results and B - A for each."""
    sa, sb = summarize(a), summarize(b)
    diff = {k: sb[k] - sa[k] for k, _, _ in ROWS}
    rel = {k: (diff[k] / sa[k] if sa[k] else None) for k, _, _ in ROWS}
    return {"a": sa, "b": sb, "diff": diff, "relative": rel}


def compare(
    spec_a: Annotated[str, typer.Argument(help="Spec A (file or blueprint name).")],
    spec_b: Annotated[str, typer.Argument(help="Spec B (file or blueprint name).")],
    seed: Annotated[int | None, typer.Option(min=0, max=MAX_SEED, help="Seed for both runs (default: A's).")] = None,
    duration: Annotated[str | None, typer.Option(help="Simulated time for both runs (default: A's).")] = None,
    prices: PricesOpt = None,
    fmt: FormatOpt = Format.text,
    output: OutputOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="The same as --format json.", hidden=True)] = False,
    fail_on_unpriced: FailOnUnpricedOpt = False,
) -> None:
    """Run A and B with the same seed and duration and compare availability, p99, losses and cost."""
    from cloudtwin.spec import load_spec
    from cloudtwin.spec.units import parse_duration

    try:
        a, b = load_spec(spec_a), load_spec(spec_b)
        table = load_prices(prices)
    except SpecError as exc:
        _fail(str(exc))
    s = a.simulate.seed if seed is None else seed
    if duration is not None:
        try:
            d = parse_duration(duration)
        except ValueError as exc:
            _fail(f"--duration: {exc}")
        if d <= 0:
            _fail("--duration: must be > 0")
    else:
        d = a.simulate.stop_duration or b.simulate.stop_duration or 3600.0
    from cloudtwin.runs import Job, run_many

    outcomes = run_many([Job(x, {"seed": s, "duration": d}, table) for x in (a, b)], what="comparing")
    for (kind, got), name in zip(outcomes, (spec_a, spec_b), strict=True):
        if kind != "ok":
            _fail(f"{name}: refused: {got}" if kind == "refused" else f"{name}: {got}")
    ra, rb = outcomes[0][1], outcomes[1][1]
    out = {"seed": s, "duration_s": d, **comparison(ra, rb),
           "note": "monthly = window cost x 730 h / simulated hours; same seed and duration for both"}
    if json_ or fmt == Format.json:
        emit(json.dumps(out, indent=2), output)
    else:
        _print_comparison(out, output)
    _unpriced_exit(fail_on_unpriced, out["a"]["unpriced"] + out["b"]["unpriced"])


def _print_comparison(out: dict[str, Any], output: Path | None = None) -> None:
    from rich.table import Table
    from rich.text import Text

    sa, sb = out["a"], out["b"]
    t = Table(title=f"seed {out['seed']}, {out['duration_s']:g} s simulated", title_justify="left")
    t.add_column("")
    t.add_column(Text(f"A: {sa['spec']}"), justify="right")
    t.add_column(Text(f"B: {sb['spec']}"), justify="right")
    t.add_column("B - A", justify="right")
    t.add_column("B vs A", justify="right")
    for key, label, f in ROWS:
        d, r = out["diff"][key], out["relative"][key]
        sign = "+" if d > 0 else ("-" if d < 0 else "")
        diff = (f"{sign}{100 * abs(d):.3f} pp" if key == "availability"
                else sign + f(abs(d)).lstrip("+"))
        va, vb = f(sa[key]), f(sb[key])
        if key in ("window_usd", "monthly_usd"):  # a total with unpriced items is a lower bound
            va, vb = ("≥ " if sa["unpriced"] else "") + va, ("≥ " if sb["unpriced"] else "") + vb
        t.add_row(label, va, vb, diff, "" if r is None else f"{100 * r:+.1f}%")
    con = _console(output)
    con.print(t)
    con.print(Text(out["note"]))
    for side, s in (("A", sa), ("B", sb)):
        if s["unpriced"]:
            con.print(Text(f"{side} has {s['unpriced']} unpriced item(s): its cost is a lower bound "
                           "(see the run's cost.unpriced)"))
    _flush(con, output)


def register(app: typer.Typer) -> None:
    """Add ``cost`` and ``compare`` to the ``cloudtwin`` app."""
    app.command("cost")(cost)
    app.command("compare")(compare)
