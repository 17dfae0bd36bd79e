"""Schema of ``efs``: a regional file system.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.efs`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Dist, Zone
from cloudtwin.spec.units import parse_distribution as _d


class EFS(ComponentSpec):
    type: Literal["efs"]
    zones: list[Zone] | None = None  # mount targets; default one per spec zone
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=2ms, p99=10ms)"))  # assumption
    storage_gb: float = Field(10.0, gt=0)
    encrypted: bool = False  # at-rest encryption (assumption: the API default)

