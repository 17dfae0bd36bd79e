"""The Python DSL's objects: an architecture being built, its components, zones and workloads.

Each object remembers the line of the user's code that made it, so the spec it becomes is
validated exactly as a YAML spec is, and its errors point at the Python file and line
(``my_app.py:14: components.web.capacity.min: ...``).
"""

from __future__ import annotations

import contextvars
import sys
from collections.abc import Iterable
from typing import Any

from cloudtwin.errors import Issue, SpecError

__all__ = ["Arch", "Component", "Workload", "Zone", "current", "where"]

_ARCH: contextvars.ContextVar[Arch | None] = contextvars.ContextVar("cloudtwin_dsl_arch", default=None)
_ZONES: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("cloudtwin_dsl_zones", default=())
_OURS = __name__.rsplit(".", 1)[0]  # cloudtwin.dsl


def where() -> tuple[str, int]:
    """``(file, line)`` of the user's code calling into the DSL."""
    f = sys._getframe(1)
    while f is not None and f.f_globals.get("__name__", "").startswith(_OURS):
        f = f.f_back  # type: ignore[assignment]
    return (f.f_code.co_filename, f.f_lineno) if f is not None else ("<python>", 0)


def current() -> Arch:
    arch = _ARCH.get()
    if arch is None:
        file, line = where()
        raise SpecError([Issue("", "a component, zone or workload is made inside `with Arch(...)`", file, line)])
    return arch


class Arch:
    """``with Arch("my-app", zones="ab") as arch: ...``, then ``arch.build()`` for the validated
    :class:`cloudtwin.Architecture`. Other keyword arguments are top-level spec keys
    (``region``, ``description``, ``network``, ``account``...); ``duration`` and ``seed`` fill
    the ``simulate`` block."""

    def __init__(self, name: str, *, zones: Iterable[str] = "ab", duration: str | float | None = None,
                 seed: int | None = None, **keys: Any) -> None:
        self.name = name
        self.keys: dict[str, Any] = {"zones": list(zones), **keys}
        simulate = {k: v for k, v in (("duration", duration), ("seed", seed)) if v is not None}
        if simulate:
            self.keys["simulate"] = simulate
        self.components: dict[str, Component] = {}
        self.workloads: dict[str, Workload] = {}
        self.faults: list[tuple[dict[str, Any], tuple[str, int]]] = []
        self.file, self.line = where()
        self._token: contextvars.Token[Arch | None] | None = None

    def __enter__(self) -> Arch:
        self._token = _ARCH.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _ARCH.reset(self._token)

    def add(self, comp: Component) -> None:
        if comp.name in self.components:
            file, line = comp.made_at
            first = self.components[comp.name].made_at
            raise SpecError([Issue(f"components.{comp.name}", f"a second component named {comp.name!r} (the first is "
                                   f"at line {first[1]})", file, line)])
        self.components[comp.name] = comp

    def fault(self, **keys: Any) -> None:
        """A scheduled fault, with the keys of the spec's ``faults:`` entries (``at``, ``az_outage``...)."""
        self.faults.append((keys, where()))

    def to_dict(self) -> tuple[dict[str, Any], dict[tuple[str | int, ...], int]]:
        """The spec as data, and the line of each path (in this object's file)."""
        from cloudtwin.dsl.data import plain

        lines: dict[tuple[str | int, ...], int] = {(): self.line, ("name",): self.line}
        data: dict[str, Any] = {"name": self.name, **{k: plain(v) for k, v in self.keys.items()}}
        comps: dict[str, Any] = {}
        for name, c in self.components.items():
            comps[name] = {"type": c.type, **{k: plain(v) for k, v in c.keys.items()}}
            lines[("components", name)] = c.made_at[1]
            for key, line in c.key_lines.items():
                lines[("components", name, key)] = line
        data["components"] = comps
        data["workloads"] = {n: plain(w.keys) for n, w in self.workloads.items()}
        for n, w in self.workloads.items():
            lines[("workloads", n)] = w.made_at[1]
        if self.faults:
            data["faults"] = [plain(k) for k, _ in self.faults]
            for i, (_, (_, line)) in enumerate(self.faults):
                lines[("faults", i)] = line
        return data, lines

    def build(self) -> Any:
        """The validated architecture; :class:`SpecError` with this file's lines otherwise."""
        from cloudtwin.spec import validate_data
        from cloudtwin.spec.loader import Located

        data, lines = self.to_dict()
        return validate_data(Located(data, lines, self.file))


class Zone:
    """``with Zone("a"):`` (or several letters): components made inside are placed there."""

    def __init__(self, *letters: str) -> None:
        self.letters = tuple(z for part in letters for z in part)
        self._token: contextvars.Token[tuple[str, ...]] | None = None

    def __enter__(self) -> Zone:
        self._token = _ZONES.set(self.letters)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _ZONES.reset(self._token)


class Component:
    """A component of the architecture being built: ``Component("alb", "lb", zones=["a", "b"])``,
    or one of the typed classes (``ALB("lb")``). Keyword arguments are the spec's keys; a
    component may stand wherever the spec names one. ``a >> b`` links two components the way
    the spec would (:mod:`cloudtwin.dsl.edges`) and returns ``b``; ``a >> [b, c]`` links both."""

    type = ""

    def __init__(self, *args: Any, **keys: Any) -> None:
        if type(self).type:
            if len(args) != 1:
                raise TypeError(f"{type(self).__name__}(name, **keys)")
            self.type, self.name = type(self).type, str(args[0])
        else:
            if len(args) != 2:
                raise TypeError("Component(type, name, **keys)")
            self.type, self.name = str(args[0]), str(args[1])
        self.made_at = where()
        self.keys: dict[str, Any] = dict(keys)
        self.key_lines: dict[str, int] = {}
        zones = _ZONES.get()
        if zones:
            _place(self, zones)
        current().add(self)

    def __repr__(self) -> str:
        return f"<{self.type} {self.name}>"

    def __rshift__(self, other: Component | list[Component]) -> Any:
        from cloudtwin.dsl.edges import connect

        line = where()[1]
        for o in other if isinstance(other, list) else [other]:
            connect(self, o, line)
        return other

    def __rrshift__(self, other: list[Component]) -> Component:
        from cloudtwin.dsl.edges import connect

        line = where()[1]
        for o in other:
            connect(o, self, line)
        return self


def _place(comp: Component, zones: tuple[str, ...]) -> None:
    from cloudtwin import catalogue

    if comp.type not in catalogue.ROWS:
        return
    fields = catalogue.resolve(catalogue.ROWS[comp.type].spec_model).model_fields
    if "zones" in fields:
        comp.keys.setdefault("zones", list(zones))
    elif "zone" in fields:
        comp.keys.setdefault("zone", zones[0])


class Workload:
    """``Workload("users", entry=dns, rate="200/s", ...)``: the spec's ``workloads:`` entry."""

    def __init__(self, name: str, **keys: Any) -> None:
        self.name = name
        self.keys = dict(keys)
        self.made_at = where()
        arch = current()
        if name in arch.workloads:
            raise SpecError([Issue(f"workloads.{name}", f"a second workload named {name!r}", *self.made_at)])
        arch.workloads[name] = self

