"""Schema of ``dynamodb``: a table (capacity, keys, item size) and its optional stream.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.dynamodb`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs; :func:`warnings` the legal settings worth a word.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cloudtwin.spec.base import ComponentSpec, Dist, Duration, KeyDist, Model, Rate, Size
from cloudtwin.spec.kinesis import StreamConsumer, check_consumers
from cloudtwin.spec.loader import Path
from cloudtwin.spec.units import parse_distribution, parse_key_distribution

MAX_ITEM = 400 * 1024  # bytes: 400 KB [aws-facts §11 DynamoDB capacity units]


TABLE_QUOTA = 40_000  # RRU/WRU per table by default [aws-facts §11 DynamoDB capacity units]


class TableStream(Model):
    """A DynamoDB stream on the table: one record per successful write, read by Lambda."""

    view: Literal["keys_only", "new_image", "old_image", "new_and_old_images"] = "new_and_old_images"
    consumers: list[StreamConsumer] = Field(default_factory=list)
    # assumption: AWS says records appear "in near-real time"; no figure
    delay: Dist = Field(default_factory=lambda: parse_distribution("lognormal(median=100ms, p99=500ms)"))


class OnDemandTable(Model):
    """How an on-demand table's capacity follows its traffic [aws-facts §11 DynamoDB on-demand
    scaling]. The defaults are AWS's; smaller figures let a short run show the same rule (twice
    the previous peak, a peak counting once it is ``peak_age`` old)."""

    initial_read: Rate = Field(12_000.0, gt=0, le=1e9)  # RRU/s of a new table [aws-facts §11]
    initial_write: Rate = Field(4_000.0, gt=0, le=1e9)  # WRU/s of a new table [aws-facts §11]
    peak_age: Duration = Field(1800.0, ge=60)  # "within 30 minutes" (our reading, see the service)


class DynamoDB(ComponentSpec):
    type: Literal["dynamodb"]
    capacity: Literal["on_demand", "provisioned"] = "on_demand"
    on_demand: OnDemandTable = Field(default_factory=OnDemandTable)
    rcu: int | None = Field(None, ge=1, le=10_000_000)  # provisioned read capacity units
    wcu: int | None = Field(None, ge=1, le=10_000_000)  # provisioned write capacity units
    partitions: int | None = Field(None, ge=1, le=10_000)  # none: derived from the capacity (assumption)
    item_size: Size = Field(1024.0, gt=0)  # assumption; at most 400 KB [aws-facts §11]
    key: KeyDist = Field(default_factory=lambda: parse_key_distribution("uniform(1, 1000000)"))  # assumption
    consistent: bool = False  # eventually consistent reads by default, as in the API
    query_items: int = Field(10, ge=1, le=10_000)  # assumption: items one query returns
    latency: Dist = Field(default_factory=lambda: parse_distribution("lognormal(median=4ms, p99=15ms)"))  # assumption
    stream: TableStream | None = None

    @model_validator(mode="after")
    def _shape(self) -> DynamoDB:
        if self.capacity == "provisioned" and (self.rcu is None or self.wcu is None):
            raise ValueError("a provisioned table needs both `rcu:` and `wcu:` (read and write capacity units)")
        if self.capacity == "on_demand" and (self.rcu is not None or self.wcu is not None):
            raise ValueError("`rcu:`/`wcu:` apply to `capacity: provisioned`; an on-demand table has none")
        if self.capacity == "provisioned" and "on_demand" in self.model_fields_set:
            raise ValueError("`on_demand:` applies to `capacity: on_demand`")
        return self

    @field_validator("item_size")
    @classmethod
    def _item_size(cls, v: float) -> float:
        if v > MAX_ITEM:
            raise ValueError(f"item_size {v:g} bytes is above DynamoDB's 400 KB (409,600 bytes) item limit "
                             "[aws-facts §11]")
        return v


def check(arch: Any) -> list[tuple[Path, str]]:
    """A table stream's consumers."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        base: Path = ("components", n)
        if c.type == "dynamodb" and c.stream is not None:
            out.extend(check_consumers(comps, c.stream.consumers, (*base, "stream", "consumers")))
            for i, cons in enumerate(c.stream.consumers):
                p = (*base, "stream", "consumers", i)
                if cons.enhanced_fan_out:
                    out.append(((*p, "enhanced_fan_out"), "enhanced fan-out is a Kinesis feature; a DynamoDB "
                                "stream has none"))
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """Provisioned capacity above the default table quota."""
    out: list[tuple[Path, str]] = []
    for n, c in arch.components.items():
        if c.type == "dynamodb" and c.capacity == "provisioned":
            for k in ("rcu", "wcu"):
                v = getattr(c, k)
                if v is not None and v > TABLE_QUOTA:
                    out.append((("components", n, k), f"{k} {v} is above the default table quota of "
                                f"{TABLE_QUOTA:,} [aws-facts §11]: AWS raises it on request"))
    return out

