"""``cloudtwin transfer``: internet vs Direct Connect vs DataSync vs Snow for moving a data set
into AWS, with times, costs and crossover points (:mod:`cloudtwin.transfer`).

``cloudtwin transfer --size 500TB --link 10Gbps`` or ``cloudtwin transfer SPEC`` (the spec's
``transfer:`` block; options given on the command line override it). Exit codes: 0, or 2 on bad
input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register", "transfer_command"]


def _fail(msg: str) -> None:
    typer.echo(msg, err=True)
    raise typer.Exit(2)


def _human(seconds: float) -> str:
    if seconds >= 86_400:
        return f"{seconds / 86_400:,.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 60:,.1f} min"


def transfer_command(
    spec: Annotated[str | None, typer.Argument(help="A spec with a `transfer:` block (optional).")] = None,
    size: Annotated[str | None, typer.Option("--size", help="Data to move, e.g. 500TB.")] = None,
    link: Annotated[str | None, typer.Option("--link", help="The site's internet link, e.g. 10Gbps.")] = None,
    utilization: Annotated[float | None, typer.Option("--utilization",
                                                      help="Share of a link a bulk copy sustains (0-1].")] = None,
    region: Annotated[str, typer.Option("--region", help="Region of the prices (a spec gives its own).")] = "us-east-1",
    prices: Annotated[Path | None, typer.Option("--prices", help="A price file overriding the built-in one.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Compare internet, Direct Connect, DataSync and Snowball for moving SIZE into AWS."""
    from cloudtwin.cli_cost import load_prices
    from cloudtwin.errors import SpecError
    from cloudtwin.spec.transfer import TransferPlan
    from cloudtwin.transfer import plan

    data: dict[str, Any] = {}
    try:
        if spec is not None:
            from cloudtwin.spec import load_spec

            arch = load_spec(spec)
            if arch.transfer is None:
                _fail(f"{spec}: the spec has no `transfer:` block; give --size and --link instead")
            assert arch.transfer is not None
            data = arch.transfer.model_dump()
            region = arch.region
        for k, v in (("size", size), ("link", link), ("utilization", utilization)):
            if v is not None:
                data[k] = v
        missing = [k for k in ("size", "link") if k not in data]
        if missing:
            _fail(f"give {' and '.join('--' + k for k in missing)} (e.g. --size 500TB --link 10Gbps) or a spec")
        try:
            tp = TransferPlan.model_validate(data)
        except ValueError as exc:
            _fail(f"bad transfer input: {exc}")
        result = plan(tp.inputs(region), load_prices(prices))
    except SpecError as exc:
        _fail(str(exc))
    out = result.to_dict()
    if json_:
        typer.echo(json.dumps(out, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    inp = result.inputs
    t = Table(title=f"moving {inp.size / 1e12:,.3g} TB over a {inp.link_bps / 1e9:g} Gbps link "
                    f"({inp.utilization:.0%} used), {region}", title_justify="left")
    for col in ("option", "time", "throughput", "AWS cost", "notes"):
        t.add_column(col, justify="right" if col in ("time", "throughput", "AWS cost") else "left")
    for o in result.options:
        cost = "unpriced" if o.cost_usd is None else f"${o.cost_usd:,.2f}"
        thr = "-" if o.throughput_bps is None else f"{o.throughput_bps / 1e9:g} Gbps"
        notes = "; ".join(([] if o.available else ["NOT AVAILABLE to new customers"]) + o.notes)
        t.add_row(o.name, _human(o.seconds), thr, cost, notes)
    con = Console()
    con.print(t)
    c = out["crossovers"]
    if c["snow_faster_above_tb"] is not None:
        con.print(f"Snow is faster than this link above {c['snow_faster_above_tb']:,} TB; for this size the "
                  f"network is faster above {c['network_faster_above_gbps']:,} Gbps.")
    con.print(f"fastest available: {out['fastest']}")


def register(app: typer.Typer) -> None:
    """Add ``transfer`` to the ``cloudtwin`` app."""
    app.command("transfer")(transfer_command)
