"""Terraform ``.tf`` files (one file, or a directory of them), the fallback when there is no
``terraform show -json``: parsed by python-hcl2 (the ``terraform`` extra) into the resource list
:func:`cloudtwin.importers.terraform.build` translates.

Only what is known without Terraform is resolved: variables' defaults and ``--param NAME=VALUE``
(Terraform's ``-var``), ``locals``, ``count`` and ``for_each`` over known values (with
``count.index``, ``each.key`` and ``each.value``), string interpolation of those, and references
``TYPE.NAME[INDEX].ATTR`` to resources of the input. Any other expression (a function, a
conditional, a ``for``, a data source, a module output) is not evaluated: its references are
kept, its value is unknown and the header lists it. Nothing is ever evaluated as code.
"""

from __future__ import annotations

import bisect
import difflib
import json
import os
import re
from typing import Any

from cloudtwin import limits
from cloudtwin.errors import Issue, SpecError
from cloudtwin.fileio import read_text_bounded
from cloudtwin.importers.terraform import MAX_INSTANCES, MAX_RESOURCES, Notes, build
from cloudtwin.importers.tf_types import Res
from cloudtwin.spec.loader import Located

__all__ = ["is_hcl", "load"]

MAX_FILES = 100
_WHOLE = re.compile(r"^\$\{(.*)\}$", re.S)
_PART = re.compile(r"\$\{([^{}]*)\}")
_SIMPLE = re.compile(r"^(var|local)\.([A-Za-z_][\w-]*)$|^(count)\.index$|^each\.(key|value)$")
_REFS = re.compile(r"(?<![\w.])((?:[a-z][a-z0-9]*_[a-z0-9_]+)\.[A-Za-z_][\w-]*(?:\[[^\]]*\])?(?:\.[A-Za-z_]\w*)?)")


class _Unknown:
    def __init__(self, why: str) -> None:
        self.why = why


def is_hcl(path: str) -> bool:
    return path.endswith(".tf") or os.path.isdir(path)


def _files(path: str) -> list[str]:
    if not os.path.isdir(path):
        return [path]
    names = sorted(n for n in os.listdir(path) if n.endswith(".tf"))
    if not names:
        raise SpecError([Issue("", "the directory has no .tf files (nor is it a template file)", path, 1)])
    if len(names) > MAX_FILES:
        raise SpecError([Issue("", f"{len(names)} .tf files: more than cloudtwin reads ({MAX_FILES})", path, 1)])
    return [os.path.join(path, n) for n in names]


def _parse(file: str, budget: list[int]) -> tuple[dict[str, Any], _Index]:
    text = read_text_bounded(file, limits.MAX_TF_BYTES, "Terraform file")
    budget[0] -= len(text)
    if budget[0] < 0:  # python-hcl2 is slow: the files are bounded together
        raise SpecError([Issue("", f"the .tf files hold more than {limits.MAX_TF_BYTES:,} characters together "
                               "(import the JSON of `terraform show -json` instead)", file, 1)])
    try:
        import hcl2
        from hcl2 import SerializationOptions
    except ImportError:
        raise SpecError([Issue("", "a .tf file is read with python-hcl2 (8 or later): pip install "
                               "'cloudtwin[terraform]' (or import the JSON of `terraform show -json` instead)",
                               file, 1)]) from None
    try:
        data = hcl2.loads(text, serialization_options=SerializationOptions(with_comments=False,
                                                                           strip_string_quotes=True))
    except RecursionError:
        raise SpecError([Issue("", "the Terraform file nests too deeply", file, 1)]) from None
    except Exception as e:  # noqa: BLE001 - the parser's (lark's) errors carry a line; any other is the file's too
        line = getattr(e, "line", 1)
        first = " ".join(str(e).split("\n")[0].split())[:200]
        raise SpecError([Issue("", f"invalid HCL: {first}", file, line if isinstance(line, int) and line > 0
                               else 1)]) from None
    return data if isinstance(data, dict) else {}, _Index(text.splitlines())


def _blocks(data: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for item in data.get(kind) or []:
        if isinstance(item, dict):
            out += [(k, v) for k, v in item.items() if isinstance(v, dict)]
    return out


_BLOCK = re.compile(r'^\s*(resource|data|module|variable)\s+"([^"]*)"(?:\s+"([^"]*)")?\s*\{')


class _Index:
    """The lines of a file's blocks (one pass) and of their attributes (within the block)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.starts: dict[tuple[str, str, str], int] = {}
        self.order: list[int] = []
        for i, text in enumerate(lines):
            m = _BLOCK.match(text)
            if m:
                self.starts.setdefault((m.group(1), m.group(2), m.group(3) or ""), i + 1)
                self.order.append(i + 1)

    def block(self, kind: str, a: str, b: str = "") -> int:
        return self.starts.get((kind, a, b), 1)

    def attr(self, start: int, name: str) -> int:
        end = self.order[bisect.bisect_right(self.order, start)] if self.order and start < self.order[-1] \
            else len(self.lines) + 1
        rx = re.compile(rf"^\s*{re.escape(name)}\s*=")
        for i in range(start, end - 1):
            if rx.match(self.lines[i]):
                return i + 1
        return start


class _Scope:
    def __init__(self, variables: dict[str, Any], local_exprs: dict[str, Any]) -> None:
        self.vars = variables
        self.local_exprs = local_exprs
        self.locals: dict[str, Any] = {}
        self.open: list[str] = []
        self.index: Any = None
        self.each: tuple[Any, Any] | None = None

    def name(self, expr: str) -> Any:
        expr = expr.strip()
        length = re.fullmatch(r"length\((.+)\)", expr)
        if length:
            got = self.name(length.group(1))
            return len(got) if isinstance(got, list | dict | str) else got
        item = re.fullmatch(r"(.+)\[([^\[\]]+)\]", expr)
        if item:
            seq, key = self.name(item.group(1)), self.name(item.group(2))
            if isinstance(key, _Unknown):
                key = _param(item.group(2).strip())
            try:
                return seq[key] if isinstance(seq, list | dict) else seq
            except (IndexError, KeyError, TypeError):
                return _Unknown(f"`{expr}`: no such element")
        m = _SIMPLE.match(expr)
        if m is None:
            return _Unknown(f"`{' '.join(expr.split())[:80]}` is not evaluated")
        if m.group(1) == "var":
            return self.vars.get(m.group(2), _Unknown(f"var.{m.group(2)} is not declared"))
        if m.group(1) == "local":
            return self.local(m.group(2))
        if m.group(3):
            return self.index if self.index is not None else _Unknown("count.index outside a count")
        if self.each is None:
            return _Unknown("each outside a for_each")
        return self.each[0] if m.group(4) == "key" else self.each[1]

    def local(self, name: str) -> Any:
        if name in self.locals:
            return self.locals[name]
        if name not in self.local_exprs or name in self.open or len(self.open) > 20:
            return _Unknown(f"local.{name} is not known")
        self.open.append(name)
        value, _ = self.resolve(self.local_exprs[name])
        self.open.pop()
        self.locals[name] = value
        return value

    def resolve(self, v: Any) -> tuple[Any, Any]:
        """(value, references expression) of an HCL value; a value may be :class:`_Unknown`."""
        if isinstance(v, dict):
            items = {k: self.resolve(x) for k, x in v.items() if not k.startswith("__")}
            return {k: a for k, (a, _) in items.items()}, {k: b for k, (_, b) in items.items() if b}
        if isinstance(v, list):
            elems = [self.resolve(x) for x in v]
            if v and all(isinstance(x, dict) and x.get("__is_block__") for x in v):
                return [a for a, _ in elems], [b for _, b in elems]
            refs = [r for _, b in elems if isinstance(b, dict) for r in b.get("references", [])]
            return [a for a, _ in elems], ({"references": refs} if refs else None)
        if not isinstance(v, str):
            return v, None
        whole = _WHOLE.match(v)
        code = [whole.group(1)] if whole else _PART.findall(v)
        refs = [r for c in code for r in _REFS.findall(c)]
        expr = {"references": refs} if refs else None
        if whole and "${" not in whole.group(1):
            inner = whole.group(1).strip()
            if inner.startswith("jsonencode(") and inner.endswith(")"):  # a literal; its references stay references
                doc = _literal(inner[len("jsonencode("):-1])
                if doc is not None:
                    return json.dumps(doc), expr
            if refs:
                return _Unknown("a reference to another resource"), expr
            lst = re.fullmatch(r"toset\((\[.*\])\)|(\[.*\])", inner, re.S)
            if lst:
                try:
                    return json.loads(lst.group(1) or lst.group(2)), expr
                except ValueError:
                    pass
            return self.name(inner), expr

        def part(m: re.Match[str]) -> str:
            got = self.name(m.group(1))
            if isinstance(got, _Unknown | dict | list):
                raise ValueError
            return str(got).lower() if isinstance(got, bool) else str(got)

        try:
            return _PART.sub(part, v), expr
        except ValueError:
            return _Unknown(f"`{v[:80]}` is not known"), expr


def _known(value: Any, expr: Any, unknown: dict[str, Any], key: str) -> Any:
    """Drop the unknown values (they are absent, as after_unknown ones in a plan)."""
    if isinstance(value, _Unknown):
        if not expr:
            unknown[key] = value.why
        return None
    if isinstance(value, dict):
        return {k: _known(x, None, {}, k) for k, x in value.items() if not isinstance(x, _Unknown)}
    if isinstance(value, list):
        return [_known(x, None, {}, key) for x in value]
    return value


def _literal(text: str) -> Any:
    """An HCL object or tuple literal as data (references become null), or None if it is more."""
    js = _REFS.sub("null", text)
    js = re.sub(r'("?)([A-Za-z_][\w-]*)\1\s*=(?!=)', r'"\2":', js)
    try:
        return json.loads(js)
    except ValueError:
        return None


def _param(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def load(path: str, params: dict[str, str]) -> tuple[Located, Notes]:
    budget = [limits.MAX_TF_BYTES]
    parsed = [(f, *_parse(f, budget)) for f in _files(path)]
    params.pop("AWS::Region", None)  # the Region, not a variable
    declared: dict[str, tuple[Any, str, int]] = {}
    local_exprs: dict[str, Any] = {}
    for f, data, lines in parsed:
        for name, body in _blocks(data, "variable"):
            declared[name] = (body.get("default"), f, lines.block("variable", name))
        for item in data.get("locals") or []:
            if isinstance(item, dict):
                local_exprs.update({k: v for k, v in item.items() if not k.startswith("__")})
    for name in params:
        if name not in declared:
            close = difflib.get_close_matches(name, list(declared), n=1)
            raise SpecError([Issue("", f"--param {name}: no variable {name!r} is declared"
                                   f"{'; did you mean ' + repr(close[0]) + '?' if close else ''}", path, 1)])
    notes = Notes("Terraform configuration (.tf files read by python-hcl2; variables' defaults and --param "
                  "resolved, other expressions not evaluated); lines are the resources'")
    variables: dict[str, Any] = {}
    for name, (default, _f, _ln) in declared.items():
        if name in params:
            variables[name] = _param(params[name])
            notes.header.append(f"var.{name} = {params[name]} (--param)")
        elif default is not None:
            variables[name] = default
            notes.header.append(f"var.{name} = {json.dumps(default)} (default)")
        else:
            variables[name] = _Unknown(f"var.{name} has no default and no --param")
            notes.header.append(f"var.{name}: no value (no default; pass --param {name}=VALUE)")
    scope = _Scope(variables, local_exprs)
    resources: list[Res] = []
    known: set[str] = set()
    attr_lines: dict[tuple[str, str], int] = {}
    many = len(parsed) > 1
    for f, data, lines in parsed:
        for name, body in _blocks(data, "provider"):
            region, _ = scope.resolve(body.get("region"))
            if name == "aws" and isinstance(region, str):
                notes.region = region
        for item in data.get("data") or []:
            for dtype, group in (item.items() if isinstance(item, dict) else []):
                for dname in (group if isinstance(group, dict) else {}):
                    line = lines.block("data", dtype, str(dname))
                    notes.unresolved.append(f"data.{dtype}.{dname} ({os.path.basename(f)}, line {line}): data sources "
                                            "are not read (their attributes are unknown)")
        for mname, _body in _blocks(data, "module"):
            line = lines.block("module", mname)
            notes.unresolved.append(f"module.{mname} ({os.path.basename(f)}, line {line}): modules are not read; "
                                    "import the JSON of `terraform show -json` to include them")
        for rtype, group in ((k, v) for item in data.get("resource") or [] if isinstance(item, dict)
                             for k, v in item.items()):
            for rname, body in (group or {}).items():
                if rname.startswith("__") or not isinstance(body, dict):
                    continue
                base = f"{rtype}.{rname}"
                known.add(base)
                line = lines.block("resource", rtype, rname)
                for attr in body:
                    attr_lines[(base, attr)] = lines.attr(line, attr)
                file = os.path.basename(f)
                for index, each in _instances(scope, body, f, attr_lines.get((base, "count"), line),
                                              attr_lines.get((base, "for_each"), line), base):
                    scope.index, scope.each = (index, None) if each is None else (None, each)
                    raw = {k: v for k, v in body.items() if k not in ("count", "for_each", "depends_on", "lifecycle",
                                                                     "provider", "__is_block__")}
                    value, exprs = scope.resolve(raw)
                    unknown: dict[str, Any] = {}
                    values = {k: _known(x, exprs.get(k), unknown, k) for k, x in value.items()}
                    address = base if index is None else f"{base}[{json.dumps(index)}]"
                    resources.append(Res(address + (f" ({file})" if many else ""), base, "", rtype, rname, index,
                                         {k: x for k, x in values.items() if x is not None}, exprs, unknown, line))
                    if len(resources) > MAX_RESOURCES:
                        raise SpecError([Issue(base, f"more than {MAX_RESOURCES:,} resources: more than "
                                               "cloudtwin imports", f, line)])
                    scope.index, scope.each = None, None
    if not resources:
        raise SpecError([Issue("", "no resource blocks in the Terraform configuration", path, 1)])
    file = parsed[0][0] if not many else path

    def attr_line(res: Res, attr: str) -> int:
        return attr_lines.get((res.base, attr), res.line)

    return build(resources, known, file, notes, attr_line), notes


def _instances(scope: _Scope, body: dict[str, Any], file: str, count_line: int, each_line: int,
               base: str) -> list[tuple[Any, Any]]:
    """(index, (each.key, each.value)) for each instance of a resource."""
    if "count" in body:
        n, _ = scope.resolve(body["count"])
        if isinstance(n, bool) or not isinstance(n, int | float):
            why = n.why if isinstance(n, _Unknown) else f"not a number: {n!r}"
            raise SpecError([Issue(f"{base}.count", f"count must be known to import the resource ({why}); "
                                   "pass --param for its variables", file, count_line)])
        if not 0 <= n <= MAX_INSTANCES:
            raise SpecError([Issue(f"{base}.count", f"count = {n}: cloudtwin imports 0 to {MAX_INSTANCES} instances "
                                   "of a resource", file, count_line)])
        return [(i, None) for i in range(int(n))]
    if "for_each" in body:
        items, _ = scope.resolve(body["for_each"])
        if isinstance(items, list):
            pairs = [(str(x), x) for x in items]
        elif isinstance(items, dict):
            pairs = list(items.items())
        else:
            why = items.why if isinstance(items, _Unknown) else f"not a set or map: {items!r}"
            raise SpecError([Issue(f"{base}.for_each", f"for_each must be known to import the resource ({why})",
                                   file, each_line)])
        if len(pairs) > MAX_INSTANCES:
            raise SpecError([Issue(f"{base}.for_each", f"{len(pairs)} instances: cloudtwin imports at most "
                                   f"{MAX_INSTANCES} of a resource", file, each_line)])
        return [(k, (k, v)) for k, v in pairs]
    return [(None, None)]
