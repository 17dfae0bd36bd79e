"""DynamoDB tables: capacity units, partitions, hot keys, burst capacity, on-demand scaling.

What is modelled
----------------
* Operations (``call: <table>.get|query|put|update|delete``, or a workload entering the
  table): ``get`` and ``query`` read, ``put``, ``update`` and ``delete`` write. The key is
  the caller's ``key:`` draw, else a draw of the table's ``key``. Each reply comes after a
  draw of ``latency``.
* Capacity units [aws-facts §11 DynamoDB capacity units]: a read takes
  ceil(item_size / 4 KB) units, half that when eventually consistent (``consistent:
  false``, the default); a query reads ``query_items`` items and takes ceil(their total
  size / 4 KB) units (halved likewise); a write takes ceil(item_size / 1 KB) units.
  On-demand tables count the same numbers as request units (RRU/WRU).
* Partitions: keys hash (a 64-bit multiplicative hash, assumption) onto hash ranges split
  evenly between partitions. Each partition serves at most 3,000 RCU and 1,000 WCU per
  second [aws-facts §11 DynamoDB partition limit] (token buckets holding one second's
  worth, assumption). Adaptive capacity lets a hot partition use the table's capacity up
  to that maximum, so the table's own limit is a second bucket over all partitions, and
  a hot key is capped at one partition's throughput.
* Partition count (assumption): ``partitions:``, else ceil(rcu / 3000 + wcu / 1000) for a
  provisioned table and 4 for a new on-demand table (12,000 RRU/s and 4,000 WRU/s).
* Provisioned capacity: ``rcu`` and ``wcu`` per second, with up to 300 s of unused
  capacity kept as burst [aws-facts §11 DynamoDB burst capacity]; the bucket starts with
  one second's worth (assumption: a new table has banked nothing).
* On-demand capacity [aws-facts §11 DynamoDB on-demand scaling]: a new table sustains
  12,000 RRU/s and 4,000 WRU/s; the table then takes up to twice its previous peak,
  where the previous peak is the highest one-minute average consumed at least 30 min
  ago (assumption: our reading of "throttling can occur if you exceed double your
  previous peak within 30 minutes"), capped at the default table quota of 40,000
  [aws-facts §11 DynamoDB capacity units]. Partitions split (double) when the allowance
  outgrows them.
* Over a limit the request is ``throttled`` (ProvisionedThroughputExceededException
  [aws-facts §11 DynamoDB throttle error]) and consumes nothing; the caller's
  ``retries:`` are the SDK's retries.
* DynamoDB is regional: zone outages do not affect it.
* Streams (``stream:``): :mod:`cloudtwin.services.dynamodb_streams`. DAX clusters in front
  of the table: :mod:`cloudtwin.services.dax` (they watch its writes for stale reads).
* Billing: on-demand read and write request units [aws-facts §19 DynamoDB on-demand];
  provisioned RCU-hours and WCU-hours (no sourced price: unpriced).

* BatchWriteItem (``batch: N`` on a put): one call of N writes, each taking capacity on
  its own; throttled ones are UnprocessedItems (``batches.failed_entries``).

Left out: item data and item sizes per key, transactions, BatchGetItem, scans,
secondary indexes, auto scaling of provisioned capacity, partition splits of
provisioned tables, global tables, TTL deletions, backups and storage billing.
"""

from __future__ import annotations

import math
from collections import deque
from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import RateLimiter
from cloudtwin.metrics import BATCH
from cloudtwin.request import THROTTLED, Batch, BatchStats, Done, Request

if TYPE_CHECKING:
    from cloudtwin.context import Context

READ_UNIT: Final = 4096.0  # bytes per read capacity unit [aws-facts §11 DynamoDB capacity units]
WRITE_UNIT: Final = 1024.0  # bytes per write capacity unit [aws-facts §11 DynamoDB capacity units]
PARTITION_RCU: Final = 3000.0  # [aws-facts §11 DynamoDB partition limit]
PARTITION_WCU: Final = 1000.0  # [aws-facts §11 DynamoDB partition limit]
BURST_SECONDS: Final = 300.0  # unused capacity kept [aws-facts §11 DynamoDB burst capacity]
TABLE_QUOTA: Final = 40_000.0  # RRU/WRU per table [aws-facts §11 DynamoDB capacity units]
HASH_MULT: Final = 0x9E3779B97F4A7C15
MASK: Final = (1 << 64) - 1
READS = ("", "get", "query")
WRITES = ("put", "update", "delete")


def key_hash(key: int) -> int:
    """A 64-bit hash of an integer key: consecutive keys land far apart."""
    return ((key * HASH_MULT) & MASK) ^ (key >> 7)


def bucket(rate: float, burst: float, start: float = 1.0) -> RateLimiter:
    """A capacity bucket: ``rate`` units/s, holding ``burst`` seconds' worth, ``start`` seconds' worth at time 0.

    A request's units must fit whole (:meth:`RateLimiter.fits`)."""
    return RateLimiter(rate, burst + 1e-9, burst - min(start, burst))


class Partition:
    """One partition: its read and write buckets and what it served."""

    __slots__ = ("i", "read", "write", "rcu", "wcu", "throttled")

    def __init__(self, i: int) -> None:
        self.i = i
        self.read = bucket(PARTITION_RCU, 1.0)
        self.write = bucket(PARTITION_WCU, 1.0)
        self.rcu = self.wcu = 0.0
        self.throttled = 0


class DynamoDB(Component):
    """One table."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'consistent',
                 'get_units', 'query_units', 'half', 'write_units', 'provisioned', 'initial', 'table_read',
                 'table_write', 'parts', 'lat', 'key', 'lat_buf', 'hot', 'watchers', 'stream', 'reads',
                 'queries', 'writes', 'rcu', 'wcu', 'throttled', 'throttled_reads', 'throttled_writes',
                 'splits', 'batches', '_minute', 'history', 'old_peak', 'series_r', 'series_w', 'series_t',
                 'series_age')

    kind = "dynamodb"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        size = spec.item_size
        half = 1.0 if spec.consistent else 0.5
        self.consistent: bool = spec.consistent
        self.get_units = math.ceil(size / READ_UNIT)
        self.query_units = math.ceil(size * spec.query_items / READ_UNIT)
        self.half = half
        self.write_units = float(math.ceil(size / WRITE_UNIT))
        self.provisioned = spec.capacity == "provisioned"
        if self.provisioned:
            derived = math.ceil(spec.rcu / PARTITION_RCU + spec.wcu / PARTITION_WCU)
            self.table_read = bucket(float(spec.rcu), BURST_SECONDS)
            self.table_write = bucket(float(spec.wcu), BURST_SECONDS)
        else:
            od = spec.on_demand  # 12,000 RRU/s, 4,000 WRU/s by default [aws-facts §11 on-demand scaling]
            self.initial = (od.initial_read, od.initial_write)
            derived = max(1, math.ceil(max(od.initial_read / PARTITION_RCU, od.initial_write / PARTITION_WCU)))
            self.table_read = bucket(od.initial_read, 1.0)  # assumption: one second's burst
            self.table_write = bucket(od.initial_write, 1.0)
        n = spec.partitions or max(1, derived)
        self.parts = [Partition(i) for i in range(n)]
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.key = make_sampler(spec.key, ctx.stream(f"{name}.key"))
        self.lat_buf = self.latency.buffer
        self.hot = ctx.engine.hot()
        self.watchers: list[Any] = []  # DAX clusters: on_write(key, acknowledged at)
        self.stream: Any = None
        if spec.stream is not None:
            from cloudtwin.services.dynamodb_streams import TableStream

            self.stream = TableStream(self, spec.stream, n)
        self.reads = self.queries = self.writes = 0
        self.rcu = self.wcu = 0.0
        self.throttled = self.throttled_reads = self.throttled_writes = self.splits = 0
        self.batches = BatchStats()
        self._minute = [0.0, 0.0, 0]  # RCU, WCU, throttled this minute
        self.history: deque[tuple[float, float, float]] = deque()  # (minute end, RCU/s, WCU/s)
        self.old_peak = [0.0, 0.0]
        self.series_r: list[float] = []
        self.series_w: list[float] = []
        self.series_t: list[float] = []
        self.series_age: list[float] = []  # the stream consumers' IteratorAge, when it has any

    def build(self) -> None:
        if self.stream is not None:
            self.stream.build()

    def start(self) -> None:
        if self.stream is not None:
            self.stream.start()

    # ---- requests -----------------------------------------------------------
    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        if isinstance(arg, Batch):
            self._batch_write(req, op, done, arg)
            return
        self.access(req, op, done, arg, self.consistent)

    def access(self, req: Request, op: str, done: Done, key: Any, consistent: bool) -> bool:
        """One operation on ``key`` (None: draw one); replies after the latency. False when throttled."""
        self.requests += 1
        now = self.engine.now
        k = self._item(req, op, key, consistent)
        if k is None:
            self.errors += 1
            self.engine.after(self.lat(), deliver, (req, done, THROTTLED))
            return False
        lat = self.lat()
        if op not in READS:
            for w in self.watchers:
                w.on_write(k, now + lat)  # acknowledged when the reply arrives
        b = self.lat_buf  # self.latency.record(lat), inlined
        b.append(lat)
        if len(b) >= BATCH:
            self.latency.flush()
        heap, seq = self.hot  # engine.after(lat, deliver, job), which calls done(req, None)
        heappush(heap, (now + lat, next(seq), deliver, (req, done, None)))
        return True

    def _batch_write(self, req: Request, op: str, done: Done, b: Batch) -> None:
        """BatchWriteItem: one call of ``b.n`` writes, each taking its partition's and the table's
        capacity on its own; the throttled ones come back as UnprocessedItems (failed entries)
        and the call succeeds (DynamoDB API reference, BatchWriteItem: 25 items)."""
        self.requests += 1
        now = self.engine.now
        done_keys = [k for k in (self._item(req, op, b.entry(), self.consistent) for _ in range(b.n)) if k is not None]
        self.batches.record(b.n, b.n - len(done_keys))
        lat = self.lat()
        for k in done_keys:
            for w in self.watchers:
                w.on_write(k, now + lat)
        self.latency.record(lat)
        self.engine.after(lat, deliver, (req, done, None))

    def _item(self, req: Request, op: str, key: Any, consistent: bool) -> int | None:
        """Take the capacity of one item operation on ``key`` (None: draw one): its key, or None
        when a partition or the table throttles it (it then consumes nothing)."""
        now = self.engine.now
        k = int(key) if isinstance(key, (int, float)) and not isinstance(key, bool) else int(self.key())
        h = ((k * HASH_MULT) & MASK) ^ (k >> 7)  # key_hash(k), inlined
        n = len(self.parts)
        part = self.parts[(h * n) >> 64]
        read = op in READS
        if read:
            units = (self.query_units if op == "query" else self.get_units) * (1.0 if consistent else 0.5)
            pb, tb = part.read, self.table_read
        elif op in WRITES:
            units = self.write_units
            pb, tb = part.write, self.table_write
        else:
            raise ValueError(f"dynamodb has no operation {op!r}")
        pt = pb.fits(now, units)
        tt = tb.fits(now, units) if pt is not None else None
        if pt is None or tt is None:
            self.throttled += 1
            part.throttled += 1
            self._minute[2] += 1
            if read:
                self.throttled_reads += 1
            else:
                self.throttled_writes += 1
            return None
        pb.tat = pt  # pb.commit(pt), tb.commit(tt): apply the takes fits() tested
        tb.tat = tt
        if read:
            part.rcu += units
            self.rcu += units
            self._minute[0] += units
            if op == "query":
                self.queries += 1
            else:
                self.reads += 1
        else:
            part.wcu += units
            self.wcu += units
            self._minute[1] += units
            self.writes += 1
            if self.stream is not None:
                user = getattr(req, "user", None)
                self.stream.record((h * len(self.stream.shards)) >> 64, op, user[1] if user else None)
        return k

    # ---- on-demand scaling and series ----------------------------------------
    def on_minute(self, now: float) -> None:
        r, w, t = self._minute
        self._minute = [0.0, 0.0, 0]
        self.series_r.append(round(r / 60.0, 3))
        self.series_w.append(round(w / 60.0, 3))
        self.series_t.append(float(t))
        if self.stream is not None and self.stream.mappings:
            self.series_age.append(self.stream.iterator_age())
        if self.provisioned:
            return
        self.history.append((now, r / 60.0, w / 60.0))
        while self.history and self.history[0][0] <= now - self.spec.on_demand.peak_age:
            _, pr, pw = self.history.popleft()
            self.old_peak = [max(self.old_peak[0], pr), max(self.old_peak[1], pw)]
        rr = min(TABLE_QUOTA, max(self.initial[0], 2.0 * self.old_peak[0]))
        wr = min(TABLE_QUOTA, max(self.initial[1], 2.0 * self.old_peak[1]))
        self.table_read.rate, self.table_write.rate = rr, wr
        while rr > len(self.parts) * PARTITION_RCU or wr > len(self.parts) * PARTITION_WCU:
            self.parts = [Partition(i) for i in range(2 * len(self.parts))]  # each range splits in two
            self.splits += 1

    def series(self) -> dict[str, list[float]]:
        out = {"consumed_rcu_per_s": self.series_r, "consumed_wcu_per_s": self.series_w, "throttled": self.series_t}
        if self.series_age:
            out["iterator_age_s"] = self.series_age
        return out

    def held_messages(self) -> Any:
        return self.stream.held_messages() if self.stream is not None else ()

    def held_counted(self) -> int:
        return self.stream.held_counted() if self.stream is not None else 0

    def usage(self) -> dict[str, float]:
        if self.provisioned:  # unpriced: no sourced price for capacity-unit hours
            hours = self.engine.now / 3600.0
            return {"ReadCapacityUnit-Hrs": self.spec.rcu * hours, "WriteCapacityUnit-Hrs": self.spec.wcu * hours}
        return {k: v for k, v in (("ReadRequestUnits", self.rcu), ("WriteRequestUnits", self.wcu)) if v}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        used = [p.rcu + p.wcu for p in self.parts]
        out.update({
            "capacity": self.spec.capacity, "partitions": len(self.parts), "partition_splits": self.splits,
            "reads": self.reads, "queries": self.queries, "writes": self.writes,
            "consumed_rcu": round(self.rcu, 3), "consumed_wcu": round(self.wcu, 3),
            "throttled": self.throttled, "throttled_reads": self.throttled_reads,
            "throttled_writes": self.throttled_writes,
            "throttled_per_partition": [p.throttled for p in self.parts],
            "units_per_partition": [round(u, 3) for u in used],
            "hot_partition_share": round(max(used) / sum(used), 4) if sum(used) else 0.0,
            "table_limit_per_s": {"read": self.table_read.rate, "write": self.table_write.rate},
        })
        if self.stream is not None:
            out["stream"] = self.stream.stats()
        if self.batches.calls:
            out["batches"] = self.batches.stats()
        return out
