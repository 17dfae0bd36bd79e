"""``cloudtwin export``: write a spec's architecture as a CloudFormation template.

The template is built by :mod:`cloudtwin.exporters.cloudformation`; see docs/export.md for
what is exported per component type. The components not exported and what a template cannot
say (handlers, workloads, faults) are in the template's ``Metadata.cloudtwin`` and on stderr.

Exit codes: 0 written, 2 bad input (the spec) or a file that cannot be written.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cloudtwin.cli_output import emit

__all__ = ["ExportFormat", "export_command", "register"]


class ExportFormat(StrEnum):
    yaml = "yaml"
    json = "json"


def _fail(msg: str) -> None:
    typer.echo(msg, err=True)
    raise typer.Exit(2)


def export_command(
    spec: Annotated[str, typer.Argument(help="A spec file, or a built-in blueprint name.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the template here instead of stdout.")]
    = None,
    fmt: Annotated[ExportFormat | None, typer.Option(
        "--format", "-f", help="yaml or json; default: json for an --output ending in .json, else yaml.")] = None,
) -> None:
    """Write SPEC's architecture as a CloudFormation template (stdout, or -o TEMPLATE.yaml);
    see docs/export.md."""
    from cloudtwin.errors import SpecError
    from cloudtwin.exporters.cloudformation import dump, export
    from cloudtwin.spec import load_spec_located

    kind = fmt or (ExportFormat.json if output is not None and output.suffix.lower() == ".json"
                   else ExportFormat.yaml)
    try:
        arch, _ = load_spec_located(spec)
    except SpecError as exc:
        _fail(str(exc))
    try:
        got = export(arch)
    except ValueError as exc:  # two resources with one logical id
        _fail(f"{spec}: {exc}")
    for x in got.not_exported:
        typer.echo(f"not exported: {x['component']} ({x['type']}): {x['why']}", err=True)
    for text in got.left_out:
        typer.echo(f"left out: {text}", err=True)
    if not got.template["Resources"]:  # CloudFormation needs at least one resource
        _fail(f"{spec}: nothing of it can be exported as CloudFormation (every component is listed above)")
    emit(dump(got.template, kind.value), output)  # both formats end with a newline, so emit adds none


def register(app: typer.Typer) -> None:
    """Add ``export`` to the ``cloudtwin`` app."""
    app.command("export")(export_command)
