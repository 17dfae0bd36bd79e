"""Schema of ``redshift``: a cluster, its queries and scheduled COPY loads.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.redshift`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Name, Prefix, Size, must_be
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution as _d

NODE_TYPES = ("dc2.large", "dc2.8xlarge", "ra3.xlplus", "ra3.4xlarge", "ra3.16xlarge")



class Redshift(ComponentSpec):
    type: Literal["redshift"]
    node_type: Literal["dc2.large", "dc2.8xlarge", "ra3.xlplus", "ra3.4xlarge", "ra3.16xlarge"] = "dc2.large"
    nodes: int = Field(2, ge=1, le=128)
    concurrency: int = Field(5, ge=1, le=50)  # WLM query slots (assumption: manual WLM's default queue of 5)
    query_time: Dist = Field(default_factory=lambda: _d("lognormal(median=500ms, p99=5s)"))  # assumption
    load_bucket: Name | None = None  # COPY source for the `load` op and `load_every`
    load_prefix: Prefix = ""
    load_every: Duration | None = Field(None, ge=1)
    load_rate: Size = Field(50e6, gt=0)  # COPY bytes/s per node (assumption)
    load_overhead: Duration = Field(2.0, ge=0)  # per COPY (assumption)


def check(arch: Any) -> list[tuple[Path, str]]:
    """The COPY source of scheduled loads."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type == "redshift":
            base: Path = ("components", n)
            must_be(out, comps, (*base, "load_bucket"), c.load_bucket, ("s3",), "COPY source")
            if c.load_every is not None and c.load_bucket is None:
                out.append(((*base, "load_every"), "scheduled loads need `load_bucket:`"))
    return out
