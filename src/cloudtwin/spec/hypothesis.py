"""The steady-state hypothesis: what must hold when the run ends, in the spirit of Chaos
Toolkit's ``steady-state-hypothesis`` and of FIS stop conditions.

``hypothesis: {availability: ">= 99.9%", p99: "<= 500ms", messages_lost: 0}`` states
tolerances; :mod:`cloudtwin.hypothesis` checks them against the results. Availability and the
latency percentiles hold for each workload (or those listed in ``workloads``); the message and
session counts are the run's totals.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from cloudtwin.spec.base import Model, Name
from cloudtwin.spec.units import parse_duration

_AVAIL_RE = re.compile(r"^\s*(>=)?\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")
_LAT_RE = re.compile(r"^\s*(<=)?\s*(.+?)\s*$")


def _availability(v: Any) -> Any:
    """A fraction in [0, 1] from ``">= 99.9%"``, ``"99.9%"``, ``0.999`` or ``">= 0.999"``."""
    if isinstance(v, bool):
        raise ValueError(f"expected an availability like \">= 99.9%\", got {v!r}")
    if isinstance(v, int | float):
        x = float(v)
    else:
        m = _AVAIL_RE.match(str(v))
        if m is None:
            raise ValueError(f"expected an availability like \">= 99.9%\" (at least), got {v!r}")
        x = float(m.group(2)) / (100.0 if m.group(3) else 1.0)
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"an availability is between 0% and 100%, got {v!r}")
    return x


def _latency(v: Any) -> Any:
    """Seconds from ``"<= 500ms"`` or ``500ms`` (at most)."""
    if isinstance(v, str) and (m := _LAT_RE.match(v)):
        return parse_duration(m.group(2))
    return parse_duration(v)


Availability = Annotated[float, BeforeValidator(_availability)]
Latency = Annotated[float, BeforeValidator(_latency)]


class Hypothesis(Model):
    """What must hold: each key a tolerance, checked when the run ends."""

    availability: Availability | None = None
    p50: Latency | None = None
    p90: Latency | None = None
    p99: Latency | None = None
    p999: Latency | None = None
    messages_lost: int | None = Field(None, ge=0)
    sessions_lost: int | None = Field(None, ge=0)
    workloads: list[Name] | None = Field(None, min_length=1)
    stop: bool = False  # the availability and p99 tolerances also stop the experiment (cloudtwin.experiment)

    @model_validator(mode="after")
    def _something(self) -> Hypothesis:
        if not any(getattr(self, k) is not None for k in CHECKS):
            raise ValueError(f"a hypothesis states at least one of {', '.join(CHECKS)}")
        return self


CHECKS = ("availability", "p50", "p90", "p99", "p999", "messages_lost", "sessions_lost")
