"""Lambda's Kinesis event source mapping: one reader per shard, in order, with retries.

What is modelled [aws-facts §5 Kinesis/stream event source, §9]
---------------------------------------------------------------
* Each shard has one reader per consumer and one batch in flight at a time, so a
  shard's records reach the function in order. With ``parallelization_factor`` N
  (1-10) a shard has N readers, each holding the records of its share of the
  partition keys (key mod N; a DynamoDB stream's record id stands in for its key),
  so up to N batches of a shard run at once and one key's records stay in order;
  the N readers share the shard's read limits, one GetRecords call feeding N
  batches (assumption).
  A reader takes up to ``batch_size`` records per GetRecords call. An idle
  shared-throughput reader polls once per second (assumption: AWS's "base rate");
  an enhanced fan-out reader has records pushed after 70 ms (assumption).
* Read limits: shared-throughput readers of a shard share 5 GetRecords calls/s and
  2 MB/s; an enhanced fan-out consumer has its own 2 MB/s per shard [aws-facts §9].
  A read over a limit waits for it (counted as ``read_waits``), as Lambda's poller
  backs off and retries.
* A throttled invocation (no concurrency) is retried after 1 s (assumption) with
  the same batch; it counts no attempt (AWS retries it until the records expire or
  pass the maximum age; the age is checked here only after a function error).
* A failed batch (a function error or timeout) is retried at once. By default it
  is retried until its records expire, blocking the shard [aws-facts §5].
  ``max_retry_attempts`` and ``max_record_age`` bound that; then the batch goes to
  ``on_failure`` (an SQS queue: the copies are dead-lettered there) or, without
  one, its records are skipped and counted lost (``kinesis_retries_exhausted`` or
  ``kinesis_max_record_age``), and the shard moves on. ``bisect_on_error`` splits a
  failed batch in two and retries the first half, then the second (from memory,
  with no new GetRecords call); a split does not count against the retry quota (AWS
  Lambda guide, "Retain discarded batch records for a Kinesis Data Streams event
  source"; not in aws-facts), so a poison record ends up alone and only it is
  discarded. That a retry follows at once, with no back-off, is an assumption.
* Records still unread when they reach the stream's retention expire (the stream
  sweeps them); records of a retried batch past retention expire at the retry.

The same mapping reads a DynamoDB stream (:mod:`cloudtwin.services.dynamodb_streams`): a
source needs ``engine``, ``ledger``, ``shards`` (with the read limits ``read_calls``
and ``read_bytes`` from :func:`read_limits`), ``retention``, ``kind`` (the prefix of lost-record causes) and
``expire(msg)``; :func:`sweep` expires its records past retention.

Left out: batching windows, tumbling windows,
ReportBatchItemFailures for streams, and starting positions other than LATEST
from the start of the run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

from cloudtwin.engine.resources import RateLimiter
from cloudtwin.messaging import Ledger, Message
from cloudtwin.metrics import BATCH, Histogram
from cloudtwin.native import trait

if TYPE_CHECKING:
    from cloudtwin.engine import Engine
    from cloudtwin.services.lambda_ import Lambda
    from cloudtwin.services.lambda_runtime import Invocation

READ_CALLS: Final = 5.0  # GetRecords per second per shard, shared [aws-facts §9 KDS read per shard]
READ_BYTES: Final = 2 * 1_048_576.0  # bytes/s per shard, shared or per EFO consumer [aws-facts §9]


def read_limits() -> tuple[RateLimiter, RateLimiter]:
    """A shard's shared-throughput GetRecords limits: (calls, bytes), no burst beyond them."""
    return RateLimiter(READ_CALLS, 0.0), RateLimiter(READ_BYTES, 0.0)
POLL_IDLE: Final = 1.0  # assumption: an idle shared reader polls its shard once per second
PUSH_DELAY: Final = 0.07  # assumption: enhanced fan-out pushes a record about 70 ms after the put
THROTTLE_PAUSE: Final = 1.0  # assumption


class StreamSource(Protocol):
    """What a mapping reads: a Kinesis stream or a DynamoDB stream."""

    kind: str
    engine: Engine
    ledger: Ledger
    shards: list[Any]
    retention: float

    def expire(self, msg: Message) -> None: ...


@trait  # mixed in after Component (Kinesis) or alone (DynamoDB Streams' TableStream)
class Retention:
    """What a stream that keeps records until its retention ends does, for Kinesis and
    DynamoDB Streams alike: the sweep, the expiry of one copy, and the copies kept as counts
    when nobody reads them. Needs ``ledger``, ``shards`` (each with ``stored``),
    ``mappings``, ``retention`` and an ``expired`` counter."""

    ledger: Ledger
    shards: list[Any]
    expired: int

    def sweep(self, now: float) -> None:
        sweep(self, now)

    def expire(self, msg: Message) -> None:
        self.ledger.expire(msg)
        self.expired += 1

    def held_counted(self) -> int:
        return sum(len(sh.stored) for sh in self.shards)


def sweep(stream: Any, now: float) -> None:
    """Records past the stream's retention expire: each consumer's unread and held-back
    copies, and the copies a stream without consumers stores (``shard.stored``)."""
    limit = now - stream.retention
    for sh in stream.shards:
        stream.expired += sh.stored.expire_until(limit, stream.ledger)
    logs = [r.log for m in stream.mappings for r in m.readers]
    for log in logs:
        while log and log[0].t0 <= limit:
            stream.expire(log.popleft())
    for m in stream.mappings:  # held halves of bisected batches waiting behind a failing one
        for r in m.readers:
            if r.later:
                for b in r.later:
                    while b and b[0].t0 <= limit:
                        stream.expire(b.pop(0))
                r.later = [b for b in r.later if b]


class StreamMapping:
    """One event source mapping from a stream to a function: a reader per shard."""

    def __init__(self, stream: StreamSource, spec: Any, fn: Lambda, on_failure: Any) -> None:
        self.stream = stream
        self.fn = fn
        self.engine = stream.engine
        self.ledger = stream.ledger
        self.batch_size: int = spec.batch_size
        self.bisect: bool = spec.bisect_on_error
        self.max_retries: int = spec.max_retry_attempts
        self.max_age: float | None = spec.max_record_age
        self.efo: bool = spec.enhanced_fan_out
        self.target = on_failure
        # parallelization_factor: that many batches of a shard in flight at once, each holding
        # the records of its share of the partition keys, so one key stays in order
        self.factor: int = spec.parallelization_factor
        self.readers = []
        for sh in stream.shards:
            efo = RateLimiter(READ_BYTES, 0.0)  # this consumer's own read bucket on the shard (enhanced fan-out)
            self.readers += [ShardReader(self, sh, efo) for _ in range(self.factor)]
        self.e2e = Histogram()
        self.minute_age = 0.0
        self.batches = self.delivered = self.failed_batches = self.retries = self.bisects = 0
        self.throttled_batches = self.read_waits = self.dead = self.lost = self.out_of_order = 0

    def start(self) -> None:
        """Nothing to schedule: a reader wakes when its shard gets a record."""

    def append(self, shard: int, msg: Message, key: float | None = None) -> None:
        """A record of partition key ``key`` (a DynamoDB stream passes none: its record id
        stands in) reaches ``shard``."""
        f = self.factor
        if f == 1:
            self.readers[shard].append(msg)
        else:
            sub = (int(key) if key is not None else msg.mid) % f
            self.readers[shard * f + sub].append(msg)

    def shard_appenders(self) -> list[Callable[[Message], None]] | None:
        """Per shard, the callable :meth:`append` ends in, when it needs no key (one reader
        per shard): the stream calls it directly. None: call :meth:`append`."""
        return [r.append for r in self.readers] if self.factor == 1 else None

    def held_messages(self) -> Any:
        for r in self.readers:
            yield from r.log
            yield from r.batch
            for b in r.later:
                yield from b

    def iterator_age(self) -> float:
        """Lambda's IteratorAge for the minute now ending, its maximum statistic, in seconds: the
        age of the last record of each batch the mapping sent to the function, retries of a
        blocked batch included (Lambda developer guide, "Lambda function metrics": the time
        between the stream receiving the record and the mapping sending the event); then
        restart. 0 in a minute with no invocation."""
        age, self.minute_age = self.minute_age, 0.0
        return age

    def give_up(self, msgs: list[Message], why: str) -> None:
        for m in msgs:
            if self.target is not None and self.target.take_dead(m, keep_enqueue_time=False) is None:
                self.dead += 1
            else:
                self.lost += 1
                src = self.stream.kind
                self.ledger.lose(m, f"{src}_{why}" if self.target is None else f"{src}_destination_refused")

    def stats(self) -> dict[str, Any]:
        return {"function": self.fn.name, "batch_size": self.batch_size, "enhanced_fan_out": self.efo,
                "parallelization_factor": self.factor,
                "batches": self.batches, "delivered": self.delivered, "failed_batches": self.failed_batches,
                "retries": self.retries, "bisects": self.bisects, "throttled_batches": self.throttled_batches,
                "read_waits": self.read_waits, "on_failure": self.dead, "lost": self.lost,
                "out_of_order": self.out_of_order, "backlog": sum(r.backlog() for r in self.readers),
                "end_to_end_ms": self.e2e.summary_ms()}


class ShardReader:
    """One consumer's position in one shard: unread records, the batch in flight."""

    __slots__ = ("m", "shard", "log", "batch", "later", "busy", "last_read", "efo_bytes", "last_mid")

    def __init__(self, m: StreamMapping, shard: Any, efo: RateLimiter) -> None:  # a Kinesis Shard or a StreamShard
        self.m = m
        self.shard = shard
        self.log: deque[Message] = deque()
        self.batch: list[Message] = []
        self.later: list[list[Message]] = []  # second halves of bisected batches, the next one last
        self.busy = False  # a read is scheduled or a batch is in flight
        self.last_read = -POLL_IDLE
        self.efo_bytes = efo  # this consumer's own read bucket on the shard (enhanced fan-out)
        self.last_mid = 0

    def backlog(self) -> int:
        return len(self.log) + len(self.batch) + sum(map(len, self.later))

    def append(self, msg: Message) -> None:
        self.log.append(msg)
        if not self.busy:
            self.busy = True
            m = self.m
            now = m.engine.now
            delay = PUSH_DELAY if m.efo else max(0.0, self.last_read + POLL_IDLE - now)
            m.engine.after(delay, self.read)

    def read(self, _: object = None) -> None:
        """A GetRecords call (or a push): wait for the read limits, then take a batch."""
        m = self.m
        now = m.engine.now
        sh = self.shard
        ready = (self.efo_bytes.ready_at(now) if m.efo
                 else max(sh.read_calls.ready_at(now), sh.read_bytes.ready_at(now)))
        if ready > now + 1e-12:
            m.read_waits += 1
            m.engine.at(ready, self.read)
            return
        self.last_read = now
        if not self.log:
            self.busy = False
            return
        n = min(m.batch_size, len(self.log))
        log = self.log
        batch = [log.popleft() for _ in range(n)]
        size = sum([x.size for x in batch])  # the same sum, without a generator frame per record
        if m.efo:
            self.efo_bytes.take_at(now, size)
        else:
            sh.read_calls.take_at(now, 1.0 / m.factor)  # assumption: one GetRecords feeds `factor` batches
            sh.read_bytes.take_at(now, size)
        self.batch = batch
        self.invoke()

    def invoke(self, _: object = None) -> None:
        m = self.m
        m.batches += 1
        batch = self.batch
        age = m.engine.now - batch[-1].t0  # IteratorAge: the last record of the batch sent, retries included
        if not m.fn.start_invocation(batch, self.done):
            m.throttled_batches += 1
            m.engine.after(THROTTLE_PAUSE, self.invoke)
        elif age > m.minute_age:
            m.minute_age = age

    def done(self, inv: Invocation) -> None:
        m = self.m
        now = m.engine.now
        batch = self.batch
        if inv.err is None:
            last = self.last_mid
            for x in batch:
                if x.mid < last:
                    m.out_of_order += 1
                last = x.mid
            self.last_mid = last
            firsts = m.ledger.deliver_all(batch)
            m.delivered += len(firsts)
            buf, hist = m.e2e.buffer, m.e2e  # Histogram.record written out (the same flush points)
            for x in firsts:
                buf.append(now - x.t0)
                if len(buf) >= BATCH:
                    hist.flush()
            self.batch = []
            self.next()
            return
        m.failed_batches += 1
        limit = now - m.stream.retention
        live = []
        for x in batch:
            if x.t0 <= limit:
                m.stream.expire(x)
            else:
                live.append(x)
        if not live:
            self.batch = []
            self.next()
            return
        if m.bisect and len(live) > 1:
            m.bisects += 1
            half = len(live) // 2
            self.batch = live[:half]
            self.later.append(live[half:])
            m.engine.after(0.0, self.invoke)
            return
        for x in live:
            x.attempts += 1
        too_old = m.max_age is not None and now - live[0].t0 > m.max_age
        if too_old or (m.max_retries >= 0 and live[0].attempts > m.max_retries):
            self.batch = []
            m.give_up(live, "max_record_age" if too_old else "retries_exhausted")
            self.next()
            return
        m.retries += 1
        self.batch = live
        m.engine.after(0.0, self.invoke)

    def next(self) -> None:
        """The batch is done: retry a held half of a bisected batch (no new read), read again if
        records wait, else go idle."""
        if self.later:
            self.batch = self.later.pop()
            self.m.engine.after(0.0, self.invoke)
        elif self.log:
            self.m.engine.after(0.0, self.read)
        else:
            self.busy = False
