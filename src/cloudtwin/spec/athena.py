"""Schema of ``athena``: a table over an S3 prefix and the queries that scan it.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.athena`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs; :func:`warnings` the legal settings worth a word.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Name, Prefix, Rate, Size, must_be
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution as _d

TABLE_FORMATS = ("csv", "json", "parquet", "orc")



class Athena(ComponentSpec):
    type: Literal["athena"]
    bucket: Name  # the table's data
    prefix: Prefix = ""
    format: Literal["csv", "json", "parquet", "orc"] = "csv"
    partitioned: bool = False
    partition_filter: float = Field(1.0, gt=0, le=1)  # share of the partitions a query's WHERE keeps
    columns_read: float = Field(1.0, gt=0, le=1)  # share of the columns read (columnar formats only)
    output_bucket: Name | None = None  # default: the table's bucket
    output_prefix: Prefix = "athena-results/"
    result_size: Size = Field(1_000_000.0, gt=0)  # assumption: one result object per query
    every: Duration | None = Field(None, ge=1)  # also run the query on this schedule
    active_queries: int = Field(25, ge=1, le=10_000)  # running + queued; us-east-1 figure unconfirmed [§18]
    start_rate: Rate = Field(20.0, gt=0)  # StartQueryExecution [aws-facts §18 Athena API rate]
    start_burst: int = Field(80, ge=1, le=100_000)  # [aws-facts §18 Athena API rate]
    overhead: Dist = Field(default_factory=lambda: _d("lognormal(median=800ms, p99=4s)"))  # assumption
    scan_rate: Size = Field(5e9, gt=0)  # bytes/s per query (assumption; see services/athena.py)
    timeout: Duration = Field(1800.0, ge=1, le=14_400)  # default unconfirmed; at most 240 min [§18]


def check(arch: Any) -> list[tuple[Path, str]]:
    """The table's and the results' buckets."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type == "athena":
            base: Path = ("components", n)
            must_be(out, comps, (*base, "bucket"), c.bucket, ("s3",), "table bucket")
            must_be(out, comps, (*base, "output_bucket"), c.output_bucket, ("s3",), "output bucket")
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Settings that have no effect on the table's format or layout."""
    out: list[tuple[Path, str]] = []
    for n, c in arch.components.items():
        if c.type != "athena":
            continue
        if not c.partitioned and c.partition_filter < 1:
            out.append((("components", n, "partition_filter"), "partition_filter has no effect on an unpartitioned "
                        "table: every query scans the whole prefix"))
        if c.format in ("csv", "json") and c.columns_read < 1:
            out.append((("components", n, "columns_read"), f"a {c.format} table is read whole row by row; "
                        "columns_read applies to parquet and orc"))
    return out
