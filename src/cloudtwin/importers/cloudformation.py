"""CloudFormation templates: Parameters, Conditions, Mappings and the intrinsic functions that
decide an architecture's structure. Loading (safe, with line numbers, short-form tags as plain
data) is :mod:`cloudtwin.importers.cfn_yaml`.

Evaluation (:class:`Template`): a Ref to a parameter gives its value (``--param``, else its
Default, else a :class:`Unknown` placeholder), a Ref or GetAtt to a resource gives a
:class:`ResRef` (a reference between resources), Conditions are evaluated (a placeholder there is
an error asking for ``--param``), ``Fn::If`` picks its branch and ``AWS::NoValue`` drops a key.
Nothing from a template is ever run as code.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from cloudtwin.errors import Issue, SpecError
from cloudtwin.importers.cfn_refs import SUB_VAR, intrinsic, scan_refs
from cloudtwin.importers.cfn_yaml import load_template, parse_template
from cloudtwin.spec.loader import Located, format_path

__all__ = ["NO_VALUE", "ResRef", "Template", "Unknown", "load_template", "parse_template"]

Path = tuple[str | int, ...]

PSEUDO = ("AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
          "AWS::StackId", "AWS::StackName", "AWS::URLSuffix")
AZ_LETTERS = "abc"  # what Fn::GetAZs gives: the Region's first three AZs (an assumption; us-east-1 has six)


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


@dataclass(frozen=True)
class ResRef:
    """A Ref (``attr`` None) or GetAtt to a resource of the template."""

    name: str
    attr: str | None = None

    def __str__(self) -> str:
        return f"<{self.name}.{self.attr}>" if self.attr else f"<{self.name}>"


@dataclass(frozen=True)
class Unknown:
    """A value the template cannot tell before deployment: a parameter without a value
    (``param``), an imported value, an account id."""

    what: str
    param: str | None = None

    def __str__(self) -> str:
        return f"<{self.what}>"


def _norm(x: Any) -> str:
    """A value as CloudFormation compares it in Fn::Equals (everything is a string)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


@dataclass
class Template:
    """A loaded template with its parameters resolved. ``params`` are the ``--param`` values."""

    located: Located
    params: dict[str, str] = field(default_factory=dict)
    stack_name: str = "stack"
    region: str = "us-east-1"
    values: dict[str, Any] = field(default_factory=dict)  # parameter -> value (or Unknown)
    placeholders: list[tuple[str, str, int]] = field(default_factory=list)  # (parameter, type, line)
    _conditions: dict[str, bool] = field(default_factory=dict)
    _open: list[str] = field(default_factory=list)
    _props: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = self.located.data
        if not isinstance(data, dict):
            raise self.error((), "a template is a mapping with a Resources section")
        res = data.get("Resources")
        if not isinstance(res, dict) or not res:
            raise self.error(("Resources",) if "Resources" in data else (),
                             "the template has no Resources (a mapping of at least one resource)")
        for name, body in res.items():
            if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
                raise self.error(("Resources", name), f"resource {name!r} needs a Type")
        self.resources: dict[str, dict[str, Any]] = res
        for section in ("Parameters", "Mappings", "Conditions", "Outputs"):
            if section in data and not isinstance(data[section], dict):
                raise self.error((section,), f"{section} must be a mapping")
        if "AWS::Region" in self.params:
            self.region = self.params.pop("AWS::Region")
        self._resolve_parameters()
        self._check_references()
        self._check_cycles()
        for cond in data.get("Conditions") or {}:
            self.condition(cond, ("Conditions", cond))

    # -------------------------------------------------------- errors
    def line(self, path: Path) -> int:
        return self.located.line_of(path)

    def error(self, path: Path, message: str) -> SpecError:
        return SpecError([Issue(format_path(path), message, self.located.file, self.line(path))])

    # -------------------------------------------------------- parameters
    def _resolve_parameters(self) -> None:
        declared: dict[str, Any] = self.located.data.get("Parameters") or {}
        issues: list[Issue] = []
        for name in self.params:
            if name not in declared:
                close = difflib.get_close_matches(name, list(declared), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                have = ", ".join(declared) or "none"
                path: Path = ("Parameters",) if declared else ()
                issues.append(Issue(format_path(path), f"--param {name}: the template has no parameter "
                                    f"{name!r}{hint} (has: {have})", self.located.file, self.line(path)))
        for name, decl in declared.items():
            path = ("Parameters", name)
            if not isinstance(decl, dict):
                issues.append(Issue(format_path(path), "a parameter is a mapping with a Type",
                                    self.located.file, self.line(path)))
                continue
            ptype = str(decl.get("Type", "String"))
            if name in self.params:
                raw: Any = self.params[name]
            elif "Default" in decl and not ptype.startswith("AWS::SSM::"):
                raw = decl["Default"]
            else:
                why = "an SSM parameter" if ptype.startswith("AWS::SSM::") else "no Default"
                self.values[name] = Unknown(f"{name}: {why}", param=name)
                self.placeholders.append((name, ptype, self.line(path)))
                continue
            allowed = decl.get("AllowedValues")
            if isinstance(allowed, list) and name in self.params and _norm(raw) not in {_norm(a) for a in allowed}:
                issues.append(Issue(format_path(path), f"--param {name}={raw}: not one of the AllowedValues "
                                    f"{', '.join(_norm(a) for a in allowed)}", self.located.file, self.line(path)))
                continue
            if ptype == "Number":
                try:
                    num = float(str(raw))
                except ValueError:
                    issues.append(Issue(format_path(path), f"parameter {name} is a Number; got {raw!r}",
                                        self.located.file, self.line(path)))
                    continue
                self.values[name] = int(num) if num.is_integer() else num
            elif ptype.startswith("List<") or ptype == "CommaDelimitedList":
                self.values[name] = raw if isinstance(raw, list) else [s.strip() for s in str(raw).split(",")]
            else:
                self.values[name] = raw
        if issues:
            raise SpecError(issues)

    # -------------------------------------------------------- whole-template checks
    def _check_references(self) -> None:
        data = self.located.data
        conds = data.get("Conditions") or {}
        known = set(self.values) | set(PSEUDO) | set(self.resources)
        issues: list[Issue] = []

        def bad(path: Path, message: str) -> None:
            issues.append(Issue(format_path(path), message, self.located.file, self.line(path)))

        def hint(name: str, pool: Any) -> str:
            close = difflib.get_close_matches(name, list(pool), n=1)
            return f"; did you mean {close[0]!r}?" if close else ""

        for section in ("Resources", "Outputs", "Conditions"):
            for kind, name, path in scan_refs(data.get(section) or {}, (section,)):
                if kind == "Condition":
                    if name not in conds:
                        bad(path, f"condition {name!r} is not in Conditions{hint(name, conds)}")
                elif kind == "GetAtt" and name not in self.resources:
                    bad(path, f"GetAtt of {name!r}: not a resource of the template{hint(name, self.resources)}")
                elif name not in known:
                    bad(path, f"{kind} to {name!r}: not a parameter, resource or pseudo parameter"
                        f"{hint(name, known)}")
        for name, body in self.resources.items():
            cond = body.get("Condition")
            if cond is not None and cond not in conds:
                bad(("Resources", name, "Condition"),
                    f"condition {cond!r} is not in Conditions{hint(str(cond), conds)}")
            for i, dep in enumerate(self.depends_on(name)):
                if dep not in self.resources:
                    p: Path = ("Resources", name, "DependsOn", i) if isinstance(body.get("DependsOn"), list) else \
                        ("Resources", name, "DependsOn")
                    bad(p, f"DependsOn {dep!r}: not a resource of the template{hint(dep, self.resources)}")
        if issues:
            raise SpecError(issues)

    def depends_on(self, name: str) -> list[str]:
        d = self.resources[name].get("DependsOn")
        return [d] if isinstance(d, str) else [x for x in d if isinstance(x, str)] if isinstance(d, list) else []

    def edges(self, name: str) -> list[str]:
        """The resources ``name`` refers to or depends on, in the template's order."""
        out = [n for k, n, _ in scan_refs(self.resources[name], ()) if k != "Condition" and n in self.resources]
        out += self.depends_on(name)
        return list(dict.fromkeys(out))

    def _check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1 on the stack, 2 done
        stack: list[str] = []

        def visit(n: str) -> None:
            state[n] = 1
            stack.append(n)
            for m in self.edges(n):
                if state.get(m) == 1:
                    cycle = stack[stack.index(m):] + [m]
                    raise self.error(("Resources", m), "circular dependency (Ref, GetAtt, Sub or DependsOn): "
                                     + " -> ".join(cycle))
                if m not in state:
                    visit(m)
            stack.pop()
            state[n] = 2

        for n in self.resources:
            if n not in state:
                visit(n)

    # -------------------------------------------------------- conditions
    def condition(self, name: str, path: Path) -> bool:
        if name in self._conditions:
            return self._conditions[name]
        conds = self.located.data.get("Conditions") or {}
        if name not in conds:
            raise self.error(path, f"condition {name!r} is not in Conditions")
        if name in self._open:
            raise self.error(("Conditions", name), "circular condition: " + " -> ".join([*self._open, name]))
        self._open.append(name)
        try:
            value = self._cond(conds[name], ("Conditions", name), name)
        finally:
            self._open.pop()
        self._conditions[name] = value
        return value

    def _cond(self, value: Any, path: Path, name: str) -> bool:
        fn = intrinsic(value)
        if fn is None:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise self.error(path, "a condition is Fn::Equals, Fn::Not, Fn::And, Fn::Or or a Condition")
        k, v = fn
        p = (*path, k)
        if k == "Condition":
            return self.condition(str(v), p)
        if k == "Fn::Equals":
            if not isinstance(v, list) or len(v) != 2:
                raise self.error(p, "Fn::Equals takes a list of two values")
            a, b = (self.need(self.resolve(x, (*p, i)), (*p, i), f"Condition {name}") for i, x in enumerate(v))
            return _norm(a) == _norm(b)
        if k in ("Fn::Not", "Fn::And", "Fn::Or"):
            if not isinstance(v, list) or not v:
                raise self.error(p, f"{k} takes a list of conditions")
            got = [self._cond(x, (*p, i), name) for i, x in enumerate(v)]
            return not got[0] if k == "Fn::Not" else all(got) if k == "Fn::And" else any(got)
        raise self.error(p, f"{k} is not a condition function")

    def need(self, value: Any, path: Path, why: str) -> Any:
        """``value``, known: a placeholder here decides structure and is an error."""
        if isinstance(value, Unknown):
            if value.param is not None:
                decl: Path = ("Parameters", value.param)
                raise SpecError([Issue(format_path(decl), f"parameter {value.param!r} has no value and decides the "
                                       f"architecture ({why}, line {self.line(path)}): pass --param "
                                       f"{value.param}=VALUE", self.located.file, self.line(decl))])
            raise self.error(path, f"{value.what} cannot be known before deployment, and it decides the "
                             f"architecture ({why})")
        return value

    # -------------------------------------------------------- values
    def included(self, name: str) -> bool:
        cond = self.resources[name].get("Condition")
        return cond is None or self.condition(str(cond), ("Resources", name, "Condition"))

    def props(self, name: str) -> dict[str, Any]:
        """The evaluated Properties of resource ``name``."""
        if name not in self._props:
            raw = self.resources[name].get("Properties") or {}
            got = self.resolve(raw, ("Resources", name, "Properties"))
            self._props[name] = got if isinstance(got, dict) else {}
        return self._props[name]

    def resolve(self, value: Any, path: Path) -> Any:
        fn = intrinsic(value)
        if fn is not None:
            return self._fn(fn[0], fn[1], (*path, fn[0]))
        if isinstance(value, dict):
            out = {k: self.resolve(v, (*path, k)) for k, v in value.items()}
            return {k: v for k, v in out.items() if v is not NO_VALUE}
        if isinstance(value, list):
            items = [self.resolve(v, (*path, i)) for i, v in enumerate(value)]
            return [v for v in items if v is not NO_VALUE]
        return value

    def _ref(self, name: str, path: Path) -> Any:
        if name in self.values:
            return self.values[name]
        if name in self.resources:
            return ResRef(name)
        pseudo = {"AWS::Region": self.region, "AWS::StackName": self.stack_name, "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com", "AWS::NotificationARNs": [], "AWS::NoValue": NO_VALUE}
        if name in pseudo:
            return pseudo[name]
        if name in PSEUDO:
            return Unknown(name)
        raise self.error(path, f"Ref to {name!r}: not a parameter, resource or pseudo parameter")

    def _fn(self, k: str, v: Any, p: Path) -> Any:  # noqa: C901 - one branch per function
        if k == "Ref":
            return self._ref(str(v), p)
        if k == "Fn::GetAtt":
            parts = v.split(".", 1) if isinstance(v, str) else v
            if not isinstance(parts, list) or len(parts) != 2:
                raise self.error(p, "Fn::GetAtt takes [resource, attribute]")
            attr = self.resolve(parts[1], (*p, 1))
            return ResRef(str(parts[0]), str(attr))
        if k == "Fn::If":
            if not isinstance(v, list) or len(v) != 3:
                raise self.error(p, "Fn::If takes [condition, value if true, value if false]")
            branch = 1 if self.condition(str(v[0]), (*p, 0)) else 2
            return self.resolve(v[branch], (*p, branch))
        if k in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
            return self._cond({k: v}, p[:-1], "a condition function")
        if k == "Fn::Sub":
            return self._sub(v, p)
        if k == "Fn::Join":
            if not isinstance(v, list) or len(v) != 2:
                raise self.error(p, "Fn::Join takes [delimiter, list]")
            items = self.resolve(v[1], (*p, 1))
            if isinstance(items, Unknown):
                return items
            if not isinstance(items, list):
                raise self.error(p, "Fn::Join needs a list to join")
            unknown = next((x for x in items if isinstance(x, Unknown)), None)
            text = str(v[0]).join(_norm(x) for x in items)
            return Unknown(text, unknown.param) if unknown else text
        if k == "Fn::Select":
            if not isinstance(v, list) or len(v) != 2:
                raise self.error(p, "Fn::Select takes [index, list]")
            idx = self.need(self.resolve(v[0], (*p, 0)), (*p, 0), "Fn::Select's index")
            items = self.resolve(v[1], (*p, 1))
            if isinstance(items, Unknown):
                return items
            try:
                return items[int(idx)]
            except (TypeError, ValueError, IndexError):
                raise self.error(p, f"Fn::Select: index {idx!r} is not in the list") from None
        if k == "Fn::Split":
            if not isinstance(v, list) or len(v) != 2:
                raise self.error(p, "Fn::Split takes [delimiter, string]")
            text = self.resolve(v[1], (*p, 1))
            return text.split(str(v[0])) if isinstance(text, str) else Unknown(f"Fn::Split of {text}")
        if k == "Fn::FindInMap":
            if not isinstance(v, list) or len(v) not in (3, 4):
                raise self.error(p, "Fn::FindInMap takes [map, top-level key, second-level key]")
            keys = [self.resolve(x, (*p, i)) for i, x in enumerate(v[:3])]
            unknown = next((x for x in keys if isinstance(x, Unknown)), None)
            if unknown is not None:
                return Unknown(f"Fn::FindInMap {'/'.join(map(str, keys))}", unknown.param)
            m, a, b = (_norm(x) for x in keys)
            maps = self.located.data.get("Mappings") or {}
            try:
                return self.resolve(maps[m][a][b], ("Mappings", m, a, b))
            except (KeyError, TypeError):
                if len(v) == 4 and isinstance(v[3], dict) and "DefaultValue" in v[3]:
                    return self.resolve(v[3]["DefaultValue"], (*p, 3, "DefaultValue"))
                raise self.error(p, f"Fn::FindInMap: Mappings has no {m}/{a}/{b}") from None
        if k == "Fn::GetAZs":
            return [f"{self.region}{z}" for z in AZ_LETTERS]
        if k == "Fn::Base64":
            return self.resolve(v, p)
        if k == "Fn::Length":
            items = self.resolve(v, p)
            return len(items) if isinstance(items, list) else Unknown("Fn::Length")
        if k == "Fn::ToJsonString":
            return json.dumps(self.resolve(v, p), default=str)
        if k == "Fn::ImportValue":
            return Unknown(f"ImportValue {self.resolve(v, p)}")
        return Unknown(k)  # Fn::Cidr, Fn::Transform, ...: nothing the architecture needs

    def _sub(self, v: Any, p: Path) -> Any:
        if isinstance(v, str):
            text, local = v, {}
        elif isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], dict):
            text, local = v[0], self.resolve(v[1], (*p, 1))
        else:
            raise self.error(p, "Fn::Sub takes a string or [string, variables]")
        unknown: list[Unknown] = []

        def one(m: re.Match[str]) -> str:
            name = m.group(1).strip()
            if name in local:
                got = local[name]
            elif "." in name and name.split(".", 1)[0] in self.resources:
                got = ResRef(*name.split(".", 1))
            else:
                got = self._ref(name, p)
            if isinstance(got, Unknown):
                unknown.append(got)
            return _norm(got)

        out = SUB_VAR.sub(one, text).replace("${!", "${")
        return Unknown(out, unknown[0].param) if unknown else out
