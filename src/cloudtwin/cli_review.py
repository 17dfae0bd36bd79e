"""``cloudtwin review``: the Well-Architected review on the command line.

Exit codes: 0 no finding at or above ``--fail-on``, 1 at least one, 2 bad input.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cloudtwin.limits import MAX_SEED


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


def review_command(
    spec: Annotated[str, typer.Argument(help="A spec file, or a built-in blueprint name.")],
    simulate: Annotated[bool, typer.Option("--simulate", help="Run the scenarios and attach measured evidence.")]
    = False,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="text, json or sarif.")] = Format.text,
    fail_on: Annotated[Severity | None, typer.Option("--fail-on", help="Exit 1 on a finding at or above this.")]
    = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")] = None,
    seed: Annotated[int | None, typer.Option(min=0, max=MAX_SEED,
                                             help="Seed for --simulate (default: the spec's).")] = None,
) -> None:
    """Review SPEC against the AWS Well-Architected Framework (six pillars, with evidence)."""
    from cloudtwin.errors import CloudtwinError, SpecError
    from cloudtwin.importers.direct import load_input
    from cloudtwin.review import review
    from cloudtwin.review.output import render

    try:
        arch, located, note = load_input(spec)
    except SpecError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if note:
        typer.echo(note, err=True)
    try:
        report = review(arch, located=located, simulate=simulate, seed=seed)
    except CloudtwinError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    text = render(report, fmt.value)
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
    else:
        try:
            from cloudtwin.fileio import write_atomic

            write_atomic(output, text)
        except OSError as exc:
            typer.echo(f"cannot write {output}: {exc}", err=True)
            raise typer.Exit(2) from None
        c = report.counts
        typer.echo(f"{len(report.findings)} finding(s) ({c['high']} high, {c['medium']} medium, {c['low']} low): "
                   f"{output}", err=True)
    if fail_on is not None and report.at_or_above(fail_on.value):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``review`` to the ``cloudtwin`` app."""
    app.command("review")(review_command)
