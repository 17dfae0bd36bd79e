"""Schema of ``kinesis``: a data stream and its Lambda consumers (shared by DynamoDB Streams).

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.kinesis`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, KeyDist, Model, Name, Size, what_is
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution, parse_key_distribution

SHARD_MAX = 10_000_000  # a bound on the input; the account's shard quota is checked in cloudtwin.spec.account


class StreamConsumer(Model):
    """A Lambda event source mapping on a stream [aws-facts §5 Kinesis/stream event source]."""

    function: Name
    batch_size: int = Field(100, ge=1, le=10_000)  # AWS CDK/Lambda docs: default 100, max 10,000 (not in aws-facts)
    bisect_on_error: bool = False
    max_retry_attempts: int = Field(-1, ge=-1, le=10_000)  # -1: retry until the record expires
    max_record_age: Duration | None = Field(None, ge=60, le=604_800)  # none: until the record expires
    on_failure: Name | None = None  # an sqs queue
    enhanced_fan_out: bool = False
    # batches of one shard processed at once, each keeping its partition keys in order
    # (Lambda API, CreateEventSourceMapping ParallelizationFactor: 1-10, default 1; not in aws-facts)
    parallelization_factor: int = Field(1, ge=1, le=10)


class OnDemand(Model):
    """How an on-demand stream's write capacity follows its traffic [aws-facts §9 KDS on-demand mode].
    Sizes are per second. The defaults are AWS's; smaller time constants let a short run show the
    same rule (twice the previous peak, after the delay)."""

    initial_write: Size = Field(4 * 1_048_576.0, gt=0, le=1e12)  # 4 MB/s for a new stream [aws-facts §9]
    max_write: Size = Field(200 * 1_048_576.0, gt=0, le=1e12)  # 200 MB/s (2023) [aws-facts §9]
    peak_window: Duration = Field(30 * 86_400.0, gt=0)  # "the previous 30 days" [aws-facts §9]
    scale_delay: Duration = Field(900.0, ge=0)  # about 15 min of exceptions above 2x peak [aws-facts §9]


class Kinesis(ComponentSpec):
    type: Literal["kinesis"]
    mode: Literal["provisioned", "on_demand"] = "provisioned"
    shards: int = Field(1, le=SHARD_MAX)
    on_demand: OnDemand = Field(default_factory=OnDemand)
    retention: Duration = Field(86_400.0, ge=86_400, le=31_536_000)  # 24 h; up to 365 d [aws-facts §9]
    partition_key: KeyDist = Field(default_factory=lambda: parse_key_distribution("uniform(1, 1000000)"))  # assumption
    record_size: Size = Field(1024.0, gt=0, le=1_048_576)  # assumption; at most 1 MB [aws-facts §9]
    consumers: list[StreamConsumer] = Field(default_factory=list)
    latency: Dist = Field(default_factory=lambda: parse_distribution("lognormal(median=10ms, p99=50ms)"))  # assumption

    @field_validator("shards")
    @classmethod
    def _shards(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"a provisioned stream needs at least 1 shard, got {v}")
        return v

    @model_validator(mode="after")
    def _mode(self) -> Kinesis:
        if self.mode == "on_demand" and "shards" in self.model_fields_set:
            raise ValueError("an on-demand stream sizes itself: drop `shards:` (or use mode: provisioned)")
        if self.mode == "provisioned" and "on_demand" in self.model_fields_set:
            raise ValueError("`on_demand:` applies to mode: on_demand")
        if self.on_demand.max_write < self.on_demand.initial_write:
            raise ValueError("on_demand.max_write is below on_demand.initial_write")
        return self


def check_consumers(comps: Any, consumers: list[StreamConsumer], base: Path) -> list[tuple[Path, str]]:
    """A stream's Lambda event source mappings (Kinesis or DynamoDB Streams): each names a
    function, and its on-failure destination is a standard queue."""
    out: list[tuple[Path, str]] = []
    for i, cons in enumerate(consumers):
        p = (*base, i)
        f = comps.get(cons.function)
        if f is None or f.type != "lambda":
            out.append(((*p, "function"), f"consumer {cons.function!r} must be a lambda function; it is "
                        f"{what_is(comps, cons.function)}"))
        if cons.on_failure is not None:
            q = comps.get(cons.on_failure)
            if q is None or q.type != "sqs" or q.fifo:
                out.append(((*p, "on_failure"), f"on-failure destination {cons.on_failure!r} must be a "
                            "standard sqs queue"))
    return out


def check(arch: Any) -> list[tuple[Path, str]]:
    """A stream's consumers."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type == "kinesis":
            out.extend(check_consumers(comps, c.consumers, ("components", n, "consumers")))
    return out
