"""The axes of a sweep: ``--set PATH=V1,V2,...``, and the configurations they make.

A path is written as validation messages write it (``components.web.capacity.desired``,
``workloads.users.rate``, ``faults[0].at``). ``PATH=LO..HI`` is every integer from LO to HI.
Otherwise each value is read as a YAML scalar (``4`` is a number, ``m5.large`` and ``30s`` are
strings) or a flow collection (``[a, b]``); commas inside brackets or parentheses do not split
values (``lognormal(median=5ms, p99=30ms)`` is one). The configurations are the cartesian
product of the axes, in the order the axes were given (the last axis varies fastest), as
OpenDC's experiments are.
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass
from typing import Any

import yaml

from cloudtwin.errors import Issue, SpecError
from cloudtwin.spec.loader import Located, Path, format_path

__all__ = ["MAX_RUNS", "Axis", "apply", "configurations", "parse_set"]

MAX_RUNS = 20_000  # configurations x seeds: a sweep beyond this is refused before anything runs (each
# configuration is validated first, about 0.5 ms each)
MAX_VALUES = 1_000  # values on one axis
_RANGE = re.compile(r"^\s*(-?\d{1,12})\s*\.\.\s*(-?\d{1,12})\s*$")
_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)|\[(\d{1,6})\]")


@dataclass(frozen=True)
class Axis:
    path: Path
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        return format_path(self.path)


def _fail(message: str) -> SpecError:
    return SpecError([Issue("--set", message, "<command line>", 0)])


def _parse_path(text: str) -> Path:
    out: list[str | int] = []
    pos = 0
    while pos < len(text):
        if out and text[pos] == ".":
            pos += 1
        m = _PART.match(text, pos)
        if m is None:
            raise _fail(f"{text!r}: not a spec path (write it as validation messages do, e.g. "
                        "components.web.capacity.desired or faults[0].at)")
        out.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if not out or not isinstance(out[0], str):
        raise _fail(f"{text!r}: a path starts with a key, e.g. components")
    return tuple(out)


def _split(text: str) -> list[str]:
    """Split on commas outside brackets and parentheses."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [v.strip() for v in out]


def _value(text: str, where: str) -> Any:
    if not text:
        raise _fail(f"{where}: an empty value")
    try:
        v = yaml.safe_load(text)
    except yaml.YAMLError:
        return text  # e.g. `exp(10ms)` is a string to the spec anyway
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        raise _fail(f"{where}: {text!r} is not a finite number")
    return v


def parse_set(text: str) -> Axis:
    """``PATH=V1,V2,...`` as an axis."""
    if "=" not in text:
        raise _fail(f"{text!r}: expected PATH=V1,V2,... (e.g. components.web.capacity.desired=2,4,6)")
    path_text, _, values_text = text.partition("=")
    path = _parse_path(path_text.strip())
    span = _RANGE.match(values_text)
    if span is not None:  # LO..HI: every integer from LO to HI
        lo, hi = int(span.group(1)), int(span.group(2))
        if not 0 <= hi - lo < MAX_VALUES:
            raise _fail(f"{path_text.strip()}: {values_text.strip()} must run upwards over at most {MAX_VALUES} values")
        return Axis(path, tuple(range(lo, hi + 1)))
    raw = _split(values_text)
    if len(raw) > MAX_VALUES:
        raise _fail(f"{path_text.strip()}: {len(raw)} values; at most {MAX_VALUES} per axis")
    values = tuple(_value(v, path_text.strip()) for v in raw)
    if len(set(map(repr, values))) != len(values):
        raise _fail(f"{path_text.strip()}: a value is given twice")
    return Axis(path, values)


def configurations(axes: list[Axis], seeds: int) -> list[dict[str, Any]]:
    """Every configuration: ``{axis name: value}``, the last axis varying fastest."""
    names = [a.name for a in axes]
    if len(set(names)) != len(names):
        raise _fail(f"the path {next(n for n in names if names.count(n) > 1)} is set twice")
    total = seeds
    for a in axes:
        total *= len(a.values)
        if total > MAX_RUNS:
            raise _fail(f"the sweep has more than {MAX_RUNS:,} runs (configurations x seeds); split it")
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(a.values for a in axes))]


def apply(located: Located, axes: list[Axis], config: dict[str, Any]) -> Located:
    """The spec data with ``config``'s values set (the parent of each path must exist; the last
    key may be new, as when a sweep sets a default the spec leaves out)."""
    data = copy.deepcopy(located.data)
    for axis in axes:
        cur: Any = data
        for i, part in enumerate(axis.path[:-1]):
            ok = (isinstance(cur, dict) and part in cur) or (isinstance(cur, list) and isinstance(part, int)
                                                             and part < len(cur))
            if not ok:
                raise SpecError([located.issue(axis.path[:i], f"--set {axis.name}: the spec has no "
                                               f"{format_path(axis.path[:i + 1])}")])
            cur = cur[part]
        last = axis.path[-1]
        settable = isinstance(cur, dict) and isinstance(last, str)
        settable |= isinstance(cur, list) and isinstance(last, int) and last < len(cur)
        if settable:
            cur[last] = config[axis.name]
        else:
            raise SpecError([located.issue(axis.path[:-1], f"--set {axis.name}: cannot set a value there")])
    return Located(data, located.lines, located.file)
