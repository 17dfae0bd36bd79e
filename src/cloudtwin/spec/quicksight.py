"""Schema of ``quicksight``: dashboards refreshed from Athena or Redshift.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.quicksight`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Name, must_be
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution as _d


class QuickSight(ComponentSpec):
    type: Literal["quicksight"]
    source: Name  # an athena workgroup or a redshift cluster
    mode: Literal["spice", "direct"] = "spice"
    refresh_every: Duration | None = Field(None, ge=60)
    view_latency: Dist = Field(default_factory=lambda: _d("lognormal(median=300ms, p99=2s)"))  # assumption
    authors: int = Field(1, ge=0, le=100_000)
    readers: int = Field(0, ge=0, le=10_000_000)


def check(arch: Any) -> list[tuple[Path, str]]:
    """A dashboard's source."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type == "quicksight":
            must_be(out, comps, ("components", n, "source"), c.source, ("athena", "redshift"), "dashboard source")
    return out
