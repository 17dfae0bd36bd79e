"""Firehose: a delivery stream buffering records into S3 objects (and optionally Redshift).

What is modelled
----------------
* Records in: Direct PUT (a workload whose entry is the delivery stream, or ``call:
  <fh>.put``): one record per PutRecord, of the caller's ``message:`` size or
  ``record_size``. The stream takes 500,000 records/s, 2,000 requests/s and 5 MiB/s
  [aws-facts §9 Firehose Direct PUT quota] as token buckets holding one second's
  worth (assumption); a put over any is ``throttled`` and publishes nothing. Or
  ``source: <kinesis>``: the stream is read as a shared-throughput consumer
  (:mod:`cloudtwin.services.firehose_source`); such a delivery stream refuses Direct
  PUT (``rejected``), as AWS does.
* Every record is one ledger message, delivered when the object holding it is in S3.
* Optional Lambda ``transform``: records are buffered (1 MB / 60 s by default, 0.2-3 MB)
  and the function is invoked synchronously with each batch, its handler running once per
  record. A record the handler fails (or the ``error_rate`` share Firehose is told is
  ``ProcessingFailed``) goes to ``error_prefix``; a batch whose invocation is throttled is
  retried after 1 s (assumption), one that times out is retried ``retries`` times, then
  all its records go to ``error_prefix``. They are delivered there, counted apart
  (``delivered_to_error_prefix``), never lost.
* Buffering: records wait until ``buffer_size`` bytes (counted before format
  conversion; assumption) or ``buffer_interval`` seconds after the first record entered
  the empty buffer (assumption), whichever comes first [aws-facts §9 Firehose buffering
  hints]; then one object is written to ``prefix`` a draw of ``delivery_time`` later.
  Flushes are counted by reason (``size`` or ``interval``).
* Stored bytes: ``format: parquet|orc`` (record format conversion) and ``compression``
  shrink what lands in S3 by assumed ratios (:data:`FORMAT_RATIO`,
  :data:`COMPRESSION_RATIO`), not AWS figures.
* Delivery retries: a PUT S3 refuses (``throttled``/``rejected``) is retried with backoff
  from 1 s doubling to 60 s (assumption) for up to ``retry_duration`` (24 h for S3)
  [aws-facts §9 Firehose retries]; past it the object's records are lost under
  ``firehose_retry_duration_exceeded``.
* ``redshift: <cluster>``: after the object is in S3 (the staging bucket), Firehose
  issues a COPY to the cluster; its records are delivered when the COPY ends.
* Metrics: records/bytes in and out, flushes by reason, the delivery latency histogram
  (record into Firehose -> object in S3, or COPY done), end to end (record first
  published -> delivered). Billing: ingested GB with each record rounded up to 5 KB
  [aws-facts §9 Firehose ingestion billing unit]; format conversion GB. No sourced price.

Left out: PutRecordBatch, dynamic partitioning and the time-based key prefix, backup
of source records, encryption, OpenSearch/Splunk/HTTP destinations, and Lambda's
6 MB synchronous payload limit (a transform buffer is at most 3 MB).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.engine.resources import RateLimiter
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.messaging import Message, MessageFactory, ledger_of
from cloudtwin.metrics import BATCH, Histogram
from cloudtwin.request import REJECTED, THROTTLED, TIMEOUT, Done, Request
from cloudtwin.spec.message import MessageSpec

if TYPE_CHECKING:
    from collections.abc import Iterable

    from cloudtwin.context import Context

BILLING_UNIT: Final = 5120.0  # each record is billed rounded up to 5 KB [aws-facts §9 Firehose ingestion billing unit]
GB: Final = 1024.0**3
BURST: Final = 1.0  # assumption: the Direct PUT buckets hold one second's worth
FORMAT_RATIO = {"json": 1.0, "parquet": 0.2, "orc": 0.18}  # assumption: columnar + Snappy vs JSON text
COMPRESSION_RATIO = {"none": 1.0, "gzip": 0.25, "zip": 0.25, "snappy": 0.5}  # assumption, for JSON text
THROTTLE_PAUSE: Final = 1.0  # assumption: a throttled transform invocation is retried after 1 s
BACKOFF = (1.0, 60.0)  # assumption: S3 write retries from 1 s doubling to 60 s


class Buffer:
    """Records waiting for a size or interval threshold; ``flush(msgs, nbytes, reason)`` takes them."""

    __slots__ = ("engine", "size", "interval", "flush", "msgs", "nbytes", "gen")

    def __init__(self, engine: Any, size: float, interval: float, flush: Any) -> None:
        self.engine, self.size, self.interval, self.flush = engine, size, interval, flush
        self.msgs: list[Message] = []
        self.nbytes = 0.0
        self.gen = 0

    def add(self, msg: Message) -> None:
        self.add_all((msg,))

    def add_all(self, msgs: Iterable[Message]) -> None:
        """Buffer each of ``msgs`` in order: the first of an empty buffer starts its interval
        timer, and reaching the size flushes it. The list and byte count are held in locals
        (the same sums in the same order), stored back before a flush takes them."""
        bmsgs, nbytes, limit = self.msgs, self.nbytes, self.size
        for msg in msgs:
            if not bmsgs:
                self.gen += 1
                self.engine.after(self.interval, self._timer, self.gen)
            bmsgs.append(msg)
            nbytes += msg.size
            if nbytes >= limit:
                self.nbytes = nbytes
                self._take("size")
                bmsgs, nbytes = self.msgs, self.nbytes
        self.nbytes = nbytes

    def _timer(self, gen: int) -> None:
        if gen == self.gen and self.msgs:
            self._take("interval")

    def _take(self, reason: str) -> None:
        msgs, nbytes = self.msgs, self.nbytes
        self.msgs, self.nbytes = [], 0.0
        self.gen += 1
        self.flush(msgs, nbytes, reason)


class Job:
    """One transform batch and its invocation attempts."""

    __slots__ = ("fh", "msgs", "attempts")

    def __init__(self, fh: Firehose, msgs: list[Message]) -> None:
        self.fh, self.msgs, self.attempts = fh, msgs, 0

    def invoke(self, _: object = None) -> None:
        fh = self.fh
        if not fh.fn.start_invocation(self.msgs, self.done, rbif=True):
            fh.transform_throttles += 1
            fh.engine.after(THROTTLE_PAUSE, self.invoke)

    def done(self, inv: Any) -> None:
        fh = self.fh
        if inv.err == TIMEOUT:
            self.attempts += 1
            if self.attempts <= fh.spec.transform.retries:
                fh.transform_retries += 1
                self.invoke()
                return
            ok, failed = [], list(self.msgs)
        else:
            ok, failed = list(inv.ok), list(inv.failed)
        fh.jobs.discard(self)
        rate, u = fh.spec.transform.error_rate, fh.u
        if rate:  # the draws first, then the adds in the same order: adding draws from nothing
            keep = []
            for m in ok:
                if u() < rate:
                    failed.append(m)
                else:
                    keep.append(m)
            ok = keep
        fh.buffer.add_all(ok)
        if failed:
            fh.transform_failed += len(failed)
            fh.write(failed, sum(m.size for m in failed), error=True)


class Delivery:
    """One object on its way to S3 (and then through a Redshift COPY)."""

    __slots__ = ("msgs", "out_bytes", "prefix", "error", "t_first", "tries")

    def __init__(self, msgs: list[Message], out_bytes: float, prefix: str, error: bool, now: float) -> None:
        self.msgs, self.out_bytes, self.prefix, self.error = msgs, out_bytes, prefix, error
        self.t_first = now
        self.tries = 0


class Firehose(Component):
    """One delivery stream."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'ledger', 'lat',
                 'dtime', 'u', 'factory', 'ratio', 'limits', 'buffer', 'tbuffer', '_add_first', 'source',
                 'bucket', 'cluster', 'fn', 'jobs', 'pending', 'delivery', 'e2e', 'records_in', 'throttled',
                 'rejected', 'records_out', 'error_records', 'objects', 'error_objects', 'write_retries',
                 'lost', 'transform_throttles', 'transform_retries', 'transform_failed', 'flushes', 'bytes_in',
                 'billed_bytes', 'bytes_out', 'series_in', 'series_objects', '_minute')

    kind = "firehose"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        self.ledger = ledger_of(ctx)
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.dtime = make_sampler(spec.delivery_time, ctx.stream(f"{name}.delivery"))
        self.u = uniform_sampler(ctx.stream(f"{name}.processing_failed"))
        self.factory = MessageFactory(MessageSpec(size=spec.record_size), ctx.seed, f"{name}.record")
        self.ratio = FORMAT_RATIO[spec.format] * COMPRESSION_RATIO[spec.compression]
        q = spec.direct_put
        tol = BURST + 1e-12
        self.limits = (RateLimiter(q.records, tol), RateLimiter(q.requests, tol), RateLimiter(q.bytes_per_second, tol))
        self.buffer = Buffer(self.engine, spec.buffer_size, spec.buffer_interval, self._flush)
        self.tbuffer: Buffer | None = None
        if spec.transform is not None:
            t = spec.transform
            self.tbuffer = Buffer(self.engine, t.buffer_size, t.buffer_interval, self._to_transform)
        self._add_first = (self.tbuffer or self.buffer).add  # where an ingested record goes
        self.source: Any = None
        self.bucket: Any = None
        self.cluster: Any = None
        self.fn: Any = None
        self.jobs: set[Job] = set()
        self.pending: set[Delivery] = set()
        self.delivery = Histogram()
        self.e2e = Histogram()
        self.records_in = self.throttled = self.rejected = self.records_out = self.error_records = 0
        self.objects = self.error_objects = self.write_retries = self.lost = 0
        self.transform_throttles = self.transform_retries = self.transform_failed = 0
        self.flushes = {"size": 0, "interval": 0}
        self.bytes_in = self.billed_bytes = self.bytes_out = 0.0
        self.series_in: list[float] = []
        self.series_objects: list[float] = []
        self._minute = [0, 0]

    def build(self) -> None:
        comps = self.ctx.components
        self.bucket = comps[self.spec.s3]
        if self.spec.redshift:
            self.cluster = comps[self.spec.redshift]
        if self.spec.transform is not None:
            self.fn = comps[self.spec.transform.function]
        if self.spec.source:
            from cloudtwin.services.firehose_source import StreamSource

            src = comps[self.spec.source]
            self.source = StreamSource(self, src)  # type: ignore[arg-type]
            src.add_consumer(self.source)  # type: ignore[attr-defined]

    def producer_arg(self, workload: str, spec: Any) -> MessageFactory | None:
        """A workload putting records draws them from its own ``message:`` if it has one."""
        if spec.message is None:
            return None
        return MessageFactory(spec.message, self.ctx.seed, f"workload.{workload}.message")

    # ---- Direct PUT ---------------------------------------------------------
    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        self.requests += 1
        factory = arg if isinstance(arg, MessageFactory) else self.factory
        err = None
        if self.source is not None:
            self.rejected += 1
            err = REJECTED
        elif not self._admit(factory.size):
            self.throttled += 1
            err = THROTTLED
        else:
            self.ingest(factory.make(self.ledger, self.engine.now))
        lat = self.lat()
        if err is None:
            self.latency.record(lat)
        else:
            self.errors += 1
        self.engine.after(lat, deliver, (req, done, err))

    def _admit(self, size: float) -> bool:
        now = self.engine.now
        records, requests, volume = self.limits
        t0 = records.fits(now, 1.0)
        t1 = requests.fits(now, 1.0)
        t2 = volume.fits(now, size)
        if t0 is None or t1 is None or t2 is None:
            return False
        records.commit(t0)
        requests.commit(t1)
        volume.commit(t2)
        return True

    # ---- the pipeline -------------------------------------------------------
    def ingest(self, msg: Message) -> None:
        """A record enters the delivery stream (from Direct PUT or the source stream)."""
        msg.t_accept = self.engine.now
        self.records_in += 1
        self._minute[0] += 1
        size = msg.size
        self.bytes_in += size
        self.billed_bytes += math.ceil(size / BILLING_UNIT - 1e-9) * BILLING_UNIT
        self._add_first(msg)

    def ingest_all(self, msgs: list[Message]) -> None:
        """:meth:`ingest` of each of ``msgs`` in order, with the first buffer's
        :meth:`Buffer.add` written out: the same interval timers pushed and the same size
        flushes at the same records, so the same events in the same order (a source stream's
        GetRecords batch: one call instead of two per record).

        The running sums (records and bytes in, billed bytes, this minute's records, the
        buffer's bytes) are kept in locals, added to in the same order from the stored values
        (so the same floats), and stored back before a size flush and at the end: a flush
        reads none of them but the buffer's. A record's billed bytes are worked out again only
        when its size differs from the previous record's (the same value otherwise)."""
        now = self.engine.now
        buf = self.tbuffer or self.buffer
        bmsgs, nbytes, limit = buf.msgs, buf.nbytes, buf.size
        b_in, billed = self.bytes_in, self.billed_bytes
        n = 0
        last, unit = -1.0, 0.0
        for msg in msgs:
            msg.t_accept = now
            n += 1
            size = msg.size
            b_in += size
            if size != last:
                last, unit = size, math.ceil(size / BILLING_UNIT - 1e-9) * BILLING_UNIT
            billed += unit
            if not bmsgs:
                buf.gen += 1
                buf.engine.after(buf.interval, buf._timer, buf.gen)
            bmsgs.append(msg)
            nbytes += size
            if nbytes >= limit:
                self._ingested(n, b_in, billed)
                n = 0
                buf.nbytes = nbytes
                buf._take("size")
                bmsgs, nbytes = buf.msgs, buf.nbytes
        self._ingested(n, b_in, billed)
        buf.nbytes = nbytes

    def _ingested(self, n: int, bytes_in: float, billed: float) -> None:
        """Store :meth:`ingest_all`'s running sums: ``n`` more records, the byte totals."""
        self.records_in += n
        self._minute[0] += n
        self.bytes_in, self.billed_bytes = bytes_in, billed

    def _to_transform(self, msgs: list[Message], nbytes: float, reason: str) -> None:
        job = Job(self, msgs)
        self.jobs.add(job)
        job.invoke()

    def _flush(self, msgs: list[Message], nbytes: float, reason: str) -> None:
        self.flushes[reason] += 1
        self.write(msgs, nbytes * self.ratio, error=False)

    def write(self, msgs: list[Message], out_bytes: float, *, error: bool) -> None:
        prefix = self.spec.error_prefix if error else self.spec.prefix
        d = Delivery(msgs, out_bytes, prefix, error, self.engine.now)
        self.pending.add(d)
        self.engine.after(self.dtime(), self._put, d)

    def _put(self, d: Delivery) -> None:
        if self.bucket.write_object(d.prefix, d.out_bytes) is None:
            self.objects += 1
            self._minute[1] += 1
            self.bytes_out += d.out_bytes
            if self.cluster is not None and not d.error:
                self.cluster.copy(d.out_bytes, self._done, d)
            else:
                self._done(d)
            return
        self.write_retries += 1
        d.tries += 1
        lo, hi = BACKOFF
        wait = min(hi, lo * 2.0 ** (d.tries - 1))
        if self.engine.now + wait - d.t_first > self.spec.retry_limit:
            self.pending.discard(d)
            self.lost += len(d.msgs)
            for m in d.msgs:
                self.ledger.lose(m, "firehose_retry_duration_exceeded")
            return
        self.engine.after(wait, self._put, d)

    def _done(self, d: Delivery) -> None:
        self.pending.discard(d)
        now = self.engine.now
        firsts = self.ledger.deliver_all(d.msgs)
        n = len(firsts)
        delivery, e2e = self.delivery, self.e2e
        dbuf, ebuf = delivery.buffer, e2e.buffer  # Histogram.record written out (the same flush points)
        for m in firsts:
            dbuf.append(now - m.t_accept)
            if len(dbuf) >= BATCH:
                delivery.flush()
            ebuf.append(now - m.t0)
            if len(ebuf) >= BATCH:
                e2e.flush()
        self.records_out += n
        if d.error:
            self.error_records += n
            self.error_objects += 1

    # ---- metrics ------------------------------------------------------------
    def held_messages(self) -> Any:
        yield from self.buffer.msgs
        if self.tbuffer is not None:
            yield from self.tbuffer.msgs
        for j in self.jobs:
            yield from j.msgs
        for d in self.pending:
            yield from d.msgs

    def buffered(self) -> int:
        return sum(1 for _ in self.held_messages())

    def on_minute(self, now: float) -> None:
        self.series_in.append(float(self._minute[0]))
        self.series_objects.append(float(self._minute[1]))
        self._minute = [0, 0]

    def series(self) -> dict[str, list[float]]:
        return {"records_in": self.series_in, "objects": self.series_objects}

    def usage(self) -> dict[str, float]:
        out = {"Firehose-IngestGB": self.billed_bytes / GB}
        if self.spec.format != "json":
            out["Firehose-FormatConversionGB"] = self.billed_bytes / GB
        return {k: v for k, v in out.items() if v}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out.update({
            "source": self.spec.source or "direct_put", "records_in": self.records_in, "bytes_in": self.bytes_in,
            "billed_gb": round(self.billed_bytes / GB, 6), "throttled": self.throttled, "rejected": self.rejected,
            "records_delivered": self.records_out - self.error_records,
            "delivered_to_error_prefix": self.error_records, "bytes_out": self.bytes_out,
            "objects": self.objects, "error_objects": self.error_objects, "flushes": dict(self.flushes),
            "write_retries": self.write_retries, "lost": self.lost, "buffered": self.buffered(),
            "transform": None if self.fn is None else {
                "function": self.fn.name, "throttles": self.transform_throttles,
                "retries": self.transform_retries, "failed_records": self.transform_failed},
            "delivery_latency_ms": self.delivery.summary_ms(), "end_to_end_ms": self.e2e.summary_ms(),
        })
        return out
