"""``cloudtwin export-fis``: write a spec's faults as an AWS FIS experiment template
(:mod:`cloudtwin.fis_export`), checked against the template structure
(:mod:`cloudtwin.fis_template`) before it is written.

The faults FIS cannot express are named on stderr as ``file:line: faults[i]: not exported: why``.
Exit codes: 0 written, 2 bad input (the spec; no fault that FIS can express).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from cloudtwin.cli_output import Format, OutputOpt, emit

__all__ = ["export_fis", "register"]


def export_fis(
    spec: Annotated[str, typer.Argument(help="A spec file, or a built-in blueprint name.")],
    output: OutputOpt = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="json: the template (default); text: its "
                                        "actions, one a line, for people.")] = Format.json,
) -> None:
    """Write SPEC's faults as an AWS FIS experiment template (JSON; stdout, or -o FILE)."""
    from cloudtwin.cli import _fail, _load
    from cloudtwin.errors import InvariantViolation
    from cloudtwin.fis_export import export
    from cloudtwin.fis_template import check_template

    arch = _load(spec)
    from cloudtwin.cli import _LOCATED

    located = _LOCATED.get(id(arch))
    ex = export(arch)

    def where(i: int) -> str:
        if i < 0 or located is None:
            return f"{spec}: " if i < 0 else f"{spec}: faults[{i}]: "
        return f"{located.issue(('faults', i), '')}".rstrip(": ") + ": "

    for i, why in ex.unmapped:
        typer.echo(f"{where(i)}not exported: {why}", err=True)
    for i, note in ex.notes:
        typer.echo(f"{where(i)}note: {note}", err=True)
    if not arch.faults:
        _fail(f"{spec}: {arch.name} states no faults; nothing to export")
    if not ex.template["actions"]:
        _fail(f"{spec}: no fault of {arch.name} can be written as an FIS action; nothing to export")
    problems = check_template(ex.template)
    if problems:  # a template cloudtwin wrote that FIS would refuse is a bug in the exporter
        raise InvariantViolation("export-fis wrote an invalid template: " + "; ".join(problems))
    emit(json.dumps(ex.template, indent=2) if fmt == Format.json else _text(ex.template), output)
    if output is not None and fmt == Format.json:
        n, t = len(ex.template["actions"]), len(ex.template["targets"])
        typer.echo(f"wrote {output}: {n} actions on {t} targets, {len(ex.unmapped)} fault(s) not exported; "
                   f"create it with: aws fis create-experiment-template --cli-input-json file://{output}", err=True)


def _text(t: dict[str, Any]) -> str:
    """The template's actions, one a line: name, action id, parameters, targets, startAfter."""
    lines = [t["description"]]
    for name, a in t["actions"].items():
        params = " ".join(f"{k}={v}" for k, v in a["parameters"].items())
        on = " ".join(f"{role}={tn}" for role, tn in a["targets"].items())
        after = f" after {', '.join(a['startAfter'])}" if a.get("startAfter") else ""
        lines.append(f"{name}: {a['actionId']} {params} {on}{after}".replace("  ", " ").rstrip())
    lines.append("stop conditions: " + ", ".join(c.get("value", c["source"]) for c in t["stopConditions"]))
    return "\n".join(lines) + "\n"


def register(app: typer.Typer) -> None:
    """Add ``export-fis`` to the ``cloudtwin`` app."""
    app.command("export-fis")(export_fis)
