"""The ``cloudtwin`` command: a thin layer over the public API.

Exit codes (see :mod:`cloudtwin.entry`): 0 ok, 1 the run found what ``--fail-on`` asked to
fail on, 2 bad input, 3 an internal error, 130 interrupted. Errors are printed as
``file:line: path: message`` lines, never as tracebacks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cloudtwin.cli_output import Format, FormatOpt, OutputOpt, emit
from cloudtwin.errors import CloudtwinError, RunRefused, SpecError
from cloudtwin.limits import MAX_COUNT, MAX_SEED

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="A digital twin for AWS architectures.")


def _fail(msg: str, code: int = 2) -> None:
    typer.echo(msg, err=True)
    raise typer.Exit(code)


def _duration(text: str | None) -> float | None:
    if text is None:
        return None
    from cloudtwin.spec.units import parse_duration

    try:
        d = parse_duration(text)
    except ValueError as exc:
        _fail(f"--duration: {exc}")
    if d <= 0:
        _fail("--duration: must be > 0")
    return d


_LOCATED: dict[int, Any] = {}  # id(arch) -> its line map, to point refusals at file:line


def _load(spec: str) -> Any:
    from cloudtwin.importers.direct import load_input
    from cloudtwin.spec import spec_warnings

    try:
        arch, located, note = load_input(spec)
    except SpecError as exc:
        _fail(str(exc))
    if note:
        typer.echo(note, err=True)
    for w in spec_warnings(arch, located):
        typer.echo(f"warning: {w}", err=True)
    _LOCATED[id(arch)] = located
    return arch


def _refused(arch: Any, exc: RunRefused) -> None:
    located = _LOCATED.get(id(arch))
    where = str(located.issue(exc.path, "")).rstrip(": ") if located is not None else ""
    _fail(f"{where}: refused: {exc}" if where else f"refused: {exc}")


@app.command()
def run(
    spec: Annotated[str, typer.Argument(help="A spec file, or a built-in blueprint name.")],
    duration: Annotated[str | None, typer.Option(help="Simulated time, e.g. 30m.")] = None,
    requests: Annotated[int | None, typer.Option(min=1, max=MAX_COUNT, help="Stop after N completed requests.")] = None,
    seed: Annotated[int | None, typer.Option(min=0, max=MAX_SEED, help="Random seed (default: the spec's).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results JSON here.")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the HTML report here.")] = None,
    max_events: Annotated[int | None, typer.Option(min=1, max=MAX_COUNT,
                                                   help="Refuse runs estimated above this.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
    prices: Annotated[Path | None, typer.Option(help="A price CSV overriding or adding to the built-in ones.")] = None,
    fmt: FormatOpt = Format.text,
    output: OutputOpt = None,
    fail_on_unpriced: Annotated[bool, typer.Option("--fail-on-unpriced",
                                                   help="Exit 1 when any cost item has no price (for CI).")] = False,
    fail_on_hypothesis: Annotated[bool, typer.Option(
        "--fail-on-hypothesis", help="Exit 1 when the spec's steady-state hypothesis did not hold (for CI).")] = False,
    engine: Annotated[str, typer.Option(help="exact (one event per request) or fluid (time-stepped flows, "
                                             "queueing approximations; a subset of specs, docs/scale.md).")] = "exact",
) -> None:
    """Simulate SPEC and print the summary (--format json: the results JSON)."""
    from cloudtwin.simulation import Simulation

    arch = _load(spec)
    if engine not in ("exact", "fluid"):
        _fail(f"--engine must be exact or fluid, got {engine!r}")
    if fail_on_hypothesis and arch.hypothesis is None:
        _fail(f"--fail-on-hypothesis: {spec} states no `hypothesis:` (what must hold); add one, see docs/spec.md")
    if engine == "fluid":
        from cloudtwin.fluid import run_fluid

        for flag, given in (("--requests", requests), ("--max-events", max_events), ("--prices", prices)):
            if given is not None:
                _fail(f"{flag} is not supported with --engine fluid (it runs for simulate.duration)")
        try:
            results = run_fluid(arch, seed=seed, duration=_duration(duration))
        except CloudtwinError as exc:
            _fail(str(exc))
    else:
        try:
            sim = Simulation(arch, seed=seed, duration=_duration(duration), requests=requests,
                             max_events=max_events)
            if prices is not None:
                from cloudtwin.cli_cost import load_prices

                sim.prices = load_prices(prices)
        except CloudtwinError as exc:
            _fail(str(exc))
        try:
            results = _run_with_progress(sim)
        except RunRefused as exc:
            _refused(arch, exc)
        except SpecError as exc:
            _fail(str(exc))
    if json_out is not None:
        _write(json_out, results.to_json())
    if report is not None:
        from cloudtwin.render.diagram_html import diagram_html
        from cloudtwin.render.report import render_report
        from cloudtwin.review import review as _review

        _write(report, render_report(results.data, _review(arch, located=_LOCATED.get(id(arch))).to_dict(),
                                     diagram_html(arch, results.data)))
    if fmt == Format.json:
        emit(results.to_json(), output)
    elif output is not None:
        import io

        from rich.console import Console

        from cloudtwin.render.summary import print_summary

        con = Console(width=120, record=True, file=io.StringIO())
        print_summary(results.data, con)
        emit(con.export_text(), output)
    elif not quiet:
        from cloudtwin.render.summary import print_summary

        print_summary(results.data)
        for note in results.data.get("validity", []):
            typer.echo(f"validity: {note}")
    if not quiet and fmt == Format.text and output is None:
        for p, what in ((json_out, "JSON"), (report, "report")):
            if p is not None:
                typer.echo(f"{what}: {p}")
    unpriced = len(results.data["cost"]["unpriced"])
    if fail_on_unpriced and unpriced:
        typer.echo(f"{unpriced} cost item(s) unpriced (--fail-on-unpriced)", err=True)
        raise typer.Exit(1)
    if fail_on_hypothesis and not results.data["hypothesis"]["held"]:
        failed = sum(1 for c in results.data["hypothesis"]["checks"] if not c["held"])
        typer.echo(f"the steady-state hypothesis did not hold: {failed} check(s) failed (--fail-on-hypothesis)",
                   err=True)
        raise typer.Exit(1)


def _write(path: Path, text: str) -> None:
    try:
        from cloudtwin.fileio import write_atomic

        write_atomic(path, text)
    except OSError as exc:
        _fail(f"cannot write {path}: {exc}")


def _run_with_progress(sim: Any) -> Any:
    if not sys.stderr.isatty() or sim.horizon is None:
        return sim.run()
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(f"simulating {sim.arch.name}", total=sim.horizon)
        sim.progress = lambda now: bar.update(task, completed=now)
        return sim.run()


@app.command()
def validate(spec: Annotated[str, typer.Argument(help="A spec file or blueprint name.")]) -> None:
    """Check SPEC; exit 2 with file:line messages when it is invalid."""
    arch = _load(spec)
    from cloudtwin.simulation import Simulation

    try:  # building the live models catches what needs data tables (node types, replay files)
        Simulation(arch).guard()  # and a run too large to finish
    except RunRefused as exc:
        _refused(arch, exc)
    except CloudtwinError as exc:
        _fail(str(exc))
    typer.echo(f"ok: {arch.name} ({len(arch.components)} components, {len(arch.workloads)} workloads)")
    for name, c in arch.components.items():
        if c.type == "beanstalk":  # an environment is made of components the run adds
            from cloudtwin.spec.beanstalk import describe

            typer.echo(f"  {name}: Elastic Beanstalk environment, {describe(name, c)}")


@app.command("import")
def import_(
    template: Annotated[Path, typer.Argument(help="A CloudFormation or SAM template (YAML or JSON), the JSON of "
                                             "`terraform show -json`, or a .tf file or directory.")],
    output: OutputOpt = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="A template parameter or Terraform variable, Key=Value (repeatable); "
                              "AWS::Region=... sets the Region.")] = None,
    workload: Annotated[Path | None, typer.Option(
        help="A YAML file of workloads (a mapping, or a `workloads:` key) instead of the stubs.")] = None,
) -> None:
    """Turn a CloudFormation/SAM TEMPLATE or Terraform into a spec (stdout, or -o SPEC.yaml); see docs/import.md."""
    from cloudtwin.importers.convert import import_template
    from cloudtwin.spec import parse_spec_located

    params: dict[str, str] = {}
    for item in param or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            _fail(f"--param {item!r}: expected Key=Value")
        params[key.strip()] = value
    try:
        imported = import_template(str(template), params, None if workload is None else str(workload))
    except SpecError as exc:
        _fail(str(exc))
    for logical, kind, line, why in imported.unmapped:
        typer.echo(f"{template}:{line}: not mapped: {logical} ({kind}): {why}", err=True)
    where = str(output) if output is not None else "<imported>"
    try:
        parse_spec_located(imported.text, file=where, base_dir=(output.parent if output is not None else "."))
    except SpecError as exc:
        if output is not None:
            emit(imported.text, output)
        _fail(f"{exc}\nthe imported spec does not validate (please report it with the template)")
    emit(imported.text, output)
    if output is not None:
        n = len(imported.ctx.components)
        typer.echo(f"wrote {output}: {n} components, {len(imported.workloads)} workloads"
                   f"{' (stubs)' if imported.stubs else ''}, {len(imported.unmapped)} resources not mapped", err=True)


@app.command()
def blueprints(
    fmt: FormatOpt = Format.text,
    output: OutputOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="The same as --format json.", hidden=True)] = False,
) -> None:
    """List the built-in blueprints: name, notes section and claim."""
    from cloudtwin.blueprints import catalogue

    rows = catalogue()
    if json_ or fmt == Format.json or output is not None:
        emit(json.dumps(rows, indent=2), output)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("name", "notes section", "claim", show_lines=False)
    for r in rows:
        t.add_row(r["name"], r["section"], r["claim"])
    Console().print(t)


from cloudtwin.cli_cost import register as _register_cost  # noqa: E402

_register_cost(app)


from cloudtwin import cli_review  # noqa: E402  (the review command lives in its own module)

cli_review.register(app)


from cloudtwin import cli_diagram  # noqa: E402  (the diagram command lives in its own module)

cli_diagram.register(app)


from cloudtwin import cli_sweep  # noqa: E402  (the sweep command lives in its own module)

cli_sweep.register(app)


from cloudtwin import cli_optimize  # noqa: E402  (the optimize command lives in its own module)

cli_optimize.register(app)


from cloudtwin import cli_transfer  # noqa: E402  (the transfer planner's command lives in its own module)

cli_transfer.register(app)


from cloudtwin import cli_fis  # noqa: E402  (export-fis lives in its own module)

cli_fis.register(app)


from cloudtwin import cli_export  # noqa: E402  (the export command lives in its own module)

cli_export.register(app)


def main() -> None:
    """The ``cloudtwin`` command, through the process boundary (:mod:`cloudtwin.entry`)."""
    from cloudtwin.entry import main as entry_main

    entry_main()


if __name__ == "__main__":
    main()
