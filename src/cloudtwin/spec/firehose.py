"""Schema of ``firehose``: a delivery stream (Direct PUT quotas, buffering, transform, destinations).

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.firehose`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Model, Name, Prefix, Rate, Size, must_be
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution as _d
from cloudtwin.units import MIB

# [aws-facts §9 Firehose buffering hints]: SizeInMBs 1-128 for S3 (AWS's MB is MiB; 1 MB = 10^6 B is let in),
# IntervalInSeconds 0-900; the Lambda processor's buffer 0.2-3 MB.
BUFFER_RANGE = (1_000_000.0, 128 * MIB)


INTERVAL_MAX = 900.0


TRANSFORM_RANGE = (200_000.0, 3 * MIB)


RECORD_MAX = 1_024_000.0  # 1,000 KiB per record (Firehose limits page; not in aws-facts)


FORMATS = ("json", "parquet", "orc")



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


def check(arch: Any) -> list[tuple[Path, str]]:
    """A delivery stream's source, destinations and transform; no Direct PUT to a stream-sourced one."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type == "firehose":
            base: Path = ("components", n)
            must_be(out, comps, (*base, "source"), c.source, ("kinesis",), "source")
            must_be(out, comps, (*base, "s3"), c.s3, ("s3",), "destination bucket")
            must_be(out, comps, (*base, "redshift"), c.redshift, ("redshift",), "Redshift destination")
            if c.transform is not None:
                must_be(out, comps, (*base, "transform", "function"), c.transform.function, ("lambda",),
                        "transform function")
    for wname, w in arch.workloads.items():
        e = comps.get(w.entry)
        if e is not None and e.type == "firehose" and e.source is not None:
            out.append((("workloads", wname, "entry"), f"firehose {w.entry!r} reads kinesis stream {e.source!r}; "
                        "a stream-sourced delivery stream takes no Direct PUT (put to the stream instead)"))
    return out
