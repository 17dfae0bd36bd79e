"""Service-level objectives over a run's headline metrics: ``availability>=99.9%, p99<=200ms``.

Each term is ``METRIC OP VALUE`` with ``OP`` one of ``>=``, ``<=``, ``>``, ``<``. Metrics:
``availability`` (a fraction, or a percentage with ``%``), ``p50`` and ``p99`` (durations:
``200ms``, ``0.2s``), ``failed``, ``messages_lost`` and ``cost`` (the monthly bill, dollars).
A term's *violation* is how far the metric is on the wrong side of its bound, relative to the
bound (0 when it holds), which is what a constrained search minimises.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from cloudtwin.errors import Issue, SpecError

__all__ = ["Objective", "parse_slo"]

_TERM = re.compile(r"^\s*([a-z_0-9]+)\s*(>=|<=|>|<)\s*(\S+)\s*$")
_COLUMN = {"availability": "availability", "p50": "p50_ms", "p99": "p99_ms", "failed": "failed",
           "messages_lost": "messages_lost", "cost": "monthly_usd"}


@dataclass(frozen=True)
class Objective:
    metric: str  # the word the user wrote
    column: str  # the headline metric it reads
    op: str
    bound: float
    text: str = ""  # the bound as written (99.9%, 200ms)

    def violation(self, row: dict[str, Any]) -> float:
        """0 when the term holds; else the relative distance to the bound (inf without a value)."""
        v = row.get(self.column)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return math.inf
        v = float(v)
        ok = {">=": v >= self.bound, "<=": v <= self.bound, ">": v > self.bound, "<": v < self.bound}[self.op]
        if ok:
            return 0.0
        return abs(v - self.bound) / max(abs(self.bound), 1e-9) + 1e-9

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.text or format(self.bound, 'g')}"


def _fail(message: str) -> SpecError:
    return SpecError([Issue("--slo", message, "<command line>", 0)])


def _number(metric: str, text: str) -> float:
    from cloudtwin.spec.units import parse_duration

    if metric == "availability":
        pct = text.endswith("%")
        try:
            v = float(text[:-1] if pct else text)
        except ValueError:
            raise _fail(f"availability: {text!r} is not a number or a percentage") from None
        v = v / 100 if pct else v
        if not 0 <= v <= 1:
            raise _fail(f"availability: {text!r} is outside 0..100%")
        return v
    if metric in ("p50", "p99"):
        try:
            return parse_duration(text) * 1000.0
        except ValueError as exc:
            raise _fail(f"{metric}: {exc}") from None
    try:
        v = float(text.lstrip("$"))
    except ValueError:
        raise _fail(f"{metric}: {text!r} is not a number") from None
    if not math.isfinite(v) or v < 0:
        raise _fail(f"{metric}: {text!r} must be a finite number >= 0")
    return v


def parse_slo(text: str) -> list[Objective]:
    out = []
    for term in (t for t in text.split(",") if t.strip()):
        m = _TERM.match(term)
        if m is None:
            raise _fail(f"{term.strip()!r}: expected METRIC>=VALUE or METRIC<=VALUE, e.g. availability>=99.9%")
        metric, op, value = m.groups()
        if metric not in _COLUMN:
            raise _fail(f"{metric!r}: not a metric; use one of {', '.join(_COLUMN)}")
        out.append(Objective(metric, _COLUMN[metric], op, _number(metric, value), value))
    if not out:
        raise _fail("empty; e.g. --slo 'availability>=99.9%, p99<=200ms'")
    return out
