"""``cloudtwin sweep``: one spec over the cartesian product of ``--set`` axes times seeds.

Every configuration is validated before anything runs. The runs go to an executor (this
machine's cores, Ray or Dask); each finished run is kept at once in ``DIR`` (the full JSON,
a line of ``runs.jsonl`` and the ``results.parquet`` table), so running the same command
again after a crash or Ctrl-C resumes where it stopped. The summary gives each metric's mean
over seeds with its 95 % interval and which configurations are within noise of the best.

Exit codes: 0 done, 2 bad input (the spec, a ``--set``, a folder holding another sweep, a
missing extra), 130 interrupted (what finished is kept).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register", "sweep_command"]

MAX_SEED = 2**63 - 1


def _fail(msg: str) -> None:
    typer.echo(msg, err=True)
    raise typer.Exit(2)


def sweep_command(
    spec: Annotated[str, typer.Argument(help="A spec file, or a built-in blueprint name.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="The sweep's folder (created; resumed if it exists).")],
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="PATH=V1,V2,... e.g. components.web.capacity.desired=2,4,6 (repeat for more axes).")] = None,
    seeds: Annotated[int, typer.Option(min=1, max=20_000, help="Seeds per configuration.")] = 1,
    seed: Annotated[int | None, typer.Option(min=0, max=MAX_SEED,
                                             help="The first seed (default: the spec's); then +1, +2...")] = None,
    duration: Annotated[str | None, typer.Option(help="Simulated time of every run, e.g. 30m.")] = None,
    requests: Annotated[int | None, typer.Option(min=1, max=10**12, help="Stop each run after N requests.")] = None,
    max_events: Annotated[int | None, typer.Option(min=1, max=10**12, help="Refuse runs estimated above this.")]
    = None,
    executor: Annotated[str, typer.Option(help="local (processes on this machine), ray or dask.")] = "local",
    address: Annotated[str | None, typer.Option(help="The Ray or Dask scheduler address (default: start a "
                                                     "local one).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=4096, help="Parallel runs (default: the cores).")]
    = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json (the summary).")] = "text",
    report: Annotated[Path | None, typer.Option(help="Write an HTML report: one chart per metric.")] = None,
) -> None:
    """Run SPEC for every combination of the --set values and every seed; keep each run in DIR."""
    from cloudtwin.cli import _duration
    from cloudtwin.errors import SpecError
    from cloudtwin.importers.direct import load_input
    from cloudtwin.sweep.axes import parse_set
    from cloudtwin.sweep.executors import EXECUTORS
    from cloudtwin.sweep.plan import execute, plan
    from cloudtwin.sweep.store import Store

    try:
        import pyarrow  # noqa: F401
    except ImportError:
        _fail("cloudtwin sweep keeps its results in a Parquet table: pip install 'cloudtwin[sweep]'")
    if executor not in EXECUTORS:
        _fail(f"--executor: {executor!r} is not one of {', '.join(EXECUTORS)}")
    if fmt not in ("text", "json"):
        _fail(f"--format: {fmt!r} is not text or json")
    options: dict[str, Any] = {"duration": _duration(duration), "requests": requests, "max_events": max_events}
    options = {k: v for k, v in options.items() if v is not None}
    try:
        arch, located, _ = load_input(spec)
        axes = [parse_set(s) for s in sets or []]
        p = plan(located, axes, seeds, arch.simulate.seed if seed is None else seed, options)
        store = Store(out, p.definition)
    except SpecError as exc:
        _fail(str(exc))
    n_workers = workers or max(1, int(os.environ.get("CLOUDTWIN_JOBS", "0") or 0) or (os.cpu_count() or 1))
    labels = p.labels
    todo = sum(not store.done(label) for label in labels)
    if todo < len(labels):
        typer.echo(f"resuming: {len(labels) - todo} of {len(labels)} runs already in {out}", err=True)
    from cloudtwin.runs import Bar

    bar = Bar("sweeping", todo, eta=True)
    try:
        execute(p, store, executor, workers=n_workers, address=address, on_done=lambda _: bar.advance())
    except SpecError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        bar.close()
        typer.echo(f"interrupted: {len(store.rows)} of {len(labels)} runs kept in {out}; run the same command "
                   "to resume", err=True)
        raise typer.Exit(130) from None
    finally:
        bar.close()
    _finish(p, store, out, fmt, report)


def _finish(p: Any, store: Any, out: Path, fmt: str, report: Path | None) -> None:
    from cloudtwin.fileio import write_atomic
    from cloudtwin.sweep.summary import summarize

    names = [a.name for a in p.axes]
    summary = summarize(list(store.rows.values()), names)
    summary["runs"] = len(store.rows)
    summary["folder"] = str(out)
    write_atomic(out / "summary.json", json.dumps(summary, indent=2))
    if report is not None:
        from cloudtwin.render.sweep_report import render_sweep_report

        write_atomic(report, render_sweep_report(summary, names))
    if fmt == "json":
        typer.echo(json.dumps(summary, indent=2))
        return
    from cloudtwin.render.sweep_summary import print_sweep_summary

    print_sweep_summary(summary, names)


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to the ``cloudtwin`` app."""
    app.command("sweep")(sweep_command)
