"""Schemas of the analytics components: ``firehose``, ``athena``, ``redshift``, ``quicksight``.

Defaults cite aws-facts.md rows or the AWS page found for them; "assumption" marks a
default with no documented source (docs/spec.md lists them). :func:`check` holds the
cross-reference rules (a Firehose's source stream, bucket, transform function and
Redshift cluster; an Athena table's bucket; a dashboard's source) and :func:`warnings`
the legal settings worth a word (a partition filter on an unpartitioned table).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Model, Rate, Size
from cloudtwin.spec.units import parse_distribution

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
Prefix = Annotated[str, Field(pattern=r"^[A-Za-z0-9!_.*'()/=-]*$", max_length=512)]
Path = tuple[str | int, ...]

MIB = 1_048_576.0
# [aws-facts §9 Firehose buffering hints]: SizeInMBs 1-128 for S3 (AWS's MB is MiB; 1 MB = 10^6 B is let in),
# IntervalInSeconds 0-900; the Lambda processor's buffer 0.2-3 MB.
BUFFER_RANGE = (1_000_000.0, 128 * MIB)
INTERVAL_MAX = 900.0
TRANSFORM_RANGE = (200_000.0, 3 * MIB)
RECORD_MAX = 1_024_000.0  # 1,000 KiB per record (Firehose limits page; not in aws-facts)
FORMATS = ("json", "parquet", "orc")
TABLE_FORMATS = ("csv", "json", "parquet", "orc")
NODE_TYPES = ("dc2.large", "dc2.8xlarge", "ra3.xlplus", "ra3.4xlarge", "ra3.16xlarge")


def _d(text: str) -> Any:
    return parse_distribution(text)


def _mb(v: float) -> str:
    return f"{v / MIB:g} MiB"


class DirectPutQuota(Model):
    """Direct PUT limits of one delivery stream; they scale together [aws-facts §9 Firehose Direct PUT quota]."""

    records: Rate = Field(500_000.0, gt=0)
    requests: Rate = Field(2_000.0, gt=0)
    bytes_per_second: Size = Field(5 * MIB, gt=0)


class FirehoseTransform(Model):
    """A Lambda processor: Firehose buffers records, invokes ``function`` with each batch."""

    function: Name
    buffer_size: Size = 1 * MIB  # AWS Firehose guide "Transform source data": default 1 MB, 0.2-3 MB
    buffer_interval: Duration = Field(60.0, ge=0, le=INTERVAL_MAX)  # same page: default 60 s, 0-900 s
    retries: int = Field(3, ge=0, le=300)  # CDK DataProcessorProps: default 3 retries of a failed invocation
    error_rate: float = Field(0.0, ge=0, le=1)  # the share of records the function returns ProcessingFailed

    @field_validator("buffer_size")
    @classmethod
    def _size(cls, v: float) -> float:
        lo, hi = TRANSFORM_RANGE
        if not lo <= v <= hi:
            raise ValueError(f"a Firehose Lambda processor buffer is 0.2-3 MB [aws-facts §9 Firehose buffering "
                             f"hints], got {_mb(v)}")
        return v


class Firehose(ComponentSpec):
    type: Literal["firehose"]
    source: Name | None = None  # a kinesis stream; none: Direct PUT
    s3: Name  # the destination bucket (the staging bucket of a Redshift destination)
    prefix: Prefix = ""
    error_prefix: Prefix = "processing-failed/"  # AWS's default for records a transform failed
    redshift: Name | None = None  # COPY each delivered object into this cluster
    buffer_size: Size = 5 * MIB  # [aws-facts §9 Firehose buffering hints]
    buffer_interval: Duration = 300.0  # [aws-facts §9 Firehose buffering hints]
    transform: FirehoseTransform | None = None
    format: Literal["json", "parquet", "orc"] = "json"
    compression: Literal["none", "gzip", "snappy", "zip"] = "none"
    record_size: Size = Field(1024.0, gt=0)  # assumption
    direct_put: DirectPutQuota = Field(default_factory=DirectPutQuota)
    retry_duration: Duration | None = None  # default: S3 24 h, Redshift 3,600 s [aws-facts §9 Firehose retries]
    latency: Dist = Field(default_factory=lambda: _d("lognormal(median=20ms, p99=100ms)"))  # assumption
    delivery_time: Dist = Field(default_factory=lambda: _d("lognormal(median=500ms, p99=3s)"))  # assumption

    @field_validator("buffer_size")
    @classmethod
    def _buffer(cls, v: float) -> float:
        lo, hi = BUFFER_RANGE
        if not lo <= v <= hi:
            raise ValueError(f"a Firehose buffer_size is 1-128 MiB for S3 (AWS's SizeInMBs counts MiB) [aws-facts §9 "
                             f"Firehose buffering hints], got {_mb(v)}")
        return v

    @field_validator("buffer_interval")
    @classmethod
    def _interval(cls, v: float) -> float:
        if v > INTERVAL_MAX:
            raise ValueError(f"a Firehose buffer_interval is 0-900 s [aws-facts §9 Firehose buffering hints], "
                             f"got {v:g}s")
        return v

    @field_validator("record_size")
    @classmethod
    def _record(cls, v: float) -> float:
        if v > RECORD_MAX:
            raise ValueError(f"a Firehose record is at most 1,000 KiB, got {v:g} bytes")
        return v

    @model_validator(mode="after")
    def _shape(self) -> Firehose:
        if self.format != "json" and self.compression != "none":
            raise ValueError(f"a Firehose converting to {self.format} compresses inside the file (Snappy); "
                             "set compression: none")
        top = 7200.0 if self.redshift else 86_400.0  # [aws-facts §9 Firehose retries]
        if self.retry_duration is not None and self.retry_duration > top:
            raise ValueError(f"retry_duration to {'Redshift' if self.redshift else 'S3'} is at most {top:g}s "
                             "[aws-facts §9 Firehose retries]")
        return self

    @property
    def retry_limit(self) -> float:
        if self.retry_duration is not None:
            return self.retry_duration
        return 3600.0 if self.redshift else 86_400.0  # Redshift: AWS's default 3,600 s (assumption)


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


class QuickSight(ComponentSpec):
    type: Literal["quicksight"]
    source: Name  # an athena workgroup or a redshift cluster
    mode: Literal["spice", "direct"] = "spice"
    refresh_every: Duration | None = Field(None, ge=60)
    view_latency: Dist = Field(default_factory=lambda: _d("lognormal(median=300ms, p99=2s)"))  # assumption
    authors: int = Field(1, ge=0, le=100_000)
    readers: int = Field(0, ge=0, le=10_000_000)


def check(arch: Any) -> list[tuple[Path, str]]:
    """Cross-reference problems of these components."""
    out: list[tuple[Path, str]] = []
    comps = arch.components

    def need(path: Path, name: str | None, kinds: tuple[str, ...], what: str) -> None:
        if name is None:
            return
        c = comps.get(name)
        if c is None or c.type not in kinds:
            got = "not a component" if c is None else f"a {c.type}"
            out.append((path, f"{what} {name!r} must be {' or '.join(kinds)}; it is {got}"))

    for n, c in comps.items():
        base: Path = ("components", n)
        if c.type == "firehose":
            need((*base, "source"), c.source, ("kinesis",), "source")
            need((*base, "s3"), c.s3, ("s3",), "destination bucket")
            need((*base, "redshift"), c.redshift, ("redshift",), "Redshift destination")
            if c.transform is not None:
                need((*base, "transform", "function"), c.transform.function, ("lambda",), "transform function")
        elif c.type == "athena":
            need((*base, "bucket"), c.bucket, ("s3",), "table bucket")
            need((*base, "output_bucket"), c.output_bucket, ("s3",), "output bucket")
        elif c.type == "redshift":
            need((*base, "load_bucket"), c.load_bucket, ("s3",), "COPY source")
            if c.load_every is not None and c.load_bucket is None:
                out.append(((*base, "load_every"), "scheduled loads need `load_bucket:`"))
        elif c.type == "quicksight":
            need((*base, "source"), c.source, ("athena", "redshift"), "dashboard source")
    for wname, w in arch.workloads.items():
        e = comps.get(w.entry)
        if e is not None and e.type == "firehose" and e.source is not None:
            out.append((("workloads", wname, "entry"), f"firehose {w.entry!r} reads kinesis stream {e.source!r}; "
                        "a stream-sourced delivery stream takes no Direct PUT (put to the stream instead)"))
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Legal settings worth a word."""
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
