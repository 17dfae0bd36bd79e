"""Schema of ``cloudtrail``: a trail delivering management events to a bus.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.cloudtrail`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Dist, Name, expect
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution as _d


class CloudTrail(ComponentSpec):
    type: Literal["cloudtrail"]
    bus: Name
    service: str = Field("iam", pattern=r"^[a-z0-9-]+$", max_length=64)
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=20ms, p99=100ms)"))  # the API call; assumption
    delivery_delay: Dist = Field(default_factory=lambda: _d("lognormal(median=30s, p99=3m)"))  # assumption
    best_effort_loss: float = Field(0.0, ge=0, le=1)


def check(arch: Any) -> list[tuple[Path, str]]:
    """The event bus a trail delivers to."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type == "cloudtrail":
            expect(out, comps, ("components", n, "bus"), c.bus, ("eventbridge",), "event bus")
    return out
