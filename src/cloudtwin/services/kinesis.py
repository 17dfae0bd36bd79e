"""Kinesis Data Streams: provisioned shards, per-shard write limits, retention, Lambda consumers.

What is modelled
----------------
* PutRecord (a workload whose entry is the stream, ``call: <stream>.put``, or an API
  Gateway integration): the record's partition key is hashed (MD5, as AWS does) onto
  the shards, which split the hash range evenly, so hot keys make a hot shard. The
  key is the caller's ``key:`` draw, else the ``group`` of its ``message:``, else a
  draw of the stream's ``partition_key`` (an API Gateway integration passes its own
  ``key:`` and ``message:``). Each shard takes 1,000 records/s and
  1 MB/s [aws-facts §9 KDS write per shard] as two token buckets holding one
  second's worth (assumption); a put over either is ``throttled``
  (ProvisionedThroughputExceededException) and publishes nothing, so the producer
  may retry (a call step's ``retries`` with backoff). Each call takes a draw of
  ``latency``.
* Every accepted record is one ledger message per consumer (a stream with no
  consumer holds one copy), kept in its shard in order until a consumer processes
  it or ``retention`` (24 h by default [aws-facts §9 KDS retention]) ends, when it
  counts as ``expired``. Nothing leaves a stream silently.
* Consumers: Lambda event source mappings, :mod:`cloudtwin.services.kinesis_esm`
  (one batch per shard at a time, read limits, retries, bisect-on-error, on-failure),
  and Firehose delivery streams with this stream as ``source`` (:meth:`Kinesis.add_consumer`).
* Series per minute: records accepted, puts throttled, and the consumers' largest
  iterator age (how far behind they read, CloudWatch's IteratorAgeMilliseconds).
* Kinesis is regional: an AZ outage does not affect it (assumption).
* Billing: shard-hours over the run [aws-facts §19, unconfirmed price].

* ``mode: on_demand``: the stream's write capacity is twice its previous peak,
  adapting after ``scale_delay`` (:mod:`cloudtwin.services.kinesis_ondemand`), billed per
  stream-hour and GB in and out.

Left out: PutRecords batching (500 records / 5 MB per
call), explicit hash keys, resharding, server-side encryption, KCL consumers, and
PUT payload units (not in aws-facts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from heapq import heappush
from itertools import chain
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import RateLimiter
from cloudtwin.messaging import IN_FLIGHT, Message, MessageFactory, StoredRecords, ledger_of
from cloudtwin.metrics import BATCH
from cloudtwin.request import REJECTED, THROTTLED, Batch, BatchStats, Done, Request
from cloudtwin.services.kinesis_esm import Retention, read_limits
from cloudtwin.services.kinesis_ondemand import INITIAL_SHARDS, OnDemandCapacity
from cloudtwin.spec.message import BATCH_LIMITS, MessageSpec
from cloudtwin.units import GIB

if TYPE_CHECKING:
    from cloudtwin.context import Context

WRITE_RECORDS: Final = 1000.0  # records/s per shard [aws-facts §9 KDS write per shard]
WRITE_BYTES: Final = 1_048_576.0  # bytes/s per shard [aws-facts §9 KDS write per shard]
MAX_RECORD: Final = 1_048_576.0  # bytes of one record's data blob [aws-facts §9 KDS record and put limits]
BATCH_PAYLOAD = BATCH_LIMITS[("kinesis", "put")][1]  # 5 MiB per PutRecords [aws-facts §9]
WRITE_BURST: Final = 1.0  # assumption: a shard's buckets hold one second's worth
SWEEP: Final = 60.0  # how often expired records are removed (seconds)
HASH_SPACE: Final = 1 << 128


class Shard:
    """One shard: its write buckets (GCRA arrival times) and read limiter state."""

    __slots__ = ("i", "records_limit", "bytes_limit", "read_calls", "read_bytes", "puts", "throttled", "bytes_in",
                 "stored")

    def __init__(self, i: int) -> None:
        self.i = i
        self.records_limit = RateLimiter(WRITE_RECORDS, WRITE_BURST + 1e-12)  # write buckets, whole records
        self.bytes_limit = RateLimiter(WRITE_BYTES, WRITE_BURST + 1e-12)
        self.read_calls, self.read_bytes = read_limits()  # shared-throughput GetRecords limits
        self.puts = self.throttled = 0
        self.bytes_in = 0.0
        self.stored = StoredRecords()  # copies kept (as counts) when the stream has no consumer


SHARD_CACHE_MAX: Final = 131_072  # partition keys whose shard is remembered (an MD5 each otherwise; ~8 MB at most)


def shard_of(key: float, shards: int) -> int:
    """The shard whose hash-key range holds the MD5 of the partition key ``key``."""
    h = int.from_bytes(hashlib.md5(str(int(key)).encode(), usedforsecurity=False).digest(), "big")
    return h * shards // HASH_SPACE


class Kinesis(Component, Retention):
    """One data stream in provisioned mode."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'ledger',
                 'retention', 'on_demand', 'shards', 'key', 'lat', 'factory', 'shard_cache', 'mappings',
                 '_direct', '_key_unused', '_heap', '_seq', '_lat_buf', 'accepted', 'throttled', 'expired',
                 'rejected', 'batches', 'bytes_in', 'series_put', 'series_throttled', 'series_age', '_marks')

    kind = "kinesis"

    def held_counted(self) -> int:
        """:meth:`Retention.held_counted` (the retention is listed after the base, whose own returns 0)."""
        return Retention.held_counted(self)

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.ledger = ledger_of(ctx)
        self.retention: float = spec.retention
        self.on_demand = OnDemandCapacity(spec.on_demand) if spec.mode == "on_demand" else None
        self.shards = [Shard(i) for i in range(INITIAL_SHARDS if self.on_demand else spec.shards)]
        self.key = make_sampler(spec.partition_key, ctx.stream(f"{name}.partition_key"))
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.factory = MessageFactory(MessageSpec(size=spec.record_size), ctx.seed, f"{name}.record")
        self.shard_cache: dict[int, int] = {}
        self.mappings: list[Any] = []  # StreamMapping, or Firehose's StreamSource
        self._direct: list[Callable[[Message], None]] | None = None  # per shard, set by start()
        self._key_unused = False  # set by start()
        self._heap, self._seq = self.engine.hot()
        self._lat_buf = self.latency.buffer
        self.accepted = self.throttled = self.expired = self.rejected = 0
        self.batches = BatchStats()
        self.bytes_in = 0.0
        self.series_put: list[float] = []
        self.series_throttled: list[float] = []
        self.series_age: list[float] = []
        self._marks = (0, 0)  # accepted, throttled when the current minute began

    def build(self) -> None:
        from cloudtwin.services.kinesis_esm import StreamMapping

        comps = self.ctx.components
        self.mappings[:0] = [StreamMapping(self, c, comps[c.function], comps.get(c.on_failure or ""))  # type: ignore[arg-type]
                             for c in self.spec.consumers]

    def add_consumer(self, reader: Any) -> None:
        """Another consumer of every record: a Firehose delivery stream reading this stream
        (:class:`cloudtwin.services.firehose_source.StreamSource`). It offers what a mapping does:
        ``append``, ``readers`` (``log``, ``later``), ``held_messages``, ``iterator_age``, ``stats``."""
        self.mappings.append(reader)

    def start(self) -> None:
        self.engine.every(SWEEP, self.sweep, start=SWEEP)
        for m in self.mappings:
            m.start()
        if len(self.mappings) == 1:  # decided once: a record goes straight to its shard's reader
            self._direct = self.mappings[0].shard_appenders()
        # One shard, and no consumer that splits a shard by key: a drawn key would pick shard 0
        # and be read by nobody. The draws come from this stream's own partition_key random
        # stream, which nothing else reads, so leaving them out changes no result.
        self._key_unused = len(self.shards) == 1 and (not self.mappings or self._direct is not None)

    def producer_arg(self, workload: str, spec: Any) -> MessageFactory | None:
        """A workload putting records draws them from its own ``message:`` if it has one."""
        if spec.message is None:
            return None
        return MessageFactory(spec.message, self.ctx.seed, f"workload.{workload}.message")

    # ---- PutRecord ----------------------------------------------------------
    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """One PutRecord (or PutRecords). The reply is pushed on the heap directly: the entry
        ``engine.after(lat, deliver, (req, done, err))`` would push, one call fewer per put."""
        self.requests += 1
        if isinstance(arg, Batch):
            self._put_records(req, done, arg)
            return
        err = self._put(arg)
        lat = self.lat()
        if err is None:
            buf = self._lat_buf  # self.latency.record(lat) written out (the same flush points)
            buf.append(lat)
            if len(buf) >= BATCH:
                self.latency.flush()
        else:
            self.errors += 1
        heappush(self._heap, (self.engine.now + lat, next(self._seq), deliver, (req, done, err)))

    def _put(self, arg: Any) -> str | None:
        """One record onto its shard: None, or why it was refused (``rejected``, ``throttled``).

        Per put, in this order: the factory's attributes then group (``factory.draw()``
        written out), the stream's key draw unless the caller gave a key or a group, or nothing
        reads the key; the MD5 of the key is skipped for a one-shard stream, where every key
        maps to shard 0.

        Written out here, each once per put: :meth:`MessageFactory.attrs` for a poison-only
        message, :meth:`Shard.admit` of a provisioned stream and :meth:`Ledger.new` (the same
        draws and float operations in the same order)."""
        now = self.engine.now
        if isinstance(arg, tuple):  # (partition key, message factory) from an API Gateway integration
            arg, factory = arg
        elif isinstance(arg, MessageFactory):
            factory, arg = arg, None
        else:
            factory = self.factory
        u = factory.u if factory.poison_only else None  # poison only: factory.attrs() written out
        attrs = factory.attrs() if u is None else ({"poison": True} if u() < factory.poison else None)
        g = factory.group
        group = int(g()) if g is not None else None
        # a plain float (a drawn key, the commonest) is numeric without two isinstance calls
        if arg is not None and (arg.__class__ is float or isinstance(arg, (int, float)) and not isinstance(arg, bool)):
            key = float(arg)
        elif group is not None:
            key = float(group)
        elif self._key_unused:
            key = 0.0  # nothing reads it (see start()); the stream's own key draws are not skipped otherwise
        else:
            key = self.key()
        shards = self.shards
        s = 0
        if len(shards) > 1:
            ik = int(key)
            cached = self.shard_cache.get(ik)
            if cached is None:
                s = shard_of(ik, len(shards))
                if len(self.shard_cache) < SHARD_CACHE_MAX:  # hot keys stay cached; memory stays bounded
                    self.shard_cache[ik] = s
            else:
                s = cached
        shard = shards[s]
        size = factory.size
        if size > MAX_RECORD:  # ValidationException: not retriable, unlike a throttle
            self.rejected += 1
            return REJECTED
        if self.on_demand is None:  # one record of ``size`` from both of the shard's write buckets:
            # RateLimiter.fits then commit on each, written out (the same float operations in the
            # same order give the same tat)
            rl, bl = shard.records_limit, shard.bytes_limit
            tr = rl.tat
            if tr < now:
                tr = now
            tr += 1.0 / rl.rate
            tb = bl.tat
            if tb < now:
                tb = now
            tb += size / bl.rate
            ok = tr - now <= rl.tolerance and tb - now <= bl.tolerance
            if ok:
                rl.tat = tr
                bl.tat = tb
        else:
            ok = self.on_demand.admit(now, size)
        if not ok:
            shard.throttled += 1
            self.throttled += 1
            return THROTTLED
        shard.puts += 1
        shard.bytes_in += size
        self.accepted += 1
        self.bytes_in += size
        direct = self._direct
        if direct is not None:  # one consumer reading each shard with one reader
            led = self.ledger  # led.new(now, size, attrs) written out
            led.published += 1
            led.counts[IN_FLIGHT] += 1
            direct[s](Message(next(led.ids), now, size, attrs, None))
        elif self.mappings:
            first = self.ledger.new(now, size, attrs)
            for i, m in enumerate(self.mappings):
                m.append(s, first if i == 0 else self.ledger.copy(first), key)
        else:
            self.ledger.new_counted()
            shard.stored.add(now)
        return None

    def _put_records(self, req: Request, done: Done, b: Batch) -> None:
        """PutRecords: one call of ``b.n`` records, each taken or refused on its own shard (the
        call succeeds; refused entries are its FailedRecordCount); over 5 MiB in all the whole
        call fails [aws-facts §9 KDS record and put limits]."""
        factory = b.arg[1] if isinstance(b.arg, tuple) else b.arg if isinstance(b.arg, MessageFactory) else self.factory
        err: str | None = None
        if factory.size * b.n > BATCH_PAYLOAD:
            err, failed = REJECTED, b.n
            self.rejected += b.n
            self.errors += 1
        else:
            failed = sum(self._put(b.entry()) is not None for _ in range(b.n))
        self.batches.record(b.n, failed)
        lat = self.lat()
        self.latency.record(lat)
        self.engine.after(lat, deliver, (req, done, err))

    # ---- metrics (retention, expiry and counted copies: Retention) -------------
    def held_messages(self) -> Any:
        return chain(*(m.held_messages() for m in self.mappings))

    def on_minute(self, now: float) -> None:
        if self.on_demand is not None:
            self.on_demand.on_minute(now)
        acc, thr = self._marks
        self.series_put.append(float(self.accepted - acc))  # this minute's, from the running counts
        self.series_throttled.append(float(self.throttled - thr))
        self._marks = (self.accepted, self.throttled)
        # CloudWatch's GetRecords.IteratorAgeMilliseconds (maximum): how far behind the consumers read
        self.series_age.append(max([m.iterator_age() for m in self.mappings], default=0.0))

    def series(self) -> dict[str, list[float]]:
        return {"records_in": self.series_put, "throttled": self.series_throttled, "iterator_age_s": self.series_age}

    def usage(self) -> dict[str, float]:
        hours = self.engine.now / 3600.0
        if self.on_demand is None:
            return {"Kinesis-ShardHour": len(self.shards) * hours}
        # on-demand bills the stream-hour and the data in and out [aws-facts §19; infracost, see prices.csv]
        out = sum(m.stats().get("delivered", 0) for m in self.mappings) * self.spec.record_size
        return {k: v for k, v in {"OnDemand-StreamHour": hours, "OnDemand-BilledIncomingBytes": self.bytes_in / GIB,
                                  "OnDemand-BilledOutgoingBytes": out / GIB}.items() if v}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        puts = [sh.puts for sh in self.shards]
        out.update({
            "mode": self.spec.mode, "shards": len(self.shards), "accepted": self.accepted, "throttled": self.throttled,
            "rejected": self.rejected, "expired": self.expired, "bytes_in": self.bytes_in,
            "records_per_shard": puts, "throttled_per_shard": [sh.throttled for sh in self.shards],
            "hot_shard_share": round(max(puts) / sum(puts), 4) if sum(puts) else 0.0,
            "stored": sum(len(sh.stored) for sh in self.shards),
            "consumers": [m.stats() for m in self.mappings],
        })
        if self.batches.calls:
            out["batches"] = self.batches.stats()
        if self.on_demand is not None:
            od = self.on_demand
            out["on_demand"] = {"write_capacity_bytes_per_s": od.capacity, "capacity_raises": od.raises}
        return out
