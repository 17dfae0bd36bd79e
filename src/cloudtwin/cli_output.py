"""One output convention for every command.

``--format`` chooses what a command prints (``text`` for people, ``json`` for programs,
``sarif`` too for ``review``) and ``--output``/``-o FILE`` sends it to a file instead of
standard output, written atomically. Older spellings stay as aliases: ``run --json FILE``
(the results JSON as an extra file beside the summary), ``compare --json`` and
``blueprints --json`` (``--format json``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["Format", "FormatOpt", "OutputOpt", "emit"]


class Format(StrEnum):
    text = "text"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="text (for people) or json (for programs).")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write the output here instead of stdout.")]


def emit(text: str, output: Path | None) -> None:
    """Print ``text``, or write it to ``output`` (atomically); exit 2 if it cannot be written."""
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    from cloudtwin.fileio import write_atomic

    try:
        write_atomic(output, text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        typer.echo(f"cannot write {output}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
