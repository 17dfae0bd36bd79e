"""``cloudtwin optimize``: the cheapest configuration of a spec that meets an SLO.

``--vary PATH=V1,V2,...`` (or ``PATH=LO..HI``) gives the axes, ``--slo`` what must hold
(``availability>=99.9%, p99<=200ms``); every trial runs the spec's own workload and faults for
``--seeds`` seeds, kept in the results store ``DIR`` (as ``cloudtwin sweep`` keeps runs, and
reused by a later search into the same folder). See :mod:`cloudtwin.sweep.optimize`.

Exit codes: 0 a configuration meets the SLO, 1 none of those tried does, 2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["optimize_command", "register"]


def _fail(msg: str, code: int = 2) -> None:
    typer.echo(msg, err=True)
    raise typer.Exit(code)


def optimize_command(
    spec: Annotated[str, typer.Argument(help="A spec file, or a built-in blueprint name.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="The results store folder (created; reused).")],
    vary: Annotated[list[str], typer.Option(help="PATH=V1,V2,... or PATH=LO..HI (repeat for more axes).")],
    slo: Annotated[str, typer.Option(help="What must hold, e.g. 'availability>=99.9%, p99<=200ms'.")],
    trials: Annotated[int, typer.Option(min=1, max=10_000, help="Configurations to try at most (all of them "
                                                                "when the space is no larger).")] = 50,
    seeds: Annotated[int, typer.Option(min=1, max=1_000, help="Seeds per configuration (metrics are means).")]
    = 1,
    seed: Annotated[int | None, typer.Option(min=0, max=2**63 - 1, help="The first seed (default: the spec's).")]
    = None,
    search_seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="The search's own seed.")] = 0,
    duration: Annotated[str | None, typer.Option(help="Simulated time of every run, e.g. 30m.")] = None,
    max_events: Annotated[int | None, typer.Option(min=1, max=10**12, help="Refuse runs estimated above this.")]
    = None,
    executor: Annotated[str, typer.Option(help="local, ray or dask (for a trial's seeds).")] = "local",
    address: Annotated[str | None, typer.Option(help="The Ray or Dask scheduler address.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=4096, help="Parallel runs (every seed of a batch of "
                                                               "trials, or of the whole grid).")] = 1,
    batch: Annotated[int, typer.Option(min=1, max=256, help="TPE trials asked for at once (the answer depends "
                                                            "on it, not on --workers).")] = 4,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """Find the cheapest configuration of SPEC over the --vary axes that meets --slo."""
    from cloudtwin.cli import _duration
    from cloudtwin.errors import SpecError
    from cloudtwin.importers.direct import load_input
    from cloudtwin.sweep.axes import parse_set
    from cloudtwin.sweep.executors import EXECUTORS
    from cloudtwin.sweep.optimize import Search, check_values, optimize
    from cloudtwin.sweep.slo import parse_slo
    from cloudtwin.sweep.store import Store

    try:
        import optuna  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        _fail("cloudtwin optimize searches with Optuna and keeps runs in Parquet: pip install 'cloudtwin[optimize]'")
    if executor not in EXECUTORS:
        _fail(f"--executor: {executor!r} is not one of {', '.join(EXECUTORS)}")
    if fmt not in ("text", "json"):
        _fail(f"--format: {fmt!r} is not text or json")
    options: dict[str, Any] = {k: v for k, v in (("duration", _duration(duration)), ("max_events", max_events))
                               if v is not None}
    try:
        arch, located, _ = load_input(spec)
        axes = [parse_set(v) for v in vary]
        names = [a.name for a in axes]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            _fail(f"--vary: the path {twice} is given twice")
        objectives = parse_slo(slo)
        check_values(located, axes)
        first = arch.simulate.seed if seed is None else seed
        s = Search(located, axes, objectives, [first + i for i in range(seeds)], options)
        store = Store(out, {"kind": "optimize", "spec": located.file, "axes": {a.name: [repr(v) for v in a.values]
                                                                              for a in axes},
                            "seeds": s.seeds, "options": options})
        result = optimize(s, store, trials=trials, executor=executor, workers=workers, address=address,
                          sampler_seed=search_seed, batch=batch)
    except SpecError as exc:
        _fail(str(exc))
    from cloudtwin.fileio import write_atomic

    write_atomic(out / "optimize.json", json.dumps(result, indent=2))
    if fmt == "json":
        typer.echo(json.dumps(result, indent=2))
    else:
        _print(result)
    if result["best"] is None:
        raise typer.Exit(1)


def _line(t: dict[str, Any]) -> str:
    m = t["metrics"]
    what = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in t["set"].items())
    avail = "-" if m["availability"] is None else f"{100 * m['availability']:.3f}%"
    p99 = "-" if m["p99_ms"] is None else f"{m['p99_ms']:.1f} ms"
    cost = "-" if m["monthly_usd"] is None else f"${m['monthly_usd']:,.2f}/month"
    return f"#{t['config']} ({what}): {cost}, p99 {p99}, availability {avail}"


def _print(r: dict[str, Any]) -> None:
    how = "every configuration" if r["exhaustive"] else f"{r['tried']} of {r['space']} configurations (TPE search)"
    typer.echo(f"SLO: {', '.join(r['slo'])}; tried {how}")
    if r["best"] is None:
        typer.echo("no configuration tried meets the SLO")
        return
    typer.echo(f"cheapest meeting it: {_line(r['best'])}")
    typer.echo("Pareto front (cost, p99, availability) of those meeting it:")
    for t in r["pareto"]:
        typer.echo(f"  {_line(t)}")


def register(app: typer.Typer) -> None:
    """Add ``optimize`` to the ``cloudtwin`` app."""
    app.command("optimize")(optimize_command)
