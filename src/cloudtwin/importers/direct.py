"""Templates where a spec is expected: ``cloudtwin run|review|diagram|sweep TEMPLATE``.

A file whose top level has ``Resources`` and no ``components`` is a CloudFormation (or SAM)
template; the JSON of ``terraform show -json`` and ``.tf`` files (or a directory of them) are
Terraform: it is imported as ``cloudtwin import`` would (stub workloads at the entry points
unless the template is given with a workload file through ``cloudtwin import``) and the spec
is used at once. Problems are reported at the template's lines, not the generated spec's: every
path under ``components.<name>`` points at the resource the component came from, and a
workload at the resource of its entry point. Anything else goes to the spec loader unchanged.
"""

from __future__ import annotations

import os
from typing import Any

from cloudtwin.spec.loader import Located, Path

__all__ = ["load_input"]


def _is_template(path: str) -> bool:
    if path.endswith(".tf"):
        return True
    if os.path.isdir(path):  # a directory of .tf files; any other directory: the spec loader refuses it
        try:
            with os.scandir(path) as it:
                return any(e.name.endswith(".tf") for e in it)
        except OSError:
            return False
    if not os.path.isfile(path):
        return False  # a blueprint name, or a missing file: the spec loader says which
    from cloudtwin.errors import SpecError
    from cloudtwin.importers.cfn_yaml import load_template

    try:
        located = load_template(path)
    except SpecError:
        return False  # not even YAML: the spec loader reports it as a spec
    data = located.data
    if not isinstance(data, dict) or "components" in data:
        return False  # a spec (the Terraform importer is not even loaded)
    from cloudtwin.importers import terraform

    return terraform.is_json(located) or "Resources" in data


def load_input(spec: str) -> tuple[Any, Located, str | None]:
    """``(architecture, located data, note)``: the spec, or the spec imported from a template (with
    a one-line note saying so, None for a spec)."""
    from cloudtwin.spec import load_spec_located

    if not _is_template(spec):
        arch, located = load_spec_located(spec)
        return arch, located, None
    from cloudtwin.importers.convert import import_template
    from cloudtwin.spec import parse_spec_located

    got = import_template(spec)
    arch, generated = parse_spec_located(got.text, file=spec)
    lines: dict[Path, int] = {(): 1}
    for name, origin in got.ctx.origin.items():
        lines[("components", name)] = origin.line
    for wname, w in got.workloads.items():
        entry = got.ctx.origin.get(str(w.get("entry", "")))
        if entry is not None:
            lines[("workloads", wname)] = entry.line
    located = Located(generated.data, lines, spec)
    n = len(got.stubs)
    stubs = f", {n} stub workload{'s' if n != 1 else ''}" if n else ""
    note = (f"{spec}: a template, imported ({len(arch.components)} components, {len(got.unmapped)} resources not "
            f"mapped{stubs}); `cloudtwin import {spec}` shows the spec and its assumptions")
    return arch, located, note
