"""From an evaluated CloudFormation template to spec components.

:class:`Ctx` holds what the mapping builds: the components (plain dicts, in the spec's keys),
which resource each came from, the resources folded into a component (a target group into its
load balancer, an event source mapping into its function), the resources left unmapped, the
defaults taken for missing properties and the assumptions made. The resource types are mapped by
the family modules (:mod:`.map_compute`, :mod:`.map_data`, :mod:`.map_messaging`) through the
catalogue's CloudFormation column.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cloudtwin import catalogue
from cloudtwin.importers.cloudformation import ResRef, Template, Unknown

Mapper = Callable[["Ctx", str], None]


@dataclass
class Origin:
    logical: str
    type: str
    line: int


@dataclass
class Ctx:
    tpl: Template
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    origin: dict[str, Origin] = field(default_factory=dict)  # component -> resource
    names: dict[str, str] = field(default_factory=dict)  # resource -> component (planned)
    folded: dict[str, str] = field(default_factory=dict)  # resource -> component it is part of
    unmapped: list[tuple[str, str, int, str]] = field(default_factory=list)  # (resource, type, line, why)
    skipped: list[tuple[str, str, int, str]] = field(default_factory=list)  # resources a condition leaves out
    defaults: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    zones: dict[str, list[str]] = field(default_factory=dict)  # component -> its AZ letters

    # -------------------------------------------------------- resources
    def res_type(self, logical: str) -> str:
        return str(self.tpl.resources[logical]["Type"])

    def line(self, logical: str) -> int:
        return self.tpl.line(("Resources", logical))

    def of_type(self, *types: str) -> list[str]:
        return [n for n, r in self.tpl.resources.items() if r["Type"] in types and self.tpl.included(n)]

    def comp(self, value: Any) -> str | None:
        """The component a Ref/GetAtt (or an ARN built from one by Sub/Join) names, if any."""
        if isinstance(value, ResRef):
            return self.names.get(value.name)
        if isinstance(value, str | Unknown):
            for m in re.finditer(r"<([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?>", str(value)):
                if m.group(1) in self.names:
                    return self.names[m.group(1)]
        return None

    def target(self, value: Any) -> str | None:
        """The resource a Ref/GetAtt names (mapped or not)."""
        if isinstance(value, ResRef):
            return value.name
        if isinstance(value, str | Unknown):
            m = re.search(r"<([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?>", str(value))
            if m and m.group(1) in self.tpl.resources:
                return m.group(1)
        return None

    def fold(self, logical: str, into: str) -> None:
        self.folded.setdefault(logical, into)

    def leave(self, logical: str, why: str) -> None:
        self.names.pop(logical, None)
        self.unmapped.append((logical, self.res_type(logical), self.line(logical), why))

    def add(self, logical: str, spec: dict[str, Any]) -> None:
        name = self.names[logical]
        self.components[name] = spec
        self.origin[name] = Origin(logical, self.res_type(logical), self.line(logical))

    def default(self, logical: str, prop: str, key: str, value: Any, why: str = "AWS's default") -> Any:
        self.defaults.append(f"{self.names.get(logical, logical)}: {prop} not set -> {key}: {_show(value)} ({why})")
        return value

    def assume(self, text: str) -> None:
        if text not in self.assumptions:
            self.assumptions.append(text)

    # -------------------------------------------------------- property values
    def num(self, logical: str, props: dict[str, Any], prop: str, *, structural: bool = True) -> float | None:
        """A numeric property (CloudFormation writes many as strings), or None when absent."""
        if prop not in props:
            return None
        v = props[prop]
        path = ("Resources", logical, "Properties", prop)
        if isinstance(v, Unknown):
            if structural:
                self.tpl.need(v, path, f"{logical}.{prop}")
            return None
        try:
            return float(str(v))
        except ValueError:
            raise self.tpl.error(path, f"{prop} must be a number, got {v!r}") from None

    def int_(self, logical: str, props: dict[str, Any], prop: str, *, structural: bool = True) -> int | None:
        got = self.num(logical, props, prop, structural=structural)
        return None if got is None else int(got)

    def flag(self, props: dict[str, Any], prop: str) -> bool | None:
        v = props.get(prop)
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.lower() in ("true", "false"):
            return v.lower() == "true"
        return None

    def text(self, props: dict[str, Any], prop: str) -> str | None:
        v = props.get(prop)
        return v if isinstance(v, str) else None

    def zone_letter(self, az: Any) -> str | None:
        """``us-east-1a`` -> ``a`` (None for an unknown AZ)."""
        if isinstance(az, str) and re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d[a-z]", az):
            return az[-1]
        return None

    def subnet_zones(self, subnets: Any) -> tuple[list[str], int]:
        """The AZ letters of a list of subnets (those the template places), and how many subnets
        the list has (-1: unknown, a parameter without value)."""
        if isinstance(subnets, str):
            subnets = [subnets]
        if not isinstance(subnets, list):
            return [], -1
        out: list[str] = []
        for s in subnets:
            name = self.target(s)
            if name is not None and self.res_type(name) == "AWS::EC2::Subnet":
                z = self.zone_letter(self.tpl.props(name).get("AvailabilityZone"))
                if z:
                    out.append(z)
        return sorted(set(out)), len(subnets)


def kebab(logical: str) -> str:
    """A component name from a logical id: ``WebServerGroup`` -> ``web-server-group``."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", logical).lower()
    s = re.sub(r"[^a-z0-9_-]+", "-", s).strip("-_")
    if not s or not s[0].isalpha():
        s = f"r-{s}"
    return s[:64]


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def cfn_types(type_: str) -> tuple[str, ...]:
    return catalogue.row(type_).cfn


def plan_names(ctx: Ctx, mapped_types: set[str]) -> None:
    """Give each mapped resource its component name before any is built, so that a mapper can
    name the components it refers to."""
    taken: set[str] = set()
    for logical, body in ctx.tpl.resources.items():
        if body["Type"] not in mapped_types:
            continue
        if not ctx.tpl.included(logical):
            continue
        base = kebab(logical)
        name, i = base, 2
        while name in taken:
            name, i = f"{base[:60]}-{i}", i + 1
        taken.add(name)
        ctx.names[logical] = name
