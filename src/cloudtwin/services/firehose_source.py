"""A Firehose delivery stream reading a Kinesis data stream: one shared-throughput reader per shard.

What is modelled [aws-facts §9 KDS read per shard]
--------------------------------------------------
* Firehose is a *shared-throughput* consumer of its source stream (GetRecords, not
  enhanced fan-out): its readers share each shard's 5 GetRecords calls/s and 2 MB/s
  with the stream's other shared consumers (Lambda mappings without enhanced fan-out).
  A read over a limit waits for it (counted as ``read_waits``).
* Each reader polls its shard once per second while records wait (assumption: AWS
  states no figure in aws-facts), and takes at most 10,000 records or 10 MB per call
  [aws-facts §9]. The records move into the delivery stream's buffers (the same
  message copies: the stream published one copy for this consumer).
* Records still unread at the stream's retention expire (the stream sweeps ``log``).

Left out: Firehose's own read-rate adaptation and the starting position (LATEST from
the start of the run).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.messaging import Message

if TYPE_CHECKING:
    from cloudtwin.services.firehose import Firehose
    from cloudtwin.services.kinesis import Kinesis, Shard

POLL: Final = 1.0  # assumption: Firehose polls a shard once per second
MAX_RECORDS: Final = 10_000  # per GetRecords call [aws-facts §9 KDS read per shard]
MAX_BYTES: Final = 10_000_000.0  # per GetRecords call [aws-facts §9 KDS read per shard]


class StreamSource:
    """The delivery stream's position in every shard of its source stream."""

    def __init__(self, fh: Firehose, stream: Kinesis) -> None:
        self.fh = fh
        self.stream = stream
        self.engine = fh.engine
        self.readers = [SourceReader(self, sh) for sh in stream.shards]
        self.calls = self.read_waits = self.records = 0
        self.minute_age = 0.0

    def start(self) -> None:
        """Nothing to schedule: a reader wakes when its shard gets a record."""

    def append(self, shard: int, msg: Message, key: float | None = None) -> None:
        self.readers[shard].append(msg)

    def shard_appenders(self) -> list[Callable[[Message], None]]:
        """Per shard, the callable :meth:`append` ends in (the stream calls it directly)."""
        return [r.append for r in self.readers]

    def held_messages(self) -> Any:
        for r in self.readers:
            yield from r.log

    def iterator_age(self) -> float:
        age, self.minute_age = self.minute_age, 0.0
        return age

    def stats(self) -> dict[str, Any]:
        return {"firehose": self.fh.name, "get_records_calls": self.calls, "records_read": self.records,
                "read_waits": self.read_waits, "backlog": sum(len(r.log) for r in self.readers)}


class SourceReader:
    """One shard's unread records for the delivery stream."""

    __slots__ = ("src", "shard", "log", "later", "busy", "last_read")

    def __init__(self, src: StreamSource, shard: Shard) -> None:
        self.src = src
        self.shard = shard
        self.log: deque[Message] = deque()
        self.later: list[list[Message]] = []  # always empty: the stream's sweep looks at it
        self.busy = False
        self.last_read = -POLL

    def append(self, msg: Message) -> None:
        self.log.append(msg)
        if not self.busy:
            self.busy = True
            eng = self.src.engine
            eng.after(max(0.0, self.last_read + POLL - eng.now), self.read)

    def read(self, _: object = None) -> None:
        src = self.src
        eng = src.engine
        now = eng.now
        sh = self.shard
        ready = max(sh.read_calls.ready_at(now), sh.read_bytes.ready_at(now))
        if ready > now + 1e-12:
            src.read_waits += 1
            eng.at(ready, self.read)
            return
        self.last_read = now
        log = self.log
        if not log:
            self.busy = False
            return
        src.calls += 1
        age = now - log[0].t0
        if age > src.minute_age:
            src.minute_age = age
        n = size = 0.0
        got: list[Message] = []
        while log and n < MAX_RECORDS and size + log[0].size <= MAX_BYTES:
            m = log.popleft()
            n += 1
            size += m.size
            got.append(m)
        src.fh.ingest_all(got)  # ingest(m) of each, in order: nothing below depends on it
        src.records += int(n)
        sh.read_calls.take_at(now)
        sh.read_bytes.take_at(now, size)
        if log:
            eng.after(POLL, self.read)
        else:
            self.busy = False
