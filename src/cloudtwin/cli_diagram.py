"""``cloudtwin diagram``: draw a spec as Mermaid, Graphviz DOT, SVG or PNG.

Mermaid and DOT are written by :mod:`cloudtwin.render.diagram_mermaid` and
:mod:`cloudtwin.render.diagram_dot`; SVG and PNG need Graphviz's ``dot`` program (Debian
package ``graphviz``). The format is ``--format``, else the ``--output`` file's suffix
(``.mmd``, ``.dot``/``.gv``, ``.svg``, ``.png``, ``.json``), else Mermaid.

Exit codes: 0 written, 2 bad input (the spec, the results file, no ``dot`` for SVG/PNG).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["DiagramFormat", "diagram_command", "register"]

MAX_RESULTS_BYTES = 256 * 2**20  # a results JSON with every series of a long run stays far below


class DiagramFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"
    png = "png"
    json = "json"


SUFFIXES = {".mmd": DiagramFormat.mermaid, ".mermaid": DiagramFormat.mermaid, ".dot": DiagramFormat.dot,
            ".gv": DiagramFormat.dot, ".svg": DiagramFormat.svg, ".png": DiagramFormat.png,
            ".json": DiagramFormat.json}


def _fail(msg: str) -> None:
    typer.echo(msg, err=True)
    raise typer.Exit(2)


def _results(path: Path) -> dict[str, Any]:
    from cloudtwin.errors import SpecError
    from cloudtwin.fileio import read_text_bounded

    data: Any = None
    try:
        data = json.loads(read_text_bounded(path, MAX_RESULTS_BYTES, "results JSON"))
    except SpecError as exc:
        _fail(str(exc))
    except (ValueError, UnicodeDecodeError) as exc:
        _fail(f"{path}: not a results JSON: {exc}")
    if not isinstance(data, dict) or not isinstance(data.get("components"), dict):
        _fail(f"{path}: not a results JSON of `cloudtwin run --json` (no `components`)")
    return dict(data)


def diagram_command(
    spec: Annotated[str, typer.Argument(help="A spec file, or a built-in blueprint name.")],
    fmt: Annotated[DiagramFormat | None, typer.Option(
        "--format", "-f", help="mermaid, dot, svg, png (these two need Graphviz's dot) or json; "
        "default: from the --output suffix, else mermaid.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the diagram here instead of stdout.")]
    = None,
    results: Annotated[Path | None, typer.Option(
        "--results", help="A results JSON (cloudtwin run --json): show requests, errors and p99 on the nodes.")]
    = None,
) -> None:
    """Draw SPEC: groups for the cloud, region, VPC, zones and Auto Scaling groups; solid edges
    for calls that wait, dashed ones for messages and events."""
    from cloudtwin.errors import SpecError
    from cloudtwin.importers.direct import load_input
    from cloudtwin.render.diagram import build

    kind = fmt or (SUFFIXES.get(output.suffix.lower()) if output is not None else None) or DiagramFormat.mermaid
    if kind == DiagramFormat.png and output is None:
        _fail("--format png writes binary data: give --output FILE.png")
    try:
        arch, _, note = load_input(spec)
        if note:
            typer.echo(note, err=True)
    except SpecError as exc:
        _fail(str(exc))
    data = _results(results) if results is not None else None
    if data is not None and data.get("spec") not in (None, arch.name):
        typer.echo(f"warning: {results} holds results of {data.get('spec')!r}, not of {arch.name!r}", err=True)
    d = build(arch, data)
    out: str | bytes
    if kind == DiagramFormat.json:
        out = json.dumps(d.to_dict(), indent=2) + "\n"
    elif kind == DiagramFormat.mermaid:
        from cloudtwin.render.diagram_mermaid import to_mermaid

        out = to_mermaid(d)
    else:
        from cloudtwin.render.diagram_dot import DotFailed, DotMissing, render_with_dot, to_dot

        out = to_dot(d)
        if kind != DiagramFormat.dot:
            try:
                out = render_with_dot(out, kind.value)
            except (DotMissing, DotFailed) as exc:
                _fail(str(exc))
    if output is None:
        typer.echo(out if isinstance(out, str) else out.decode("utf-8"), nl=False)
        return
    from cloudtwin.fileio import write_atomic

    try:
        write_atomic(output, out)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")


def register(app: typer.Typer) -> None:
    """Add ``diagram`` to the ``cloudtwin`` app."""
    app.command("diagram")(diagram_command)
