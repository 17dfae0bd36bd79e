"""Terraform input: the JSON of ``terraform show -json`` (a plan or a state), translated into the
CloudFormation-shaped template the CloudFormation mappers read.

A plan's resources are ``planned_values.root_module`` (a state's: ``values.root_module``), with
their ``child_modules``; attributes known only after apply (ARNs, ids) are absent from them, so
references between resources come from the plan's ``configuration`` (each resource's
``expressions.<attr>.references``, e.g. ``["aws_sqs_queue.dlq.arn", "aws_sqs_queue.dlq"]``). A
state has no configuration; its ARNs and ids are known, and a value equal to another resource's
ARN, id, name or URL is a reference to it. Each translated resource keeps the line of its
Terraform resource in the JSON file. The plain ``.tf`` fallback (:mod:`.hcl`) builds the same
:class:`~.tf_types.Res` list and goes through :func:`build`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cloudtwin import limits
from cloudtwin.errors import Issue, SpecError
from cloudtwin.importers.mapping import Ctx
from cloudtwin.importers.tf_types import MERGES, NAMES, PRIMARY, TABLE, Res, View
from cloudtwin.importers.tf_view import json_doc
from cloudtwin.spec.loader import Located, Path

__all__ = ["MAX_INSTANCES", "MAX_RESOURCES", "Notes", "build", "finish", "from_json", "is_json"]

MAX_INSTANCES = limits.MAX_TF_INSTANCES  # instances of one resource (count / for_each): a real one has a few
MAX_RESOURCES = limits.MAX_COMPONENTS
_NOT_RESOURCES = {"var", "local", "data", "module", "each", "count", "path", "self", "terraform"}
_REF = re.compile(r"^([a-z][a-z0-9_]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)(\[[^\]]*\])?(?:\.([A-Za-z_]\w*))?")
_IDENTITY = ("arn", "id", "url", "name", "invoke_arn", "execution_arn", "dns_name", "public_ip", "function_name",
             "stage_name", "zone_id")


@dataclass
class Notes:
    """What the Terraform input adds to the import's header, and how to finish the mapping."""

    kind: str
    tf_type: dict[str, str] = field(default_factory=dict)  # logical id -> Terraform type
    address: dict[str, str] = field(default_factory=dict)  # logical id -> Terraform address
    merged: dict[str, str] = field(default_factory=dict)  # logical id -> the logical id it is part of
    unresolved: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    region: str | None = None


def is_json(located: Located) -> bool:
    d = located.data
    return isinstance(d, dict) and "format_version" in d and ("values" in d or "planned_values" in d)


def _camel(text: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", text) if w)


def _logicals(resources: list[Res]) -> None:
    """A logical id for each instance: ``OrdersDlq`` for ``aws_sqs_queue.orders_dlq``, with the
    type (``WebLb``) where two resources share a name, the module where two still clash, the index."""
    def base(r: Res, level: int) -> str:
        short = r.type.removeprefix("aws_")
        parts = [r.name] + ([short] if level > 0 else []) + ([r.module] if level > 1 else [])
        return _camel("_".join(parts)) or "R"

    level: dict[str, int] = {r.module + r.base: 0 for r in resources}
    primary = {r.module + r.base for r in resources if r.type in PRIMARY}
    for lvl in (1, 2):
        seen: dict[str, set[str]] = {}
        for r in resources:
            key = r.module + r.base
            seen.setdefault(base(r, level[key]), set()).add(key)
        for keys in seen.values():
            if len(keys) > 1:
                # the one component of the name keeps it (the queue `orders`, not its event source mapping)
                keep = keys & primary if lvl == 1 and len(keys & primary) == 1 else set()
                for k in keys - keep:
                    level[k] = lvl
    taken: set[str] = set()
    for r in resources:
        name = base(r, level[r.module + r.base])
        if not name[0].isalpha():
            name = "R" + name
        if r.index is not None:
            name += _camel(str(r.index)) or "X"
        final, i = name, 2
        while final in taken:
            final, i = f"{name}{i}", i + 1
        taken.add(final)
        r.logical = final


def _expr_at(exprs: Any, path: tuple[str | int, ...]) -> dict[str, Any] | None:
    cur = exprs
    for p in path:
        if isinstance(cur, dict) and ("references" in cur or "constant_value" in cur):
            break
        if isinstance(p, int):
            cur = cur[p] if isinstance(cur, list) and p < len(cur) else None
        else:
            cur = cur.get(p) if isinstance(cur, dict) else None
        if cur is None:
            return None
    return cur if isinstance(cur, dict) and "references" in cur else None


def _ref_dict(r: Res, attr: str | None) -> dict[str, Any]:
    if attr in (None, "id", "name"):
        return {"Ref": r.logical}
    return {"Fn::GetAtt": [r.logical, _camel(str(attr))]}


class _Linker:
    def __init__(self, resources: list[Res], known: set[str], file: str, attr_line: Any) -> None:
        self.by_base: dict[str, list[Res]] = {}
        for r in resources:
            self.by_base.setdefault(r.module + r.base, []).append(r)
        self.known = known  # every resource address of the configuration (some may have no instance)
        self.file = file
        self.attr_line = attr_line
        self.identity: dict[str, tuple[Res, str]] = {}
        for r in resources:
            for a in _IDENTITY:
                v = r.values.get(a)
                if isinstance(v, str) and len(v) >= 3:
                    self.identity.setdefault(v, (r, a))

    def __call__(self, res: Res, path: tuple[str | int, ...], attr: str) -> list[Any]:
        expr = _expr_at(res.exprs, path)
        if expr is not None:
            return self._from_refs(res, path, expr.get("references") or [])
        value = _value_at(res.values, path)
        head = str(path[0]) if path else ""
        if value is None and isinstance(res.values.get(head), str):  # inside a JSON document
            value = _value_at({head: json_doc(res.values[head])}, path)
        values = value if isinstance(value, list) else [value]
        out: list[Any] = []
        for v in values:
            got = self._identity(v) if isinstance(v, str) else None
            if got is not None and got[0] is not res:
                out.append(_ref_dict(*got))
        return out

    def _identity(self, v: str) -> tuple[Res, str] | None:
        """The resource whose ARN, id, name... ``v`` is (or, for an ARN, starts with: ``<execution_arn>/*/*``)."""
        if v in self.identity:
            return self.identity[v]
        if v.startswith("arn:") and "/" in v:
            head = v
            for _ in range(8):
                head = head.rsplit("/", 1)[0]
                if head in self.identity:
                    return self.identity[head]
                if "/" not in head:
                    break
        return None

    def _from_refs(self, res: Res, path: tuple[str | int, ...], refs: list[Any]) -> list[Any]:
        out: list[Any] = []
        seen: set[str] = set()
        for text in refs:
            m = _REF.match(str(text))
            if m is None or m.group(1) in _NOT_RESOURCES:
                continue
            base = f"{m.group(1)}.{m.group(2)}"
            key = res.module + base  # relative to the module (instance) of the resource
            if _unindexed(key) not in self.known:
                raise SpecError([Issue(f"{res.address}.{path[0]}", f"reference to {base}: no such resource in the "
                                       "configuration", self.file, self.attr_line(res, str(path[0])))])
            targets = self.by_base.get(key, [])
            idx = m.group(3)
            if idx is not None:
                want = idx[1:-1].strip('"')
                targets = [t for t in targets if str(t.index) == want] or targets
            elif len(targets) > 1 and res.index is not None:
                targets = [t for t in targets if t.index == res.index] or targets
            for t in targets:
                if t.logical not in seen:
                    seen.add(t.logical)
                    out.append(_ref_dict(t, m.group(4)))
        return out


def _unindexed(address: str) -> str:
    """``module.app[0].`` -> ``module.app.``: the configuration's address of a module instance."""
    return re.sub(r"\[[^\]]*\]", "", address)


def _value_at(values: Any, path: tuple[str | int, ...]) -> Any:
    cur = values
    for p in path:
        if isinstance(p, int):
            cur = cur[p] if isinstance(cur, list) and p < len(cur) else None
        else:
            cur = cur.get(p) if isinstance(cur, dict) else None
    return cur


def build(resources: list[Res], known: set[str], file: str, notes: Notes, attr_line: Any) -> Located:
    """The CloudFormation-shaped template of ``resources``, each at its Terraform line."""
    if len(resources) > MAX_RESOURCES:
        raise SpecError([Issue("", f"{len(resources):,} resources: more than cloudtwin imports "
                               f"({MAX_RESOURCES:,})", file, resources[MAX_RESOURCES].line)])
    _logicals(resources)
    link = _Linker(resources, known, file, attr_line)
    out: dict[str, dict[str, Any]] = {}
    lines: dict[Path, int] = {(): 1, ("Resources",): 1}
    by_logical = {r.logical: r for r in resources}
    later: list[tuple[Res, View]] = []
    for r in resources:
        notes.tf_type[r.logical] = r.type
        notes.address[r.logical] = r.address
        lines[("Resources", r.logical)] = r.line
        view = View(r, link)
        if r.type in TABLE:
            cfn, translate = TABLE[r.type]
            props = {k: v for k, v in translate(view).items() if v is not None}
            out[r.logical] = {"Type": cfn, "Properties": props}
        else:
            out[r.logical] = {"Type": NAMES.get(r.type, r.type)}
            if r.type in MERGES:
                later.append((r, view))
        notes.unresolved += [f"{r.address}, line {r.line}: {u}" for u in view.unresolved]
    for r, view in later:
        attr, ref_attr, merge = MERGES[r.type]
        got = view.refs(attr, attr=ref_attr)
        target = _logical_of(got[0]) if got else None
        if target is None or target not in by_logical or "Properties" not in out[target]:
            notes.unresolved.append(f"{r.address}, line {r.line}: {attr} names no resource of the input")
            continue
        before = len(view.unresolved)
        merge(view, out[target]["Properties"])
        notes.unresolved += [f"{r.address}, line {r.line}: {u}" for u in view.unresolved[before:]]
        notes.merged[r.logical] = target
    return Located({"Resources": out}, lines, file)


def _logical_of(ref: Any) -> str | None:
    if isinstance(ref, dict) and "Ref" in ref:
        return str(ref["Ref"])
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        return str(ref["Fn::GetAtt"][0])
    return None


def finish(ctx: Ctx, notes: Notes) -> None:
    """After the mapping: fold the merged resources into their components, and name every
    resource by its Terraform address and type."""
    made = {o.logical: n for n, o in ctx.origin.items()}
    for logical, target in notes.merged.items():
        comp = made.get(target) or ctx.folded.get(target)
        if comp is not None:
            ctx.unmapped = [u for u in ctx.unmapped if u[0] != logical]
            ctx.fold(logical, comp)
        else:
            ctx.unmapped = [(u[0], u[1], u[2], f"part of {notes.address[target]}, which is not mapped")
                            if u[0] == logical else u for u in ctx.unmapped]
    ctx.unmapped = [(notes.address.get(n, n), notes.tf_type.get(n, t), line, why) for n, t, line, why in ctx.unmapped]
    ctx.skipped = []
    for o in ctx.origin.values():
        o.type = f"{notes.address.get(o.logical, o.logical)} ({o.type})"


# ---------------------------------------------------------------- `terraform show -json`
def from_json(located: Located, params: dict[str, str]) -> tuple[Located, Notes]:
    data = located.data
    if any(k != "AWS::Region" for k in params):
        raise SpecError([located.issue(("format_version",), "--param: a Terraform plan or state has its variables "
                                       "applied already (pass -var to terraform plan instead)")])
    version = str(data.get("format_version", ""))
    if not version.startswith(("0.", "1.")):
        raise SpecError([located.issue(("format_version",), f"format_version {version!r}: cloudtwin reads the "
                                       "JSON output format 1.x of `terraform show -json`")])
    plan = "planned_values" in data
    top = ("planned_values",) if plan else ("values",)
    root = _at(located, (*top, "root_module"), dict)
    unknown: dict[str, Any] = {}
    for rc in data.get("resource_changes") or []:
        if isinstance(rc, dict) and isinstance((rc.get("change") or {}).get("after_unknown"), dict):
            unknown[str(rc.get("address"))] = rc["change"]["after_unknown"]
    config = data.get("configuration") if isinstance(data.get("configuration"), dict) else {}
    exprs: dict[str, tuple[dict[str, Any], Path]] = {}
    known: set[str] = set()
    _config_module(located, config.get("root_module"), ("configuration", "root_module"), "", exprs, known)
    resources: list[Res] = []
    _values_module(located, root, (*top, "root_module"), resources, exprs, unknown, known, depth=0)
    data_sources = sum(1 for r in resources if r.type == "")
    resources = [r for r in resources if r.type != ""]
    if not resources:
        raise SpecError([located.issue((*top, "root_module"), "the Terraform JSON has no managed resources")])
    kind = (f"Terraform {'plan' if plan else 'state'} JSON (`terraform show -json`, format_version {version}); "
            "lines are the resources' in that file")
    notes = Notes(kind)
    if data_sources:
        notes.header.append(f"{data_sources} data sources read (not resources; not simulated)")
    expr = ((((config.get("provider_config") or {}).get("aws") or {}).get("expressions") or {}).get("region") or {})
    region = expr.get("constant_value") if isinstance(expr, dict) else None
    for ref in (expr.get("references") or []) if isinstance(expr, dict) else []:
        var = ((data.get("variables") or {}).get(str(ref).removeprefix("var.")) or {}) \
            if str(ref).startswith("var.") else {}
        region = region or (var.get("value") if isinstance(var, dict) else None)
    notes.region = str(region) if isinstance(region, str) else None
    for r in resources:  # a state's ARNs name the Region
        m = re.match(r"arn:aws[\w-]*:[\w-]+:([a-z]{2}(?:-[a-z]+)+-\d):", str(r.values.get("arn", "")))
        if notes.region is None and m:
            notes.region = m.group(1)

    def attr_line(res: Res, attr: str) -> int:
        key = _unindexed(res.module) + res.base
        return located.line_of((*exprs[key][1], "expressions", attr)) if key in exprs else res.line

    return build(resources, known, located.file, notes, attr_line), notes


def _at(located: Located, path: Path, kind: type) -> Any:
    cur: Any = located.data
    for p in path:
        cur = cur.get(p) if isinstance(cur, dict) else None
    if not isinstance(cur, kind):
        raise SpecError([located.issue(path, f"{'.'.join(map(str, path))} must be "
                                       f"{'an object' if kind is dict else 'a list'}")])
    return cur


def _config_module(located: Located, mod: Any, path: Path, prefix: str,
                   exprs: dict[str, tuple[dict[str, Any], Path]], known: set[str]) -> None:
    if not isinstance(mod, dict) or len(path) > 40:
        return
    for i, r in enumerate(mod.get("resources") or []):
        if isinstance(r, dict) and r.get("mode", "managed") == "managed" and isinstance(r.get("address"), str):
            known.add(prefix + r["address"])
            e = r.get("expressions")
            exprs[prefix + r["address"]] = (e if isinstance(e, dict) else {}, (*path, "resources", i))
    for name, call in (mod.get("module_calls") or {}).items():
        if isinstance(call, dict):
            _config_module(located, call.get("module"), (*path, "module_calls", name, "module"),
                           f"{prefix}module.{name}.", exprs, known)


def _values_module(located: Located, mod: dict[str, Any], path: Path, out: list[Res],
                   exprs: dict[str, tuple[dict[str, Any], Path]], unknown: dict[str, Any], known: set[str],
                   depth: int) -> None:
    if depth > 20:
        raise SpecError([located.issue(path, "modules nest deeper than 20 levels")])
    res = mod.get("resources") or []
    if not isinstance(res, list):
        raise SpecError([located.issue((*path, "resources"), "resources must be a list")])
    for i, r in enumerate(res):
        rp = (*path, "resources", i)
        if not isinstance(r, dict) or not isinstance(r.get("address"), str) or not isinstance(r.get("type"), str):
            raise SpecError([located.issue(rp, "a resource is an object with an address and a type")])
        address = r["address"]
        module = str(mod.get("address", "")) + "." if mod.get("address") else ""
        base = re.sub(r"\[[^\]]*\]$", "", address.removeprefix(module))
        if r.get("mode", "managed") != "managed":
            out.append(Res(address, base, module, "", "", None, {}, {}, {}, 0))
            continue
        values: dict[str, Any] = r["values"] if isinstance(r.get("values"), dict) else {}
        if not exprs:  # a state: no configuration to say which resources exist
            known.add(_unindexed(module) + base)
        out.append(Res(address, base, module, r["type"], str(r.get("name", base.split(".")[-1])), r.get("index"),
                       values, exprs.get(_unindexed(module) + base, ({}, ()))[0], unknown.get(address) or {},
                       located.line_of(rp)))
    for j, child in enumerate(mod.get("child_modules") or []):
        if isinstance(child, dict):
            _values_module(located, child, (*path, "child_modules", j), out, exprs, unknown, known, depth + 1)
