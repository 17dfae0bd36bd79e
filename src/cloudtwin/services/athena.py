"""Athena: a workgroup running one SQL query shape over a table in S3, billed by bytes scanned.

What is modelled
----------------
* A query (a workload whose entry is the workgroup, ``call: <wg>.query``, a QuickSight
  refresh, or the ``every`` schedule) scans the bytes stored under the table's
  ``bucket`` + ``prefix`` at the time it starts, times the share it must read:
  ``partition_filter`` of the partitions when ``partitioned`` (the WHERE clause prunes
  the rest), and ``columns_read`` of the columns for the columnar formats (parquet,
  orc); csv and json are read whole. Compression is already in the stored bytes.
  These shares are the spec's assumptions about the query, not AWS figures.
* Query time = a draw of ``overhead`` (planning and queueing; assumption) + scanned
  bytes / ``scan_rate`` (assumption: 5 GB/s, of the order of an AWS Big Data blog
  example of 1.15 TB of CSV scanned in 236 s). A query still running at ``timeout``
  (the DML timeout; default unconfirmed, at most 240 min [aws-facts §18]) fails with
  ``timeout`` and is billed for what it scanned.
* Limits: StartQueryExecution 20 calls/s with a burst of 80 [aws-facts §18 Athena API
  rate] and ``active_queries`` running plus queued [aws-facts §18 Athena concurrency;
  the us-east-1 figure is unconfirmed: 25 is the example in the AWS quota page]. A
  query over either is ``throttled`` (TooManyRequestsException). Admitted queries run
  side by side at their own scan rate (assumption: no shared capacity).
* Results: each successful query writes one ``result_size`` object to
  ``output_bucket`` (default the table's bucket) under ``output_prefix``: reports are
  in S3. A refused result write fails the query (``server_error``). The objects read
  are recorded as GETs on the table's bucket.
* Billing: bytes scanned rounded up to the MiB with a 10 MiB minimum per query,
  priced per TB (third-party sources: $5/TB; see prices-analytics.csv).

Left out: the query string and its plan, result reuse, capacity reservations,
DDL queries, Glue Data Catalog calls, federated queries and workgroup byte limits.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import RateLimiter
from cloudtwin.request import SERVER_ERROR, THROTTLED, TIMEOUT, Done, Request
from cloudtwin.units import MIB

if TYPE_CHECKING:
    from cloudtwin.context import Context

MIN_BILLED: Final = 10 * MIB  # 10 MB minimum per query (athena.guide, Stanford rcpedia; not in aws-facts)
TB: Final = 1024.0**4
COLUMNAR = ("parquet", "orc")


class Query:
    """One query execution."""

    __slots__ = ("req", "done", "t0", "scanned", "objects", "err")

    def __init__(self, req: Request, done: Done, t0: float) -> None:
        self.req, self.done, self.t0 = req, done, t0
        self.scanned = 0.0
        self.objects = 0
        self.err: str | None = None


class Athena(Component):
    """One workgroup and the table its queries read."""

    kind = "athena"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.overhead = make_sampler(spec.overhead, ctx.stream(f"{name}.overhead"))
        share = spec.partition_filter if spec.partitioned else 1.0
        self.part_share = share
        self.share = share * (spec.columns_read if spec.format in COLUMNAR else 1.0)
        rate, burst = spec.start_rate, spec.start_burst
        self.start_limit = RateLimiter(rate, (burst - 1) / rate + 1e-12)
        self.active = self.max_active = 0
        self.bucket: Any = None
        self.out: Any = None
        self.queries = self.succeeded = self.api_throttled = self.too_many = self.timeouts = 0
        self.result_failures = self.scheduled = 0
        self.bytes_scanned = self.billed_bytes = 0.0
        self.scanned_per_query: list[float] = []

    def build(self) -> None:
        comps = self.ctx.components
        self.bucket = comps[self.spec.bucket]
        self.out = comps[self.spec.output_bucket or self.spec.bucket]

    def start(self) -> None:
        if self.spec.every is not None:
            self.engine.every(self.spec.every, self._scheduled, start=self.spec.every)

    def _scheduled(self, now: float) -> None:
        self.scheduled += 1
        self.handle(Request(now, None, None), "query", _ignore)

    def _admit_api(self) -> bool:
        return self.start_limit.try_take(self.engine.now)

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        self.requests += 1
        now = self.engine.now
        if not self._admit_api():
            self.api_throttled += 1
        elif self.active >= self.spec.active_queries:
            self.too_many += 1
        else:
            self.queries += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            q = Query(req, done, now)
            q.scanned = self.bucket.stored_bytes(self.spec.prefix) * self.share
            q.objects = math.ceil(self.bucket.stored_objects(self.spec.prefix) * self.part_share)
            t = self.overhead() + q.scanned / self.spec.scan_rate
            if t > self.spec.timeout:
                q.err = TIMEOUT
                q.scanned *= max(0.0, 1.0 - (t - self.spec.timeout) / t)  # what it read before the cut
                t = self.spec.timeout
            self.engine.after(t, self._finish, q)
            return
        self.errors += 1
        self.engine.after(0.0, deliver, (req, done, THROTTLED))

    def _finish(self, q: Query) -> None:
        self.active -= 1
        billed = max(MIN_BILLED, math.ceil(q.scanned / MIB - 1e-9) * MIB)
        self.bytes_scanned += q.scanned
        self.billed_bytes += billed
        self.scanned_per_query.append(q.scanned)
        if q.objects:
            self.bucket.record_gets(q.objects, q.scanned)
        err = q.err
        if err is None and self.out.write_object(self.spec.output_prefix, self.spec.result_size) is not None:
            self.result_failures += 1
            err = SERVER_ERROR
        if err is None:
            self.succeeded += 1
            self.latency.record(self.engine.now - q.t0)
        else:
            self.timeouts += err == TIMEOUT
            self.errors += 1
        q.done(q.req, err)

    # ---- metrics ------------------------------------------------------------
    def usage(self) -> dict[str, float]:
        return {"Athena-TB-Scanned": self.billed_bytes / TB} if self.billed_bytes else {}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        n = len(self.scanned_per_query)
        out.update({
            "queries": self.queries, "succeeded": self.succeeded, "scheduled": self.scheduled,
            "throttled": {"start_query_rate": self.api_throttled, "active_queries": self.too_many},
            "timeouts": self.timeouts, "result_write_failures": self.result_failures, "max_active": self.max_active,
            "scan_share": round(self.share, 6), "bytes_scanned": self.bytes_scanned,
            "bytes_billed": self.billed_bytes, "mean_bytes_per_query": self.bytes_scanned / n if n else 0.0,
        })
        return out


def _ignore(req: Request, err: str | None) -> None:
    """A scheduled query has no caller; its outcome is in the workgroup's counters."""
