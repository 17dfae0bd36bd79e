"""DynamoDB Streams: one record per successful write, in the shard of the item's partition.

What is modelled
----------------
* A table with ``stream:`` publishes one record for every successful put, update and
  delete: one ledger message per consumer (a stream with no consumer stores one copy).
  The record's attributes are ``event`` (the operation) and, when the write acted for a
  user (``req.user``), ``user`` (the id of the user whose data it wrote).
* Shards: one per partition the table has when the run starts; a key's records always
  go to the same shard, so each item's changes stay in order, as AWS promises
  (AWS DynamoDB guide, "Change data capture for DynamoDB Streams").
* A record appears in its shard a draw of ``delay`` after the write (assumption: AWS says
  "near-real time"), never before an earlier record of the same shard.
* Records are kept 24 h (same page: "stores this information in a log for up to 24
  hours"), then expire, counted ``expired``.
* Consumers: Lambda event source mappings, the same as Kinesis'
  (:class:`cloudtwin.services.kinesis_esm.StreamMapping`: one batch per shard at a time,
  in order, retries, bisect-on-error, on-failure). The read limits per shard are
  Kinesis' (5 GetRecords calls/s, 2 MB/s), an assumption: AWS documents no figure
  beyond "no more than two readers per shard".

Left out: shard splits and rollover (every 4 h at AWS), the record images themselves
(only sizes: ``keys_only`` 100 bytes (assumption), one image the item size, both
images twice), TTL deletions, event filtering, and Kinesis Data Streams for DynamoDB.
"""

from __future__ import annotations

from collections import deque
from itertools import chain
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.engine import make_sampler
from cloudtwin.messaging import Message, StoredRecords, ledger_of
from cloudtwin.services.kinesis_esm import Retention, read_limits

if TYPE_CHECKING:
    from cloudtwin.services.dynamodb import DynamoDB

RETENTION: Final = 86_400.0  # 24 h (AWS DynamoDB guide, "Change data capture for DynamoDB Streams")
KEYS_ONLY_SIZE: Final = 100.0  # assumption: bytes of a record with the keys only
SWEEP: Final = 60.0  # how often expired records are removed (seconds)


class StreamShard:
    """One stream shard: records waiting for their delay, stored copies, read-limit state."""

    __slots__ = ("i", "pending", "stored", "read_calls", "read_bytes", "last_t", "records")

    def __init__(self, i: int) -> None:
        self.i = i
        self.pending: deque[tuple[float, list[Message]]] = deque()  # (visible at, copies per consumer)
        self.stored = StoredRecords()  # copies kept (as counts) when the stream has no consumer
        self.read_calls, self.read_bytes = read_limits()  # GetRecords limits, as kinesis_esm reads them
        self.last_t = 0.0
        self.records = 0


class TableStream(Retention):
    """The stream of one table: shards, pending records, consumers (event source mappings)."""

    kind = "dynamodb_streams"  # the prefix of lost-record causes

    def __init__(self, table: DynamoDB, spec: Any, shards: int) -> None:
        self.table = table
        self.name = table.name
        self.spec = spec
        self.engine = table.engine
        self.ledger = ledger_of(table.ctx)
        self.retention = RETENTION
        self.shards = [StreamShard(i) for i in range(shards)]
        self.delay = make_sampler(spec.delay, table.ctx.stream(f"{table.name}.stream.delay"))
        item = table.spec.item_size
        self.size = {"keys_only": KEYS_ONLY_SIZE, "new_image": item, "old_image": item,
                     "new_and_old_images": 2 * item}[spec.view]
        self.mappings: list[Any] = []
        self.published = self.expired = 0

    def build(self) -> None:
        from cloudtwin.services.kinesis_esm import StreamMapping

        comps = self.table.ctx.components
        self.mappings = [StreamMapping(self, c, comps[c.function], comps.get(c.on_failure or ""))  # type: ignore[arg-type]
                         for c in self.spec.consumers]

    def start(self) -> None:
        self.engine.every(SWEEP, self.sweep, start=SWEEP)
        for m in self.mappings:
            m.start()

    # ---- writes -------------------------------------------------------------
    def record(self, shard: int, op: str, user: int | None) -> None:
        """A write succeeded: publish its record, visible after the stream delay."""
        now = self.engine.now
        attrs: dict[str, Any] = {"event": op}
        if user is not None:
            attrs["user"] = user
        first = self.ledger.new(now, self.size, attrs)
        copies = [first] + [self.ledger.copy(first) for _ in self.mappings[1:]]
        self.published += 1
        sh = self.shards[shard]
        t = max(now + self.delay(), sh.last_t)  # a shard's records appear in write order
        sh.last_t = t
        sh.pending.append((t, copies))
        self.engine.at(t, self._appear, sh)

    def _appear(self, sh: StreamShard) -> None:
        now = self.engine.now
        while sh.pending and sh.pending[0][0] <= now:
            _, copies = sh.pending.popleft()
            sh.records += 1
            if self.mappings:
                for m, c in zip(self.mappings, copies, strict=True):
                    m.append(sh.i, c)
            else:
                sh.stored.add(copies[0].t0)  # the copy stays in flight in the ledger, as a count

    # ---- metrics (retention, expiry and counted copies: Retention) -------------
    def held_messages(self) -> Any:
        pending = (c for sh in self.shards for _, copies in sh.pending for c in copies)
        return chain(pending, *(m.held_messages() for m in self.mappings))


    def iterator_age(self) -> float:
        return max([m.iterator_age() for m in self.mappings], default=0.0)

    def stats(self) -> dict[str, Any]:
        return {"view": self.spec.view, "shards": len(self.shards), "records": self.published,
                "records_per_shard": [sh.records for sh in self.shards], "expired": self.expired,
                "stored": sum(len(sh.stored) for sh in self.shards),
                "consumers": [m.stats() for m in self.mappings]}
