"""Schema of ``lambda``: a function, its concurrency, destinations and SQS event sources.

Defaults cite aws-facts.md rows; "assumption" marks a default with no documented source
(docs/spec.md lists them). Live model: :mod:`cloudtwin.services.lambda_`. :func:`check` returns the
cross-reference problems as ``(path, message)`` pairs; :func:`warnings` the legal settings worth a word.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from cloudtwin.spec.account import UNRESERVED_MIN
from cloudtwin.spec.base import ComponentSpec, Dist, Duration, Model, Name, Zone
from cloudtwin.spec.loader import Path
from cloudtwin.spec.message import FilterPolicy
from cloudtwin.spec.sqs import need_queue
from cloudtwin.spec.steps import Step
from cloudtwin.spec.units import parse_distribution as _d

CONCURRENCY_MAX = 10_000_000  # a bound on the input; the account's quota is checked in check()

class EventSource(Model):
    """An SQS event source mapping [aws-facts §5 SQS event source]."""

    queue: Name
    batch_size: int = Field(10, ge=1, le=10_000)
    batching_window: Duration = Field(0.0, le=300)
    report_batch_item_failures: bool = False
    maximum_concurrency: int | None = Field(None, ge=2, le=1000)


class Lambda(ComponentSpec):
    type: Literal["lambda"]
    handler: list[Step] = Field(default_factory=list)
    memory: int = Field(128, ge=128, le=10_240)  # MB [aws-facts §5 Memory]; 128 is the API default
    timeout: Duration = Field(3.0, ge=1, le=900)  # default 3 s, max 900 s [aws-facts §5]
    reserved_concurrency: int | None = Field(None, ge=0, le=CONCURRENCY_MAX)
    provisioned_concurrency: int = Field(0, ge=0, le=CONCURRENCY_MAX)
    init_duration: Dist = Field(default_factory=lambda: _d("lognormal(median=250ms, p99=1.5s)"))  # assumption
    idle_timeout: Duration = Field(600.0, gt=0)  # assumption: an idle environment is reclaimed after this
    error_rate: float = Field(0.0, ge=0, le=1)
    poison: FilterPolicy | None = Field(default_factory=lambda: {"poison": [True]})
    retries: int = Field(2, ge=0, le=2)  # async retries [aws-facts §5]
    max_event_age: Duration = Field(21_600.0, ge=60, le=21_600)  # 6 h [aws-facts §5]
    dlq: Name | None = None
    on_failure: Name | None = None
    event_sources: list[EventSource] = Field(default_factory=list)
    zones: list[Zone] | None = None  # where environments run; default the spec's zones

    @model_validator(mode="after")
    def _provisioned(self) -> Lambda:
        r = self.reserved_concurrency
        if r is not None and self.provisioned_concurrency > r:
            raise ValueError(f"provisioned_concurrency {self.provisioned_concurrency} exceeds "
                             f"reserved_concurrency {r}")
        return self


def check(arch: Any) -> list[tuple[Path, str]]:
    """A function's destinations and SQS event sources; the account's reserved concurrency."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    reserved, single = 0, False
    account = arch.account.lambda_concurrency
    top = account - UNRESERVED_MIN
    for n, c in comps.items():
        if c.type != "lambda":
            continue
        base: Path = ("components", n)
        reserved += c.reserved_concurrency or 0
        for key in ("reserved_concurrency", "provisioned_concurrency"):
            v = getattr(c, key)
            if v is not None and v > top:
                single = True
                out.append(((*base, key), f"{key} {v} is above {top}: the account's concurrency is {account} "
                            f"and {UNRESERVED_MIN} must stay unreserved [aws-facts §5 Account concurrency] "
                            "(set account.lambda_concurrency if AWS raised it)"))
        for key in ("dlq", "on_failure"):
            if getattr(c, key) is not None:
                need_queue(out, comps, (*base, key), getattr(c, key), "a Lambda " + key.replace("_", "-"), fifo=False)
        for i, es in enumerate(c.event_sources):
            p = (*base, "event_sources", i)
            need_queue(out, comps, (*p, "queue"), es.queue, "event source")
            q = comps.get(es.queue)
            if getattr(q, "fifo", False) and es.batch_size > 10:
                out.append(((*p, "batch_size"), f"a FIFO queue allows batch_size at most 10, got "
                            f"{es.batch_size} [aws-facts §5 SQS event source: batch]"))
            if es.batch_size > 10 and es.batching_window < 1:
                out.append(((*p, "batching_window"), f"batch_size {es.batch_size} > 10 needs "
                            "batching_window >= 1s [aws-facts §5 SQS event source: batch]"))
    if reserved > top and not single:
        first = next(n for n, c in comps.items() if c.type == "lambda" and c.reserved_concurrency)
        out.append((("components", first, "reserved_concurrency"), f"the functions reserve {reserved} in all; "
                    f"at most {top} of the account's {account} may be reserved [aws-facts §5 Account concurrency]"))
    return out


def warnings(arch: Any) -> list[tuple[Path, str]]:
    """An SQS event source whose queue settings AWS advises against for a Lambda consumer."""
    out: list[tuple[Path, str]] = []
    comps = arch.components
    for n, c in comps.items():
        if c.type != "lambda":
            continue
        for i, es in enumerate(c.event_sources):
            q = comps.get(es.queue)
            if q is None or q.type != "sqs":
                continue
            p: Path = ("components", n, "event_sources", i, "queue")
            need = 6 * c.timeout + es.batching_window
            if q.visibility_timeout < need:
                over = " (it is even below the function timeout)" if q.visibility_timeout < c.timeout else ""
                out.append((p, f"queue {es.queue!r} has visibility_timeout {q.visibility_timeout:g}s{over}; "
                            f"AWS recommends at least 6 x the function timeout + batching_window = {need:g}s "
                            "[aws-facts §5]: a batch still running when its messages turn visible again is "
                            "received and processed twice"))
            if q.dlq is not None and q.max_receive_count < 5:
                out.append((p, f"queue {es.queue!r} has max_receive_count {q.max_receive_count}; AWS "
                            "recommends at least 5 with a Lambda consumer [aws-facts §5], or throttled "
                            "batches reach the dead-letter queue"))
    return out
